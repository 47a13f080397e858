//! `bench/run` drives this: cold start against a hello-world function, artefact sizes,
//! gateway load at a fixed rate, refresh throughput against a one-at-a-time loop. Every
//! figure is the median of repeated runs with its ratio to a baseline measured in the same
//! run; the report goes to `$LATCHKEY_BENCH_OUT/report.{json,md}`. Targets are reported as
//! met or not, never asserted.

mod cold_start;
mod cost;
mod load;
mod peer;
mod refresh;
mod report;
mod round_trips;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use latchkey_core::App;
use latchkey_core::accounts::create_account;
use latchkey_domain::token::new_id;
use latchkey_web::setup::{Settings, StoreSpec, VaultSpec};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `bench/run`"))
}

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn http_event(method: &str, path: &str, query: &str, key: &str) -> String {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"authorization": format!("Bearer {key}"), "host": "bench.example"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.example",
            "domainPrefix": "bench", "requestId": "bench-1", "routeKey": "$default",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"}
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// The event each binary gets: one of its routes (through the store), or a schedule tick.
fn event_for(binary: &str, key: &str) -> String {
    match binary {
        "catalog" => http_event("GET", "/v1/integrations", "", key),
        "consumers" => http_event("GET", "/v1/consumers", "", key),
        "links" => http_event("GET", "/v1/consumers/csm_none/connections", "", key),
        "connections" => http_event("GET", "/v1/connections/con_none", "", key),
        "popup" => http_event("GET", "/connect/lka_none", "", key),
        "callback" => http_event("GET", "/oauth/callback/int_none", "state=none&code=x", key),
        // What the template's schedule sends the refresh function.
        "refresh" => json!({
            "version": "0", "id": "bench", "detail-type": "Scheduled Event",
            "source": "aws.events", "time": "2026-01-01T00:00:00Z", "detail": {}
        })
        .to_string(),
        _ => "{}".to_owned(),
    }
}

/// What the measured processes share with this one: a table and a sealed-mode data key on
/// moto, an account and its API key, and the environment that points a function there.
struct Deployment {
    app: Arc<App>,
    key: String,
    env: Vec<(String, String)>,
}

/// The moto server `bench/run` started. The bench's own clients are pointed at it (or at
/// a counting proxy in front of it) explicitly; `AWS_ENDPOINT_URL` is set only for the
/// measured processes, as an environment variable would override an explicit endpoint.
fn moto() -> String {
    env("LATCHKEY_BENCH_MOTO")
}

/// A fresh table and a sealed-mode data key on moto, reached through `endpoint`, with the
/// app over them (vault in `mode`: `sealed` or `secretsmanager`).
async fn aws_app(endpoint: &str, mode: &str) -> (App, String, String) {
    let sdk = latchkey_store::testing::sdk_config_at(endpoint).await;
    let table = new_id("bench").replace('_', "-");
    latchkey_store::dynamo::DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), &table)
        .create_table()
        .await
        .expect("table");
    let data_key = format!("latchkey-bench/{table}/data-key");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&data_key)
        .secret_string(hex::encode(latchkey_domain::token::random_bytes::<32>()))
        .send()
        .await
        .expect("data key secret");
    let vault = match mode {
        "sealed" => VaultSpec::SealedManagedKey {
            data_key_secret: data_key.clone(),
        },
        _ => VaultSpec::SecretsManager {
            prefix: format!("latchkey-bench/{table}"),
            data_key_secret: None,
        },
    };
    let app = latchkey_web::setup::app_on(
        Settings {
            store: StoreSpec::Dynamo(table.clone()),
            vault,
            public_url: Some(url::Url::parse(PUBLIC_URL).unwrap()),
        },
        Arc::new(latchkey_domain::SystemClock),
        Some(&sdk),
    )
    .expect("app");
    (app, table, data_key)
}

