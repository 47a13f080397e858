use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::vault::SecretRef;

/// Access tokens are refreshed when they have less than this left.
pub const REFRESH_MARGIN_SECONDS: i64 = 30 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    Error,
    NeedsReauth,
    Revoked,
}

/// Refresh bookkeeping, kept on the connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RefreshState {
    pub last_success_at: Option<i64>,
    pub last_failure_at: Option<i64>,
    #[serde(default)]
    pub consecutive_failures: u32,
    /// A stable error code, never provider text.
    pub last_error: Option<String>,
    /// Earliest time the scheduler tries again after a transient failure.
    pub retry_at: Option<i64>,
}

/// A consumer's live link to an integration. Secrets are only referenced, never held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Connection {
    pub id: String,
    #[schemars(skip)]
    pub account_id: String,
    pub consumer_id: String,
    pub integration_id: String,
    pub auth_option_key: String,
    pub name: String,
    /// Non-secret connection parameters (`subdomain`, captured `instance_url`, …).
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    pub status: ConnectionStatus,
    /// When the current access token stops working; `None` when it does not expire.
    pub access_expires_at: Option<i64>,
    /// Whether the credentials can be renewed without the user (refresh token,
    /// client credentials, custom token endpoint).
    #[serde(default)]
    pub refreshable: bool,
    #[serde(default)]
    pub refresh: RefreshState,
    #[schemars(skip)]
    pub credentials: Option<SecretRef>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Connection {
    /// When the scheduler should refresh this connection: [`REFRESH_MARGIN_SECONDS`]
    /// before the access token expires, or at a pending retry after a transient failure.
    /// Only active, refreshable, expiring connections are ever scheduled.
    pub fn refresh_due_at(&self) -> Option<i64> {
        if self.status != ConnectionStatus::Active || !self.refreshable {
            return None;
        }
        let expires = self.access_expires_at?;
        Some(
            self.refresh
                .retry_at
                .unwrap_or(expires - REFRESH_MARGIN_SECONDS),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(status: ConnectionStatus, refreshable: bool, exp: Option<i64>) -> Connection {
        Connection {
            id: "con_1".into(),
            account_id: "acc".into(),
            consumer_id: "csm".into(),
            integration_id: "int".into(),
            auth_option_key: "oauth".into(),
            name: "n".into(),
            parameters: BTreeMap::new(),
            status,
            access_expires_at: exp,
            refreshable,
            refresh: RefreshState::default(),
            credentials: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_active_refreshable_expiring_connections_are_scheduled() {
        let due = connection(ConnectionStatus::Active, true, Some(10_000));
        assert_eq!(due.refresh_due_at(), Some(10_000 - REFRESH_MARGIN_SECONDS));
        let mut retrying = due.clone();
        retrying.refresh.retry_at = Some(9_000);
        assert_eq!(retrying.refresh_due_at(), Some(9_000));
        assert_eq!(
            connection(ConnectionStatus::Active, false, Some(100)).refresh_due_at(),
            None
        );
        assert_eq!(
            connection(ConnectionStatus::NeedsReauth, true, Some(100)).refresh_due_at(),
            None
        );
        assert_eq!(
            connection(ConnectionStatus::Active, true, None).refresh_due_at(),
            None
        );
    }
}
