//! Refresh at the scale it was designed for: many connections on DynamoDB (moto), some
//! due, a token endpoint answering after 150 ms, and two refresh workers started at once
//! as two processes (two reserved Lambda instances would be) while 50 credentials calls
//! ask for due connections. The provider counts its token requests by refresh token (each
//! connection has its own), so a duplicate refresh of one connection shows.
//! Then one worker alone against a table where every connection is due: the time it takes
//! to drain, against the 10-minute window two 5-minute runs give a deployment (on SQLite:
//! see [`drain`]).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use latchkey_connect::connections::{self, RunOptions, RunReport};
use latchkey_core::accounts::create_account;
use latchkey_core::catalog::create_integration;
use serde_json::{Value, json};

use crate::refresh::TOKEN_LATENCY;
use crate::{aws_app, moto, peer};

/// moto answers a query of the schedule index by walking every item of the table (one
/// Python process): at 100,000 items a page takes seconds, and sixteen at once exceed the
/// SDK's 12-second budget made for DynamoDB. The bench's own processes wait longer.
async fn patient_sdk() -> aws_config::SdkConfig {
    use aws_config::timeout::TimeoutConfig;
    latchkey_store::testing::sdk_config_at(&moto())
        .await
        .to_builder()
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(std::time::Duration::from_secs(300))
                .operation_timeout(std::time::Duration::from_secs(600))
                .build(),
        )
        .build()
}

/// The app over `table` (sealed vault, data key in `data_key`) through the patient SDK
/// configuration, allowed to call the provider on loopback.
async fn patient_app(table: &str, data_key: &str) -> latchkey_core::App {
    use latchkey_web::setup::{Settings, StoreSpec, VaultSpec, app_on};
    let sdk = patient_sdk().await;
    let mut app = app_on(
        Settings {
            store: StoreSpec::Dynamo(table.to_owned()),
            vault: VaultSpec::SealedManagedKey {
                data_key_secret: data_key.to_owned(),
            },
            public_url: Some(url::Url::parse(crate::PUBLIC_URL).unwrap()),
        },
        Arc::new(latchkey_domain::SystemClock),
        Some(&sdk),
    )
    .expect("app");
    app.allow_loopback = true;
    app
}

/// The worker process: one scheduled run over `table`, its report as JSON on stdout.
pub async fn worker(table: &str, data_key: &str) {
    let app = patient_app(table, data_key).await;
    match connections::run(&app, RunOptions::default()).await {
        Ok(report) => println!("{}", serde_json::to_string(&report).unwrap()),
        Err(e) => {
            eprintln!("refresh worker: {}", latchkey_domain::error::Chain(&e));
            std::process::exit(1);
        }
    }
}

/// Token requests by refresh token.
type Requests = Arc<Mutex<HashMap<String, u32>>>;

async fn provider() -> (std::net::SocketAddr, Requests) {
    let requests: Requests = Arc::default();
    let seen = requests.clone();
    let (addr, _server) = peer::serve(move |r: peer::Request| {
        let seen = seen.clone();
        async move {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            let token = url::form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "refresh_token")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            *seen.lock().unwrap().entry(token).or_default() += 1;
            tokio::time::sleep(TOKEN_LATENCY).await;
            // No new refresh token: a second refresh of a connection would send the same.
            (
                200,
                vec![("content-type", "application/json".to_owned())],
                r#"{"access_token":"new-access","expires_in":3600,"token_type":"Bearer"}"#
                    .to_owned(),
            )
        }
    })
    .await;
    std::mem::forget(_server);
    (addr, requests)
}

/// The account and its integration calling `provider`.
async fn integration(
    app: &latchkey_core::App,
    provider: std::net::SocketAddr,
) -> (
    latchkey_domain::Account,
    String,
    latchkey_domain::IntegrationId,
) {
    let (account, key) = create_account(&app.store, "Scale").await.expect("account");
    let input = serde_json::from_value(peer::integration(provider)).expect("integration");
    let integration = create_integration(&app.store, &app.vault, &account.id, input, None)
        .await
        .expect("integration");
    (account, key.expose().to_owned(), integration.id)
}

