use std::collections::BTreeMap;

use serde::Serialize;

use crate::Timestamp;
use latchkey_domain::{
    Connection, ConnectionStatus, EventType, Metadata, RefreshState, SHORT_LIVED_SECONDS,
};

/// A connection as API clients and webhooks see it: no vault reference, no account.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Connection")]
pub struct ConnectionView<'a> {
    pub id: &'a str,
    pub consumer_id: &'a str,
    pub integration_id: &'a str,
    pub auth_option_key: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// Your own data on this connection (`PATCH /v1/connections/{id}`).
    pub metadata: &'a Metadata,
    /// Non-secret connection parameters (`subdomain`, captured `instance_url`, …).
    pub parameters: &'a BTreeMap<String, String>,
    pub status: ConnectionStatus,
    /// When the current access token stops working; `null` when it does not expire.
    pub access_expires_at: Option<Timestamp>,
    /// When the current access token was obtained.
    pub access_issued_at: Option<Timestamp>,
    /// Whether the credentials can be renewed without the user.
    pub refreshable: bool,
    pub refresh: RefreshView<'a>,
    /// The access token lives under five minutes: only on-demand refresh keeps it fresh.
    pub short_lived_token: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Refresh bookkeeping.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "RefreshState")]
pub struct RefreshView<'a> {
    pub last_success_at: Option<Timestamp>,
    pub last_failure_at: Option<Timestamp>,
    /// When the current run of failures began (a day of them ends in `error`).
    pub failing_since: Option<Timestamp>,
    pub consecutive_failures: u32,
    /// A stable error code, never provider text.
    pub last_error: Option<&'a str>,
    /// Earliest time the scheduler tries again after a transient failure.
    pub retry_at: Option<Timestamp>,
}

impl<'a> From<&'a RefreshState> for RefreshView<'a> {
    fn from(r: &'a RefreshState) -> Self {
        Self {
            last_success_at: r.last_success_at.map(Timestamp),
            last_failure_at: r.last_failure_at.map(Timestamp),
            failing_since: r.failing_since.map(Timestamp),
            consecutive_failures: r.consecutive_failures,
            last_error: r.last_error.as_deref(),
            retry_at: r.retry_at.map(Timestamp),
        }
    }
}

impl<'a> From<&'a Connection> for ConnectionView<'a> {
    fn from(c: &'a Connection) -> Self {
        Self {
            id: &c.id,
            consumer_id: &c.consumer_id,
            integration_id: &c.integration_id,
            auth_option_key: &c.auth_option_key,
            name: &c.name,
            description: c.description.as_deref(),
            metadata: &c.metadata,
            parameters: &c.parameters,
            status: c.status,
            access_expires_at: c.access_expires_at.map(Timestamp),
            access_issued_at: c.access_issued_at.map(Timestamp),
            refreshable: c.refreshable,
            refresh: (&c.refresh).into(),
            short_lived_token: c.token_lifetime().is_some_and(|l| l < SHORT_LIVED_SECONDS),
            created_at: c.created_at.into(),
            updated_at: c.updated_at.into(),
        }
    }
}

/// A connection installed from known credentials, and whether the verification call
/// succeeded.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "InstalledConnection")]
pub struct InstalledView<'a> {
    #[serde(flatten)]
    pub connection: ConnectionView<'a>,
    pub authenticated: bool,
    /// For an install without credentials (`status: pending`): where its user completes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_link: Option<crate::ActivationLinkView>,
}

/// A webhook's body, exactly as signed: `{"id", "type", "created_at", "data"}`, where
/// `data` is `{"connection"}`, or `{"account_id"}` for `webhook.test`.
#[derive(Debug, Serialize)]
pub struct WebhookEvent<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event: EventType,
    pub created_at: Timestamp,
    pub data: WebhookData<'a>,
}

/// Built for one event and serialized at once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum WebhookData<'a> {
    Connection { connection: ConnectionView<'a> },
    Test { account_id: &'a str },
}

impl<'a> WebhookEvent<'a> {
    pub fn new(id: &'a str, event: EventType, at: i64, connection: &'a Connection) -> Self {
        Self {
            id,
            event,
            created_at: at.into(),
            data: WebhookData::Connection {
                connection: connection.into(),
            },
        }
    }

    /// `webhook.test`: a receiver check that names no connection.
    pub fn test(id: &'a str, at: i64, account_id: &'a str) -> Self {
        Self {
            id,
            event: EventType::WebhookTest,
            created_at: at.into(),
            data: WebhookData::Test { account_id },
        }
    }
}

impl<'a> crate::Listed<ConnectionView<'a>> {
    /// A page of connections.
    pub fn connections(
        items: impl IntoIterator<Item = &'a latchkey_domain::Connection>,
        next_cursor: Option<String>,
    ) -> Self {
        Self {
            data: items.into_iter().map(ConnectionView::from).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::SecretRef;

    fn connection() -> Connection {
        Connection {
            id: "con_1".into(),
            account_id: "acc_1".into(),
            consumer_id: "csm_1".into(),
            integration_id: "int_1".into(),
            auth_option_key: "oauth".into(),
            name: "n".into(),
            description: None,
            parameters: BTreeMap::new(),
            status: ConnectionStatus::Active,
            access_expires_at: Some(1_240),
            access_issued_at: Some(1_000),
            refreshable: true,
            metadata: Default::default(),
            refresh: RefreshState::default(),
            credentials: Some(SecretRef::Sealed { blob: "x".into() }),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_view_hides_the_vault_and_the_account_and_flags_short_tokens() {
        let mut c = connection();
        let view = serde_json::to_value(ConnectionView::from(&c)).unwrap();
        assert!(view.get("credentials").is_none() && view.get("account_id").is_none());
        assert_eq!(view["short_lived_token"], true);
        assert_eq!(view["access_expires_at"], "1970-01-01T00:20:40Z");
        assert_eq!(view["refresh"]["retry_at"], serde_json::Value::Null);
        c.access_expires_at = Some(1_000 + 7_200);
        let view = serde_json::to_value(ConnectionView::from(&c)).unwrap();
        assert_eq!(view["short_lived_token"], false);
    }
}
