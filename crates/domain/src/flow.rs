use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AccountId, ConnectionId, ConsumerId, IntegrationId};

use crate::Secret;

/// An OAuth `state` is good for 10 minutes and one callback.
pub const CONNECTION_FLOW_TTL_SECONDS: i64 = 10 * 60;

/// A connection attempt between the popup's redirect to a provider and its callback.
/// Stored under the hash of `state`; consumed atomically by the callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionFlow {
    pub state_hash: String,
    /// SHA-256 of the value of the cookie set on the browser that started the flow.
    pub browser_binding: String,
    pub account_id: AccountId,
    pub consumer_id: ConsumerId,
    pub integration_id: IntegrationId,
    pub auth_option_key: String,
    pub name: String,
    /// Connection to re-authorise, if any.
    pub connection_id: Option<ConnectionId>,
    /// Hash of the activation token that started the flow, consumed on success.
    pub activation_hash: Option<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// PKCE S256 code verifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce_verifier: Option<Secret>,
    /// OAuth 1.0a request token secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_token_secret: Option<Secret>,
    /// The two secrets above and the secret parameters, sealed under a key only the flow
    /// cookie carries, as the flow is stored; opened when the callback proves the cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
    /// Where the browser goes when done (already checked against the allowlist).
    pub redirect_target: Option<String>,
    pub target_origin: Option<String>,
    /// Cyclr's `callbackMessage`, posted to the opener with the result.
    #[serde(default)]
    pub callback_message: Option<String>,
    pub custom_state: Option<String>,
    #[serde(default)]
    pub allow_multiple_connections: bool,
    /// Whether the flow was started from the marketplace (and may return there).
    #[serde(default)]
    pub from_marketplace: bool,
    pub redirect_after: bool,
    pub created_at: i64,
    pub expires_at: i64,
}
