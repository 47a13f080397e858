//! Webhooks to the account's `webhook_url` (docs/ARCHITECTURE.md §5): connection created, updated,
//! refresh failed, needs re-authorisation, deleted.
//!
//! Every event goes to an outbox item first, then one delivery attempt is made off the
//! caller's path; failed attempts are retried with jittered backoff by the scheduled job
//! (`refresh`) until `WEBHOOK_MAX_ATTEMPTS`. Delivery is at least once: receivers
//! deduplicate on `id`. Items stay, delivered or given up, for their retention: the
//! account's recent deliveries (`GET /v1/account/webhooks/deliveries`).
//!
//! Signature: header `Latchkey-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` with the account's webhook secret (`POST /v1/account/webhook-secret`).

use latchkey_store::{Accounts, Outbox};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{App, FirstAttempt};
use latchkey_api::WebhookEvent;
use latchkey_domain::error::Chain;
use latchkey_domain::token::new_id;
use latchkey_domain::{
    Account, AccountId, Connection, DeliveryState, EventType, WebhookDelivery, validate_egress_url,
};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_store::{Store, StoreError, Versioned};
use latchkey_vault::{Vault, VaultError};

pub const SIGNATURE_HEADER: &str = "latchkey-signature";

/// The vault owner of an account's webhook signing key.
pub const WEBHOOK_SECRET_OWNER: &str = "webhook-secret";

/// `t=<timestamp>,v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`.
pub fn sign(key: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Why the outbox could not be worked through.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the webhook signing key cannot be read")]
    SigningKey(#[from] VaultError),
    #[error("the webhook signing key has the wrong shape")]
    NotASigningKey,
}

/// What a delivery needs, cheap to clone into a background task.
#[derive(Clone)]
struct Sender {
    store: Store,
    vault: Arc<Vault>,
    http: reqwest::Client,
    /// Test mode: receivers may be on loopback.
    allow_internal: bool,
}

impl Sender {
    fn of(app: &App) -> Self {
        Self {
            store: app.store.clone(),
            vault: app.vault.clone(),
            http: app.http().clone(),
            allow_internal: app.allow_loopback,
        }
    }
}

/// Records `event` for `connection` and tries to deliver it once ([`FirstAttempt`]). Does
/// nothing when the account has no webhook URL. Never fails the caller: an event that
/// cannot even be recorded is logged.
pub async fn emit(app: &App, event: EventType, connection: &Connection) {
    match app.store.account(&connection.account_id).await {
        Ok(Some(account)) => emit_for(app, &account.value, event, connection).await,
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %Chain(&e), ?event, connection = %connection.id, "webhook not recorded")
        }
    }
}

/// [`emit`] by a caller that has read the connection's account already.
pub async fn emit_for(app: &App, account: &Account, event: EventType, connection: &Connection) {
    if let Err(e) = enqueue(app, account, event, connection).await {
        tracing::warn!(error = %Chain(&e), ?event, connection = %connection.id, "webhook not recorded");
    }
}

async fn enqueue(
    app: &App,
    account: &Account,
    event: EventType,
    connection: &Connection,
) -> Result<(), StoreError> {
    if account.webhook_url.is_none() {
        return Ok(());
    }
    let now = app.now();
    let id = new_id("evt");
    let body = serde_json::to_string(&WebhookEvent::new(&id, event, now, connection))
        .expect("webhook events serialize");
    let delivery = WebhookDelivery::new(id, connection.account_id.clone(), event, body, now);
    app.store.enqueue_webhook(&delivery).await?;
    let sender = Sender::of(app);
    let current = Versioned {
        value: delivery,
        version: 1,
    };
    let attempt = async move {
        if let Err(e) = sender.attempt(current).await {
            tracing::warn!(error = %Chain(&e), "webhook attempt failed");
        }
    };
    match app.webhook_first_attempt {
        FirstAttempt::Background => drop(tokio::spawn(attempt)),
        FirstAttempt::Inline(budget) => {
            let budget = latchkey_domain::deadline::budget(budget);
            if tokio::time::timeout(budget, attempt).await.is_err() {
                tracing::warn!(
                    ?event,
                    "webhook first attempt over its budget; the outbox retries it"
                );
            }
        }
    }
    Ok(())
}

