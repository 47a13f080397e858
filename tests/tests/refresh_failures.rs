//! Refreshes that cannot succeed end (docs/ARCHITECTURE.md §5): a provider that refuses the
//! app itself puts its connections in `error` at once, a provider that stays down puts them
//! there after a day of retries; either way they leave the schedule, a `connection.error`
//! webhook goes out, and no later run asks the provider again.

use lambda_http::http::StatusCode;
use latchkey_connect::connections::{self, RunOptions, RunReport};
use latchkey_domain::{ConnectionId, GIVE_UP_AFTER_SECONDS};
use latchkey_store::Connections;
use latchkey_store::testing;
use latchkey_tests::loopback::{Answer, Loopback};
use latchkey_tests::oauth::{books_answering, installed_with_tokens};
use latchkey_tests::{Harness, webhooks};
use serde_json::{Value, json};

/// 40 minutes on, one-hour tokens are inside the refresh margin.
const INTO_THE_MARGIN: i64 = 40 * 60;

async fn run(h: &Harness) -> RunReport {
    connections::run(&h.app, RunOptions::default())
        .await
        .unwrap()
}

/// A harness whose webhooks go to a receiver.
async fn with_webhooks() -> (Harness, Loopback) {
    let h = Harness::new(testing::sqlite_table().await).await;
    let (receiver, _) = webhooks::receiving(&h).await;
    (h, receiver)
}

/// `n` connections to the "Books" integration, whose token endpoint always gives
/// `answer`. Returns the endpoint and the connections' ids.
async fn connections_answered(h: &Harness, n: usize, answer: Answer) -> (Loopback, Vec<String>) {
    let (integration, provider) = books_answering(h, answer).await;
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"name": format!("Globex {i}")});
        ids.push(installed_with_tokens(h, &integration, body).await.1);
    }
    (provider, ids)
}

#[tokio::test]
async fn a_provider_refusing_the_app_puts_its_connections_in_error_at_once() {
    let (h, receiver) = with_webhooks().await;
    let (provider, ids) =
        connections_answered(&h, 3, (401, r#"{"error":"invalid_client"}"#.to_owned())).await;

    h.clock.advance(INTO_THE_MARGIN);
    let report = run(&h).await;
    assert_eq!(
        (report.due, report.errors, report.failed),
        (3, 3, 0),
        "{report:?}"
    );
    assert_eq!(provider.recorded().len(), 3, "one token request each");
    for id in &ids {
        let (_, c) = h.get(&format!("/v1/connections/{id}")).await;
        assert_eq!(c["status"], "error", "{c}");
        assert_eq!(c["refresh"]["last_error"], "invalid_client");
        assert_eq!(c["refresh"]["retry_at"], Value::Null);
        assert_eq!(
            webhooks::events(&receiver, "connection.error", id)
                .await
                .len(),
            1
        );
        let (status, problem) = h.get(&format!("/v1/connections/{id}/credentials")).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::CONFLICT, Some("connection_unusable")),
            "{problem}"
        );
    }

    // Out of the schedule: later runs find nothing and ask the provider nothing.
    h.clock.advance(6 * 3600);
    let again = run(&h).await;
    assert_eq!(again.due, 0, "{again:?}");
    assert_eq!(provider.recorded().len(), 3);
}

#[tokio::test]
async fn a_provider_that_stays_down_is_retried_for_a_day_then_given_up() {
    let (h, receiver) = with_webhooks().await;
    let (provider, ids) = connections_answered(&h, 1, (503, "down".to_owned())).await;
    let id = &ids[0];

    h.clock.advance(INTO_THE_MARGIN);
    let started = h.app.now();
    let mut runs = 0;
    loop {
        let report = run(&h).await;
        runs += 1;
        let (_, c) = h.get(&format!("/v1/connections/{id}")).await;
        if c["status"] == "error" {
            assert_eq!(report.errors, 1, "{report:?}");
            assert_eq!(c["refresh"]["last_error"], "provider_unavailable");
            break;
        }
        assert_eq!((report.due, report.failed), (1, 1), "{report:?}");
        assert!(runs < 80, "never gave up");
        // The next run that finds it due: at its retry time.
        let stored = h
            .app
            .store
            .connection(&h.account_id, &ConnectionId::from(id.as_str()))
            .await
            .unwrap()
            .unwrap();
        let retry_at = stored.value.refresh.retry_at.expect("retried later");
        h.clock.advance(retry_at - h.app.now());
    }
    let gave_up_after = h.app.now() - started;
    assert!(
        gave_up_after >= GIVE_UP_AFTER_SECONDS,
        "after {gave_up_after}s"
    );
    assert!((25..=55).contains(&runs), "{runs} attempts");
    assert_eq!(
        provider.recorded().len(),
        runs,
        "one token request per attempt"
    );
    assert_eq!(
        webhooks::events(&receiver, "connection.refresh_failed", id)
            .await
            .len(),
        runs - 1
    );
    assert_eq!(
        webhooks::events(&receiver, "connection.error", id)
            .await
            .len(),
        1
    );

    h.clock.advance(24 * 3600);
    assert_eq!(run(&h).await.due, 0);
    assert_eq!(provider.recorded().len(), runs);
}
