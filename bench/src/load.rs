//! Gateway load: an open-loop generator at a fixed rate against the local gateway (each
//! request is due at its own instant; latency counts from then, so a slow server cannot
//! hide its queueing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_core::App;
use latchkey_core::accounts::create_account;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{count, median};

pub struct LoadResult {
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

/// One request kind under load and the status that counts as success.
pub struct Scenario {
    pub name: &'static str,
    pub method: reqwest::Method,
    pub url: String,
    pub body: Option<serde_json::Value>,
    pub ok: reqwest::StatusCode,
}

pub async fn fixed_rate(
    client: &reqwest::Client,
    key: &str,
    scenario: &Scenario,
    rate: u32,
    duration: Duration,
) -> LoadResult {
    let total = (rate as f64 * duration.as_secs_f64()) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let mut request = client
            .request(scenario.method.clone(), &scenario.url)
            .bearer_auth(key)
            .timeout(Duration::from_secs(10));
        if let Some(b) = &scenario.body {
            request = request.json(b);
        }
        let ok = scenario.ok;
        tasks.push(tokio::spawn(async move {
            // Latency counts to the whole body, not just the headers.
            let good = match request.send().await {
                Ok(r) => r.status() == ok && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (due.elapsed(), good)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0;
    for task in tasks {
        let (latency, good) = task.await.expect("request task");
        latencies.push(latency);
        errors += usize::from(!good);
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e3;
    LoadResult {
        throughput: (total - errors) as f64 / elapsed,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        errors,
    }
}

pub async fn gateway_load(reps: usize) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = Arc::new(
        latchkey_store::sqlite::SqliteTable::open(&dir.path().join("latchkey.db")).expect("sqlite"),
    );
    let vault = latchkey_vault::Vault::sealed(latchkey_vault::SealingKey::from_bytes(
        latchkey_domain::token::random_bytes::<32>(),
    ));
    let (listener, addr) = latchkey::gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind");
    let app = App::from_parts(
        table,
        Arc::new(latchkey_domain::SystemClock),
        vault,
        Some(url::Url::parse(&format!("http://{addr}/")).unwrap()),
    );
    let (_, key) = create_account(&app.store, "Bench").await.expect("account");
    let key = key.expose().to_owned();
    tokio::spawn(latchkey::gateway::serve(listener, Arc::new(app)));
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let consumer: Value = client
        .post(format!("{base}/v1/consumers"))
        .bearer_auth(&key)
        .json(&json!({"name": "Bench"}))
        .send()
        .await
        .expect("consumer")
        .json()
        .await
        .expect("consumer json");
    let consumer = consumer["id"].as_str().expect("consumer id").to_owned();
    let rate = count("LATCHKEY_BENCH_RATE", 200) as u32;
    let duration = Duration::from_secs(count("LATCHKEY_BENCH_SECONDS", 5) as u64);
    let scenario = |name, method, path: String, body, ok| Scenario {
        name,
        method,
        url: format!("{base}{path}"),
        body,
        ok,
    };
    let scenarios = [
        // The same server answering a route it does not have: the floor for the others.
        scenario(
            "baseline_unknown_route",
            Method::GET,
            "/v1/nope".into(),
            None,
            StatusCode::NOT_FOUND,
        ),
        scenario(
            "catalog_list",
            Method::GET,
            "/v1/integrations".into(),
            None,
            StatusCode::OK,
        ),
        scenario(
            "link_creation",
            Method::POST,
            format!("/v1/consumers/{consumer}/connections"),
            Some(json!({"name": "Bench"})),
            StatusCode::CREATED,
        ),
    ];
    let mut out = serde_json::Map::new();
    let mut baseline_p50 = 1.0;
    for s in &scenarios {
        let mut results = Vec::new();
        for _ in 0..reps {
            results.push(fixed_rate(&client, &key, s, rate, duration).await);
        }
        let name = s.name;
        let p50 = median(results.iter().map(|r| r.p50_ms).collect());
        if name.starts_with("baseline") {
            baseline_p50 = p50;
        }
        out.insert(
            name.into(),
            json!({
                "rate": rate,
                "throughput_per_s": median(results.iter().map(|r| r.throughput).collect()),
                "p50_ms": p50,
                "p99_ms": median(results.iter().map(|r| r.p99_ms).collect()),
                "errors": results.iter().map(|r| r.errors).sum::<usize>(),
                "p50_ratio_to_baseline": p50 / baseline_p50,
            }),
        );
    }
    Value::Object(out)
}