/// Why a test event was not sent.
#[derive(Debug, thiserror::Error)]
pub enum TestEventError {
    #[error("set webhook_url and rotate the webhook signing secret first")]
    NotConfigured,
    /// The URL was removed meanwhile, or points where Latchkey does not send.
    #[error("webhook_url cannot receive events: it was removed or points at an internal address")]
    Dropped,
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// Sends `webhook.test` to the account's receiver now, through the outbox like any event
/// (a failed attempt is retried): the delivery after its first attempt.
pub async fn send_test(app: &App, account: &Account) -> Result<WebhookDelivery, TestEventError> {
    if account.webhook_url.is_none() || account.webhook_secret.is_none() {
        return Err(TestEventError::NotConfigured);
    }
    let now = app.now();
    let id = new_id("evt");
    let body = serde_json::to_string(&WebhookEvent::test(&id, now, &account.id))
        .expect("webhook events serialize");
    let mut delivery =
        WebhookDelivery::new(id, account.id.clone(), EventType::WebhookTest, body, now);
    // Not due for a scheduled run while this attempt is in flight: it would send it twice.
    delivery.next_attempt_at = now + TEST_ATTEMPT_OWNED_SECONDS;
    app.store
        .enqueue_webhook(&delivery)
        .await
        .map_err(DeliveryError::from)?;
    let current = Versioned {
        value: delivery,
        version: 1,
    };
    let (_, after) = Sender::of(app).attempt(current).await?;
    if after.attempts == 0 {
        // Deleted unsent: nowhere to send it.
        return Err(TestEventError::Dropped);
    }
    Ok(after)
}

/// How long a test event's inline attempt owns it before the outbox may retry it.
const TEST_ATTEMPT_OWNED_SECONDS: i64 = 60;

/// How long a receiver may take to answer one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one pass over the due deliveries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deliveries {
    pub delivered: usize,
    /// Attempts the receiver refused or did not answer (each retried later or given up).
    pub failed: usize,
}

/// One account's deliveries share this much of a run: a receiver that stalls (a tarpit)
/// holds back its own account's events, never another account's.
const ACCOUNT_RUN_BUDGET: Duration = Duration::from_secs(20);

/// Accounts delivered to at once (each account's events go one after another, in order).
const ACCOUNTS_AT_ONCE: usize = 16;

/// Due deliveries read at a time.
const PAGE: usize = 100;

/// An account whose run budget is spent has its due events put off by this much, so the
/// pages after carry other accounts' work.
const PUT_OFF_SECONDS: i64 = 60;

/// Attempts every delivery that is due: accounts side by side, each within its budget; an
/// error on one event is logged and counted, and the others go on.
pub async fn deliver_due(app: &App) -> Result<Deliveries, DeliveryError> {
    use futures_util::StreamExt;
    let sender = Sender::of(app);
    let mut done = Deliveries::default();
    let mut spent: HashMap<AccountId, Duration> = HashMap::new();
    // Failed attempts move into the future, so each page holds new work.
    loop {
        let page = app.store.due_webhooks(app.now(), PAGE).await?;
        let count = page.items.len();
        let mut accounts: Vec<(AccountId, Vec<Versioned<WebhookDelivery>>)> = Vec::new();
        for item in page.items {
            let account = &item.value.account_id;
            match accounts.iter_mut().find(|(a, _)| a == account) {
                Some((_, items)) => items.push(item),
                None => accounts.push((account.clone(), vec![item])),
            }
        }
        let runs: Vec<_> = accounts
            .into_iter()
            .map(|(account, items)| {
                let used = spent.get(&account).copied().unwrap_or_default();
                let sender = &sender;
                async move { (account, sender.deliver(items, used).await) }
            })
            .collect();
        let mut runs = futures_util::stream::iter(runs).buffer_unordered(ACCOUNTS_AT_ONCE);
        while let Some((account, (used, delivered))) = runs.next().await {
            *spent.entry(account).or_default() += used;
            done.delivered += delivered.delivered;
            done.failed += delivered.failed;
        }
        let out_of_time = latchkey_domain::deadline::budget(ATTEMPT_TIMEOUT).is_zero();
        if count < PAGE || out_of_time {
            return Ok(done);
        }
    }
}

