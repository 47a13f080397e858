use serde::{Deserialize, Serialize};

use crate::AccountId;

/// Deliveries are retried this many times, with exponential backoff, then dropped.
pub const WEBHOOK_MAX_ATTEMPTS: u32 = 8;

/// What happened to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "connection.created")]
    ConnectionCreated,
    #[serde(rename = "connection.updated")]
    ConnectionUpdated,
    #[serde(rename = "connection.refresh_failed")]
    RefreshFailed,
    #[serde(rename = "connection.needs_reauth")]
    NeedsReauth,
    /// Refreshing failed for good: the connection is in `error`.
    #[serde(rename = "connection.error")]
    ConnectionError,
    #[serde(rename = "connection.deleted")]
    ConnectionDeleted,
}

/// One event on its way to the account's `webhook_url` (the outbox item). The body is
/// fixed when the event happens; the signature is made at each attempt, over the attempt
/// time and the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: String,
    pub account_id: AccountId,
    pub event: EventType,
    /// The JSON body sent, exactly as signed.
    pub body: String,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

impl WebhookDelivery {
    /// Records a failed attempt at `now`: the next one waits with jittered exponential
    /// backoff (30 s, doubling, capped at six hours). `false` once the delivery has had
    /// [`WEBHOOK_MAX_ATTEMPTS`] and is given up.
    pub fn after_failed_attempt(&mut self, now: i64) -> bool {
        self.attempts += 1;
        if self.attempts >= WEBHOOK_MAX_ATTEMPTS {
            return false;
        }
        self.next_attempt_at = now + crate::backoff::backoff_seconds(self.attempts, 30, 6 * 3600);
        true
    }
}
