//! The webhook outbox's retry schedule on an in-memory table: a receiver that cannot be
//! reached gets the delivery again later, with backoff, until it is given up.

use std::sync::Arc;

use latchkey_core::App;
use latchkey_core::accounts::create_account;
use latchkey_core::webhooks::{WEBHOOK_SECRET_OWNER, deliver_due};
use latchkey_domain::token::random_bytes;
use latchkey_domain::{
    Credentials, DeliveryState, EventType, ManualClock, Secret, SecretScope, WEBHOOK_MAX_ATTEMPTS,
    WebhookDelivery,
};
use latchkey_store::sqlite::SqliteTable;
use latchkey_store::{Accounts, Outbox};
use latchkey_vault::{SealingKey, Vault};

const T0: i64 = 1_800_000_000;

/// A loopback address nothing listens on: every delivery attempt fails at once.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/hooks")
}

#[tokio::test]
async fn an_unreachable_receiver_gets_the_delivery_again_with_backoff_then_it_is_dropped() {
    let clock = Arc::new(ManualClock::new(T0));
    let table = Arc::new(SqliteTable::in_memory().unwrap());
    let vault = Vault::sealed(SealingKey::from_bytes(random_bytes::<32>()));
    let url = url::Url::parse("https://connect.acme.test/").unwrap();
    let mut app = App::from_parts(table, clock.clone(), vault, Some(url));
    // Test mode: the (closed) receiver is on loopback, which a deployment refuses.
    app.allow_loopback = true;
    let (account, _) = create_account(&app.store, "Acme").await.unwrap();
    let scope = SecretScope::new(&account.id, WEBHOOK_SECRET_OWNER);
    let key = Credentials::SigningKey {
        key: Secret::new("whsec_test"),
    };
    let secret = app.vault.put(&scope, &key).await.unwrap();
    let mut current = app.store.account(&account.id).await.unwrap().unwrap();
    current.value.webhook_url = Some(closed_port_url());
    current.value.webhook_secret = Some(secret);
    app.store.update_account(&current).await.unwrap();
    let delivery = WebhookDelivery::new(
        "evt_1".into(),
        account.id.clone(),
        EventType::ConnectionCreated,
        "{}".into(),
        T0,
    );
    app.store.enqueue_webhook(&delivery).await.unwrap();
    let pending = || async {
        let due = app.store.due_webhooks(i64::MAX, 10).await.unwrap();
        due.items.into_iter().map(|v| v.value).collect::<Vec<_>>()
    };

    assert_eq!(deliver_due(&app).await.unwrap().delivered, 0);
    let after_first = pending().await;
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].attempts, 1);
    let wait = after_first[0].next_attempt_at - T0;
    assert!((15..=30).contains(&wait), "first retry after {wait} s");

    // Not due again before its time: a second run makes no attempt.
    assert_eq!(deliver_due(&app).await.unwrap().delivered, 0);
    assert_eq!(pending().await[0].attempts, 1);

    clock.advance(wait);
    deliver_due(&app).await.unwrap();
    let after_second = pending().await;
    assert_eq!(after_second[0].attempts, 2);
    let wait = after_second[0].next_attempt_at - clock_now(&clock);
    assert!((30..=60).contains(&wait), "second retry after {wait} s");

    // Retried until the last attempt, then given up.
    let mut made = 2;
    while let Some(d) = pending().await.first().cloned() {
        assert_eq!(d.attempts, made);
        assert!(made < 20, "never given up");
        clock.advance(d.next_attempt_at - clock_now(&clock));
        deliver_due(&app).await.unwrap();
        made += 1;
    }
    assert_eq!(
        made, WEBHOOK_MAX_ATTEMPTS,
        "attempts before it was given up"
    );
    // Given up, it stays listed for the vendor: failed, with every attempt counted.
    let listed = app
        .store
        .account_webhooks(&account.id, 10, None)
        .await
        .unwrap();
    let given_up = &listed.items[0].value;
    assert_eq!(listed.items.len(), 1);
    assert_eq!(given_up.state(), DeliveryState::Failed);
    assert_eq!(given_up.attempts, WEBHOOK_MAX_ATTEMPTS);
    assert_eq!(given_up.last_response, None, "the receiver never answered");
}

fn clock_now(clock: &ManualClock) -> i64 {
    use latchkey_domain::Clock;
    clock.now()
}