async fn deployment() -> Deployment {
    // The store and key live on moto, so init and the first request take the real SDK
    // path (config, credentials, GetSecretValue, DynamoDB calls).
    let (mut app, table, data_key) = aws_app(&moto(), "sealed").await;
    // This process plays the provider on loopback for the callback scenario.
    app.allow_loopback = true;
    let (_, key) = create_account(&app.store, "Bench").await.expect("account");
    let mut env: Vec<(String, String)> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_REGION",
    ]
    .iter()
    .map(|k| (k.to_string(), env(k)))
    .collect();
    env.extend([
        ("AWS_ENDPOINT_URL".into(), moto()),
        ("LATCHKEY_STORE".into(), format!("dynamodb:{table}")),
        ("LATCHKEY_TABLE".into(), table),
        ("LATCHKEY_VAULT_MODE".into(), "sealed".into()),
        ("LATCHKEY_DATA_KEY_SECRET".into(), data_key),
        ("LATCHKEY_PUBLIC_URL".into(), PUBLIC_URL.into()),
        ("RUST_LOG".into(), "warn".into()),
    ]);
    Deployment {
        app: Arc::new(app),
        key: key.expose().to_owned(),
        env,
    }
}

const PUBLIC_URL: &str = "https://bench.example/";

async fn cold_starts(lambda_dir: &Path, runs: usize, d: &Deployment) -> Value {
    let (env, key) = (&d.env, &d.key);
    let mut binaries: Vec<String> = std::fs::read_dir(lambda_dir)
        .expect("lambda dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "hello")
        .collect();
    binaries.sort();
    // Per binary: init, first response, warm response.
    let mut samples: std::collections::BTreeMap<String, [Vec<f64>; 3]> = Default::default();
    // Interleaved: every round starts hello and each function once, so drift hits all alike.
    for _ in 0..runs {
        for binary in std::iter::once("hello").chain(binaries.iter().map(String::as_str)) {
            let path = lambda_dir.join(binary).join("bootstrap");
            let m = cold_start::measure(&path, &event_for(binary, key), env)
                .await
                .unwrap_or_else(|e| panic!("{binary}: {e}"));
            let entry = samples.entry(binary.to_owned()).or_default();
            entry[0].push(ms(m.init));
            entry[1].push(ms(m.first_response));
            entry[2].push(ms(m.warm_response));
        }
    }
    let hello = samples.remove("hello").expect("hello ran");
    let [hello_init, hello_first, hello_warm] = hello.map(median);
    let mut functions = serde_json::Map::new();
    for (binary, runs) in samples {
        let [init, first, warm] = runs.map(median);
        functions.insert(
            binary,
            json!({
                "init_ms": init, "first_response_ms": first, "warm_response_ms": warm,
                "init_ratio": init / hello_init, "first_response_ratio": first / hello_first,
                // What the first response costs beyond a warm one (the store's round trips
                // on moto are in both), against the same for hello.
                "cold_overhead_ratio": (first - warm) / (hello_first - hello_warm),
            }),
        );
    }
    json!({
        "runs": runs,
        "hello": {"init_ms": hello_init, "first_response_ms": hello_first, "warm_response_ms": hello_warm},
        "functions": functions,
    })
}

/// A request as the cost scenarios make it.
fn call(method: Method, path: String, key: &str, body: Option<Value>) -> cost::Call {
    cost::Call {
        method,
        path,
        headers: vec![("authorization", format!("Bearer {key}"))],
        body: body.map(|b| b.to_string()),
    }
}

/// `count` OAuth callbacks, each for its own flow started at `base` (an in-process
/// gateway on the same store) from a link to `integration`, with the flow's cookie.
async fn callbacks(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    consumer: &str,
    integration: &str,
    count: usize,
) -> Vec<cost::Call> {
    let mut calls = Vec::with_capacity(count);
    for _ in 0..count {
        let link: Value = client
            .post(format!("{base}/v1/consumers/{consumer}/connections"))
            .bearer_auth(key)
            .json(&json!({"name": "Bench", "integration_id": integration}))
            .send()
            .await
            .expect("link")
            .json()
            .await
            .expect("link json");
        let path = link["url"].as_str().expect("link url");
        let path = path.strip_prefix(PUBLIC_URL).expect("public url");
        let landing = client
            .get(format!("{base}/{path}"))
            .send()
            .await
            .expect("popup");
        assert_eq!(landing.status(), StatusCode::FOUND, "the popup redirects");
        let state = round_trips::query_value(&round_trips::location(&landing), "state");
        let cookie = round_trips::flow_cookie(&landing);
        calls.push(cost::Call {
            method: Method::GET,
            path: format!("/oauth/callback/{integration}?state={state}&code=bench-code"),
            headers: vec![("cookie", cookie)],
            body: None,
        });
    }
    calls
}

/// Instructions per warm request on the local gateway for catalog list, link creation
/// and a full OAuth callback (token endpoint on loopback), with an unknown route as the
/// floor they are compared with.
async fn cost_per_request(gateway_binary: &Path, d: &Deployment, reps: usize) -> Value {
    let warm = count("LATCHKEY_BENCH_COST_WARM", 3);
    let n = count("LATCHKEY_BENCH_COST_REQUESTS", 20);
    let (token_endpoint, _peer) = peer::serve(|_| async {
        (
            200,
            vec![("content-type", "application/json".to_owned())],
            r#"{"access_token":"a","refresh_token":"r","expires_in":3600,"token_type":"Bearer"}"#
                .to_owned(),
        )
    })
    .await;
    let (listener, addr) = latchkey::gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind");
    tokio::spawn(latchkey::gateway::serve(listener, d.app.clone()));
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let key = d.key.as_str();
    let post = |path: &str, body: Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(key)
            .json(&body);
        async move {
            let response = request.send().await.expect("setup request");
            assert!(
                response.status().is_success(),
                "setup: {}",
                response.status()
            );
            let v: Value = response.json().await.expect("setup json");
            v["id"].as_str().expect("id").to_owned()
        }
    };
    let consumer = post(
        "/v1/consumers",
        json!({"name": "Bench", "redirect_url": "https://app.bench.example/done"}),
    )
    .await;
    let integration = post("/v1/integrations", peer::integration(token_endpoint)).await;
    let gateway = cost::Gateway {
        binary: gateway_binary,
        env: &d.env,
    };
    let total = 2 * warm + n;
    let mut out = serde_json::Map::new();
    let mut floor = 1.0;
    for name in [
        "baseline_unknown_route",
        "catalog_list",
        "link_creation",
        "oauth_callback",
    ] {
        let mut samples = Vec::new();
        for _ in 0..reps {
            let (calls, expect) = match name {
                "baseline_unknown_route" => (
                    vec![call(Method::GET, "/v1/nope".into(), key, None); total],
                    StatusCode::NOT_FOUND,
                ),
                "catalog_list" => (
                    vec![call(Method::GET, "/v1/integrations".into(), key, None); total],
                    StatusCode::OK,
                ),
                "link_creation" => (
                    vec![
                        call(
                            Method::POST,
                            format!("/v1/consumers/{consumer}/connections"),
                            key,
                            Some(json!({"name": "Bench"})),
                        );
                        total
                    ],
                    StatusCode::CREATED,
                ),
                _ => (
                    // Made per repetition: a flow lives 10 minutes.
                    callbacks(&client, &base, key, &consumer, &integration, total).await,
                    StatusCode::FOUND,
                ),
            };
            samples.push(
                cost::per_request(&gateway, &calls, warm, expect)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}")),
            );
        }
        let instructions = median(samples);
        if name.starts_with("baseline") {
            floor = instructions;
        }
        out.insert(
            name.into(),
            json!({"instructions": instructions, "ratio_to_baseline": instructions / floor}),
        );
    }
    json!({"warm": warm, "requests": n, "scenarios": out})
}

