//! Refresh throughput: N due connections against a loopback token endpoint with a fixed
//! latency, the scheduled run (bounded concurrency) against a one-at-a-time loop over the
//! same kind of connections, in the same process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_connect::connections;
use latchkey_connect::connections::{Need, RunOptions, RunReport, ensure_fresh};
use latchkey_core::App;
use latchkey_core::accounts::create_account;
use latchkey_core::catalog::create_integration;
use latchkey_domain::SystemClock;
use latchkey_domain::token::random_bytes;
use latchkey_domain::{AccountId, IntegrationId};
use latchkey_store::sqlite::SqliteTable;
use latchkey_vault::{SealingKey, Vault};

use crate::peer::serve;

pub const TOKEN_LATENCY: Duration = Duration::from_millis(150);

/// An app over a fresh in-memory store, an account, and an integration whose token
/// endpoint answers after [`TOKEN_LATENCY`].
async fn setup() -> (App, AccountId, IntegrationId, tokio::task::JoinHandle<()>) {
    let (addr, server) = serve(|_| async {
        tokio::time::sleep(TOKEN_LATENCY).await;
        (
            200,
            vec![("content-type", "application/json".to_owned())],
            r#"{"access_token":"new-access","refresh_token":"new-refresh","expires_in":3600}"#
                .to_owned(),
        )
    })
    .await;
    let table = Arc::new(SqliteTable::in_memory().expect("sqlite"));
    let vault = Vault::sealed(SealingKey::from_bytes(random_bytes::<32>()));
    let mut app = App::from_parts(
        table,
        Arc::new(SystemClock),
        vault,
        Some(url::Url::parse("https://bench.example/").unwrap()),
    );
    app.allow_loopback = true;
    let (account, _) = create_account(&app.store, "Bench").await.expect("account");
    let input = serde_json::from_value(crate::peer::integration(addr)).expect("integration input");
    let integration = create_integration(&app.store, &app.vault, &account.id, input, None)
        .await
        .expect("integration");
    (app, account.id, integration.id, server)
}

/// Connections refreshed per second by one scheduled run over `due` due connections
/// (among as many again that are not due), with its report.
pub async fn scheduled(due: usize, concurrency: usize) -> (f64, RunReport) {
    let (app, account, integration, server) = setup().await;
    for i in 0..due * 2 {
        let expires_in = if i % 2 == 0 { 600 } else { 7200 };
        latchkey_core::testing::oauth_connection(&app, &account, &integration, expires_in).await;
    }
    let started = Instant::now();
    let report = connections::run(
        &app,
        RunOptions {
            concurrency,
            ..RunOptions::default()
        },
    )
    .await
    .expect("run");
    let rate = report.refreshed as f64 / started.elapsed().as_secs_f64();
    server.abort();
    (rate, report)
}

/// Connections refreshed per second by a loop that refreshes one at a time.
pub async fn one_at_a_time(due: usize) -> f64 {
    let (app, account, integration, server) = setup().await;
    let mut ids = Vec::with_capacity(due);
    for _ in 0..due {
        ids.push(latchkey_core::testing::oauth_connection(&app, &account, &integration, 600).await);
    }
    let started = Instant::now();
    for id in &ids {
        ensure_fresh(&app, &account, id, Need::Due, false)
            .await
            .expect("refresh");
    }
    let rate = due as f64 / started.elapsed().as_secs_f64();
    server.abort();
    rate
}
