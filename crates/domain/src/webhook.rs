use serde::{Deserialize, Serialize};

use crate::AccountId;

/// Deliveries are retried this many times, with exponential backoff, then dropped.
pub const WEBHOOK_MAX_ATTEMPTS: u32 = 8;

/// What happened to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Sent on request (console or `POST /v1/account/webhooks/test`) to check a receiver.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// The name receivers see in `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConnectionCreated => "connection.created",
            EventType::ConnectionUpdated => "connection.updated",
            EventType::RefreshFailed => "connection.refresh_failed",
            EventType::NeedsReauth => "connection.needs_reauth",
            EventType::ConnectionError => "connection.error",
            EventType::ConnectionDeleted => "connection.deleted",
            EventType::WebhookTest => "webhook.test",
        }
    }
}

/// Where a delivery is: still being tried, taken by the receiver, or given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

/// One event on its way to the account's `webhook_url` (the outbox item), kept after it
/// is delivered or given up so the vendor can see recent deliveries. The body is fixed
/// when the event happens; the signature is made at each attempt, over the attempt time
/// and the body.
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
    /// The last attempt: when, and the receiver's HTTP status (`None`: no answer).
    #[serde(default)]
    pub last_attempt_at: Option<i64>,
    #[serde(default)]
    pub last_response: Option<u16>,
    /// When the receiver took it (a 2xx answer).
    #[serde(default)]
    pub delivered_at: Option<i64>,
    /// When it was given up, after [`WEBHOOK_MAX_ATTEMPTS`].
    #[serde(default)]
    pub given_up_at: Option<i64>,
}

impl WebhookDelivery {
    /// A new event, due at once.
    pub fn new(
        id: String,
        account_id: AccountId,
        event: EventType,
        body: String,
        now: i64,
    ) -> Self {
        Self {
            id,
            account_id,
            event,
            body,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            last_attempt_at: None,
            last_response: None,
            delivered_at: None,
            given_up_at: None,
        }
    }

    pub fn state(&self) -> DeliveryState {
        if self.delivered_at.is_some() {
            DeliveryState::Delivered
        } else if self.given_up_at.is_some() {
            DeliveryState::Failed
        } else {
            DeliveryState::Pending
        }
    }

    /// Records an attempt at `now` that the receiver answered with `response` (`None`: no
    /// answer). A 2xx delivers it; otherwise the next attempt waits with jittered
    /// exponential backoff (30 s, doubling, capped at six hours), and after
    /// [`WEBHOOK_MAX_ATTEMPTS`] it is given up.
    pub fn attempted(&mut self, now: i64, response: Option<u16>) {
        self.attempts += 1;
        self.last_attempt_at = Some(now);
        self.last_response = response;
        if response.is_some_and(|status| (200..300).contains(&status)) {
            self.delivered_at = Some(now);
        } else if self.attempts >= WEBHOOK_MAX_ATTEMPTS {
            self.given_up_at = Some(now);
        } else {
            self.next_attempt_at =
                now + crate::backoff::backoff_seconds(self.attempts, 30, 6 * 3600);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_the_serialized_ones() {
        for event in [
            EventType::ConnectionCreated,
            EventType::ConnectionUpdated,
            EventType::RefreshFailed,
            EventType::NeedsReauth,
            EventType::ConnectionError,
            EventType::ConnectionDeleted,
            EventType::WebhookTest,
        ] {
            assert_eq!(serde_json::to_value(event).unwrap(), event.as_str());
        }
    }

    #[test]
    fn a_delivery_is_delivered_by_a_2xx_and_given_up_after_the_last_attempt() {
        let mut d = WebhookDelivery::new(
            "evt_1".into(),
            AccountId::from("acc_1"),
            EventType::WebhookTest,
            "{}".into(),
            1000,
        );
        d.attempted(1000, Some(500));
        assert_eq!(d.state(), DeliveryState::Pending);
        assert!(d.next_attempt_at > 1000);
        d.attempted(1100, Some(204));
        assert_eq!(d.state(), DeliveryState::Delivered);
        assert_eq!((d.attempts, d.delivered_at), (2, Some(1100)));

        let mut d = WebhookDelivery::new(
            "evt_2".into(),
            AccountId::from("acc_1"),
            EventType::WebhookTest,
            "{}".into(),
            1000,
        );
        for _ in 0..WEBHOOK_MAX_ATTEMPTS {
            assert_eq!(d.state(), DeliveryState::Pending);
            d.attempted(2000, None);
        }
        assert_eq!(d.state(), DeliveryState::Failed);
        assert_eq!(d.given_up_at, Some(2000));
        assert_eq!(d.last_response, None);
    }
}