fn sizes(lambda_dir: &Path) -> Value {
    let mut out = serde_json::Map::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(lambda_dir)
        .expect("lambda dir")
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    names.sort();
    for dir in names {
        let bootstrap = dir.join("bootstrap");
        let Ok(meta) = std::fs::metadata(&bootstrap) else {
            continue;
        };
        let zipped = std::process::Command::new("python3")
            .args([
                "-c",
                "import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED)\nz.write(sys.argv[1],'bootstrap')\nz.close()\nprint(len(b.getvalue()))",
            ])
            .arg(&bootstrap)
            .output()
            .expect("python3 zips");
        let zipped: u64 = String::from_utf8_lossy(&zipped.stdout)
            .trim()
            .parse()
            .expect("zip size");
        out.insert(
            dir.file_name().unwrap().to_string_lossy().into_owned(),
            json!({"binary_bytes": meta.len(), "zip_bytes": zipped}),
        );
    }
    Value::Object(out)
}

async fn refresh_throughput(reps: usize) -> Value {
    let due = count("LATCHKEY_BENCH_DUE", 10_000);
    let sequential = count("LATCHKEY_BENCH_SEQUENTIAL", 100);
    let concurrency = count("LATCHKEY_BENCH_CONCURRENCY", 64);
    let mut scheduled = Vec::new();
    let mut one = Vec::new();
    let mut read_ratio: f64 = 0.0;
    for _ in 0..reps {
        let (rate, report) = refresh::scheduled(due, concurrency).await;
        assert_eq!(
            report.refreshed, due,
            "every due connection was refreshed: {report:?}"
        );
        read_ratio = read_ratio.max(report.read as f64 / report.due as f64);
        scheduled.push(rate);
        one.push(refresh::one_at_a_time(sequential).await);
    }
    let (scheduled, one) = (median(scheduled), median(one));
    json!({
        "due": due, "not_due": due, "concurrency": concurrency,
        "token_latency_ms": ms(refresh::TOKEN_LATENCY),
        "scheduled_per_s": scheduled, "one_at_a_time_per_s": one,
        "ratio": scheduled / one, "items_read_per_due_max": read_ratio,
    })
}

