//! Gateway load: an open-loop generator at a fixed rate against the local gateway (each
//! request is due at its own instant; latency counts from then, so a slow server cannot
//! hide its queueing).

use std::time::{Duration, Instant};

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
