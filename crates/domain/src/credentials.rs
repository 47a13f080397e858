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
    /// A connection of an integration without authentication: nothing is stored; a
    /// connection without a credentials reference reads as this.
    None {},
    /// An OAuth client secret (an integration's app, or a consumer's own client).
    ClientSecret {
        client_secret: Secret,
    },
    /// A shared secret the account signs or verifies with (webhooks, workspace JWTs).
    SigningKey {
        key: Secret,
    },
}

/// Whose secret this is. Both modes bind a stored secret to its scope: a secret stored
/// for one connection cannot be opened as another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretScope {
    pub account_id: String,
    /// The connection, integration or account the secret belongs to.
    pub owner_id: String,
}

impl SecretScope {
    pub fn new(account_id: &str, owner_id: impl Into<String>) -> Self {
        Self {
            account_id: account_id.to_owned(),
            owner_id: owner_id.into(),
        }
    }
}

/// Where a secret is, as kept in the owner's item. Holds no plaintext.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SecretRef {
    SecretsManager {
        name: String,
        /// The secret version this reference's write created. Reads ask for exactly it, so
        /// a writer that lost the owner item's conditional update cannot change what is
        /// read. References from before versions were recorded read `AWSCURRENT`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    Sealed {
        blob: String,
    },
}

impl std::fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::SecretsManager { name, version } => {
                write!(
                    f,
                    "SecretsManager({name}@{})",
                    version.as_deref().unwrap_or("current")
                )
            }
            SecretRef::Sealed { .. } => f.write_str("Sealed(..)"),
        }
    }
}