/// `workers` worker processes over `total` connections of which `due` are due, with
/// `callers` credentials calls on due connections at the same time.
async fn round(total: usize, due: usize, workers: usize, callers: usize) -> Value {
    let (_, table, data_key) = aws_app(&moto(), "sealed").await;
    let app = patient_app(&table, &data_key).await;
    let (provider, requests) = provider().await;
    let (account, key, integration) = integration(&app, provider).await;
    let seeding = Instant::now();
    let ids =
        latchkey_core::testing::oauth_connections(&app, &account.id, &integration, total, due)
            .await;
    let seeded_s = seeding.elapsed().as_secs_f64();
    let app = Arc::new(app);
    let (listener, addr) = latchkey::gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind");
    tokio::spawn(latchkey::gateway::serve(listener, app.clone()));

    let started = Instant::now();
    let me = std::env::current_exe().expect("own path");
    let spawned: Vec<_> = (0..workers)
        .map(|_| {
            tokio::process::Command::new(&me)
                .args(["refresh-worker", &table, &data_key])
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("worker")
        })
        .collect();
    let client = reqwest::Client::new();
    let step = (due / callers.max(1)).max(1);
    let calls = ids[..due].iter().step_by(step).take(callers).map(|id| {
        let request = client
            .get(format!("http://{addr}/v1/connections/{id}/credentials"))
            .bearer_auth(&key)
            .send();
        async move { request.await.map(|r| r.status().as_u16()).unwrap_or(0) }
    });
    let (statuses, outputs) = tokio::join!(
        futures_util::future::join_all(calls),
        futures_util::future::join_all(spawned.into_iter().map(|w| w.wait_with_output()))
    );
    let wall_s = started.elapsed().as_secs_f64();
    let mut reports: Vec<RunReport> = Vec::new();
    for output in outputs {
        match output.map(|o| serde_json::from_slice::<RunReport>(&o.stdout)) {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(e)) => return json!({"error": format!("a worker failed: {e}")}),
            Err(e) => return json!({"error": format!("a worker did not run: {e}")}),
        }
    }
    let mut out = summary(due, wall_s, &requests, &reports);
    out["store"] = json!("DynamoDB (moto)");
    out["connections"] = json!(total);
    out["credentials_calls"] = json!(callers);
    out["credentials_ok"] = json!(statuses.iter().filter(|s| **s == 200).count());
    out["seeding_s"] = json!(seeded_s);
    out
}

/// One worker over `due` connections, every one due, on SQLite in memory. moto answers
/// about 125 requests a second, and draining 100,000 takes some 800,000, so there the
/// figure would be moto's; on a store that is not the bound it is the worker's own.
async fn drain(due: usize) -> Value {
    use latchkey_domain::token::random_bytes;
    use latchkey_vault::{SealingKey, Vault};
    let table = Arc::new(latchkey_store::sqlite::SqliteTable::in_memory().expect("sqlite"));
    let mut app = latchkey_core::App::from_parts(
        table,
        Arc::new(latchkey_domain::SystemClock),
        Vault::sealed(SealingKey::from_bytes(random_bytes::<32>())),
        Some(url::Url::parse(crate::PUBLIC_URL).unwrap()),
    );
    app.allow_loopback = true;
    let (provider, requests) = provider().await;
    let (account, _, integration) = integration(&app, provider).await;
    let seeding = Instant::now();
    latchkey_core::testing::oauth_connections(&app, &account.id, &integration, due, due).await;
    let seeded_s = seeding.elapsed().as_secs_f64();
    let started = Instant::now();
    let report = connections::run(&app, RunOptions::default())
        .await
        .expect("run");
    let mut out = summary(due, started.elapsed().as_secs_f64(), &requests, &[report]);
    out["store"] = json!("SQLite (in memory)");
    out["connections"] = json!(due);
    out["credentials_calls"] = json!(0);
    out["credentials_ok"] = json!(0);
    out["seeding_s"] = json!(seeded_s);
    out
}

/// What the provider counted and the workers reported, over `due` due connections.
fn summary(due: usize, wall_s: f64, requests: &Requests, reports: &[RunReport]) -> Value {
    let requests = requests.lock().unwrap().clone();
    let refreshed = requests.len();
    let token_requests: u32 = requests.values().sum();
    let duplicates: u32 = requests.values().map(|n| n - 1).sum();
    let sum = |f: fn(&RunReport) -> usize| reports.iter().map(f).sum::<usize>();
    let workers = reports.len();
    json!({
        "due": due, "workers": workers,
        "wall_s": wall_s,
        "connections_refreshed": refreshed,
        "token_requests": token_requests,
        "token_requests_per_due": f64::from(token_requests) / due as f64,
        "duplicate_token_requests": duplicates,
        "items_read_per_due": sum(|r| r.read) as f64 / due as f64,
        "lease_conflicts": sum(|r| r.busy),
        "already_fresh": sum(|r| r.already_fresh),
        "failed": sum(|r| r.failed),
        "worker_reports": reports,
        // What the token endpoint alone allows: due × latency / (64 in flight × workers).
        "token_bound_s": due as f64 * TOKEN_LATENCY.as_secs_f64() / (64.0 * workers as f64),
    })
}

pub async fn scale(total: usize, due: usize, all_due: usize) -> Value {
    eprintln!("bench: refresh at scale: {total} connections, {due} due, two workers");
    let two = round(total, due, 2, 50).await;
    let mut out = json!({"two_workers": two});
    if all_due > 0 {
        eprintln!("bench: refresh at scale: {all_due} due, one worker (SQLite)");
        out["one_worker_all_due"] = drain(all_due).await;
    }
    out
}