impl Sender {
    /// One account's due `items` in order, until its run budget (of which `used` is gone)
    /// or the invocation's deadline is spent; the rest are put off. Answers the time used.
    async fn deliver(
        &self,
        items: Vec<Versioned<WebhookDelivery>>,
        used: Duration,
    ) -> (Duration, Deliveries) {
        let started = Instant::now();
        let mut done = Deliveries::default();
        for current in items {
            if latchkey_domain::deadline::budget(ATTEMPT_TIMEOUT).is_zero() {
                // Out of time: the rest stays due for the next run.
                break;
            }
            if used + started.elapsed() >= ACCOUNT_RUN_BUDGET {
                let mut later = current;
                later.value.next_attempt_at = self.store.now() + PUT_OFF_SECONDS;
                if let Err(e) = self.store.update_webhook(&later).await {
                    tracing::warn!(error = %Chain(&e), "webhook not put off");
                }
                continue;
            }
            match self.attempt(current).await {
                Ok((true, _)) => done.delivered += 1,
                Ok((false, _)) => done.failed += 1,
                Err(DeliveryError::Store(StoreError::Stale)) => {}
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), "webhook attempt failed");
                    done.failed += 1;
                }
            }
        }
        (started.elapsed(), done)
    }

    /// One attempt: `true` when the receiver took it, and the delivery as recorded after.
    #[tracing::instrument(
        name = "webhook",
        skip_all,
        fields(account_id = %current.value.account_id, event_id = %current.value.id)
    )]
    async fn attempt(
        &self,
        current: Versioned<WebhookDelivery>,
    ) -> Result<(bool, WebhookDelivery), DeliveryError> {
        let d = &current.value;
        let account = self.store.account(&d.account_id).await?;
        let target = account.and_then(|a| Some((a.value.webhook_url?, a.value.webhook_secret?)));
        let Some((url, secret)) = target else {
            // Nowhere to send it any more (URL or secret removed): drop it.
            tracing::warn!(event = %d.id, "webhook dropped: no webhook_url or secret configured");
            self.store.delete_webhook(&current).await?;
            return Ok((false, current.value));
        };
        // Checked again at delivery: a URL stored before the policy, or edited in the
        // table, must not reach this machine or a private network.
        if validate_egress_url("webhook_url", &url, self.allow_internal).is_err() {
            tracing::warn!(event = %d.id, "webhook dropped: webhook_url points at an internal address");
            self.store.delete_webhook(&current).await?;
            return Ok((false, current.value));
        }
        let scope = SecretScope::new(&d.account_id, WEBHOOK_SECRET_OWNER);
        let key = match self.vault.get(&scope, &secret).await? {
            Credentials::SigningKey { key } => key,
            _ => return Err(DeliveryError::NotASigningKey),
        };
        let now = self.store.now();
        let response = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header(
                SIGNATURE_HEADER,
                sign(key.expose().as_bytes(), now, &d.body),
            )
            .header("latchkey-event-id", &d.id)
            .body(d.body.clone())
            .timeout(latchkey_domain::deadline::budget(ATTEMPT_TIMEOUT))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        let mut next = current;
        next.value.attempted(now, response);
        // Kept, delivered or not, until its retention ends: the account's recent deliveries.
        self.store.update_webhook(&next).await?;
        let delivered = match next.value.state() {
            DeliveryState::Delivered => true,
            DeliveryState::Failed => {
                tracing::warn!(event = %next.value.id, attempts = next.value.attempts, "webhook abandoned");
                false
            }
            DeliveryState::Pending => false,
        };
        Ok((delivered, next.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_timestamp_and_body() {
        // HMAC-SHA256("key", "1.{}"), computed independently (Python hmac).
        assert_eq!(
            sign(b"key", 1, "{}"),
            "t=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        assert_ne!(sign(b"key", 2, "{}"), sign(b"key", 1, "{}"));
    }
}
