use serde::{Deserialize, Serialize};

use crate::Secret;

/// What the vault keeps for an owner. `Debug` never shows a secret (see [`Secret`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credentials {
    Oauth2 {
        access_token: Secret,
        refresh_token: Option<Secret>,
        token_type: Option<String>,
        scope: Option<String>,
        /// Epoch seconds; `None` when the provider gave no lifetime.
        expires_at: Option<i64>,
        /// The consumer's own client (client credentials without an account app), kept
        /// to fetch the next token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_secret: Option<Secret>,
    },
    Oauth1 {
        token: Secret,
        token_secret: Secret,
    },
    ApiKey {
        api_key: Secret,
    },
    Basic {
        username: String,
        password: Secret,
    },
    /// A token fetched from a custom endpoint, with the secret connection parameters
    /// needed to fetch the next one.
    Token {
        token: Secret,
        expires_at: Option<i64>,
        #[serde(default)]
        parameters: std::collections::BTreeMap<String, Secret>,
    },
    /// An OAuth client secret (an integration's app, or a consumer's own client).
    ClientSecret {
        client_secret: Secret,
    },
    /// A shared secret the account signs or verifies with (webhooks, workspace JWTs).
    SigningKey {
        key: Secret,
    },
}