#[tokio::main]
async fn main() {
    let lambda_dir = PathBuf::from(env("LATCHKEY_BENCH_LAMBDA_DIR"));
    let out = PathBuf::from(env("LATCHKEY_BENCH_OUT"));
    let reps = count("LATCHKEY_BENCH_REPEAT", 3);
    // LATCHKEY_BENCH_ONLY=cold_start,cost… runs those sections alone (default: all).
    let only = std::env::var("LATCHKEY_BENCH_ONLY").unwrap_or_default();
    let runs = |section: &str| only.is_empty() || only.split(',').any(|s| s.trim() == section);
    let mut report = json!({});
    if runs("sizes") {
        eprintln!("bench: sizes");
        report["sizes"] = sizes(&lambda_dir);
    }
    let deployment = deployment().await;
    if runs("round_trips") {
        eprintln!("bench: round trips per request");
        report["round_trips"] = round_trips::round_trips().await;
    }
    if runs("cold_start") {
        eprintln!("bench: cold starts");
        let runs = count("LATCHKEY_BENCH_COLD_RUNS", 20);
        report["cold_start"] = cold_starts(&lambda_dir, runs, &deployment).await;
    }
    if runs("cost") {
        eprintln!("bench: cost per request (callgrind)");
        let gateway = PathBuf::from(env("LATCHKEY_BENCH_GATEWAY"));
        report["cost"] = cost_per_request(&gateway, &deployment, reps).await;
    }
    if runs("load") {
        eprintln!("bench: gateway load");
        report["load"] = load::gateway_load(reps).await;
    }
    if runs("refresh") {
        eprintln!("bench: refresh throughput");
        report["refresh"] = refresh_throughput(reps).await;
    }
    let targets = report::targets(&report);
    report["targets"] = targets
        .iter()
        .map(|(w, m)| json!({"target": w, "met": m}))
        .collect();
    std::fs::create_dir_all(&out).expect("output folder");
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .expect("write");
    let md = report::markdown(&report, &targets);
    std::fs::write(out.join("report.md"), &md).expect("write");
    println!("{md}");
}
