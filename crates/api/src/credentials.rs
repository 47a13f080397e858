use std::collections::BTreeMap;

use serde::Serialize;

use crate::Timestamp;
use latchkey_domain::{Connection, Credentials};

/// What the vendor needs to call the integration's API itself. The refresh token is never
/// handed out: Latchkey refreshes (with rotation), and a second party refreshing with the
/// same token would revoke the grant at rotating providers.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Credentials")]
pub struct CredentialsView<'a> {
    #[serde(flatten)]
    pub secret: SecretView<'a>,
    pub connection_id: &'a str,
    pub parameters: &'a BTreeMap<String, String>,
    /// Whether these were just refreshed for this call.
    pub refreshed: bool,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SecretView<'a> {
    Oauth2 {
        access_token: &'a str,
        token_type: Option<&'a str>,
        scope: Option<&'a str>,
        expires_at: Option<Timestamp>,
    },
    Token {
        token: &'a str,
        expires_at: Option<Timestamp>,
    },
    ApiKey {
        api_key: &'a str,
    },
    Basic {
        username: &'a str,
        password: &'a str,
    },
    Oauth1 {
        token: &'a str,
        token_secret: &'a str,
    },
    /// No authentication: the parameters are all there is.
    None {},
}

impl<'a> CredentialsView<'a> {
    /// `None` for what the vault keeps but no connection has (client and signing secrets).
    pub fn new(
        connection: &'a Connection,
        credentials: &'a Credentials,
        refreshed: bool,
    ) -> Option<Self> {
        let secret = match credentials {
            Credentials::Oauth2 {
                access_token,
                token_type,
                scope,
                expires_at,
                ..
            } => SecretView::Oauth2 {
                access_token: access_token.expose(),
                token_type: token_type.as_deref(),
                scope: scope.as_deref(),
                expires_at: expires_at.map(Timestamp),
            },
            Credentials::Token {
                token, expires_at, ..
            } => SecretView::Token {
                token: token.expose(),
                expires_at: expires_at.map(Timestamp),
            },
            Credentials::ApiKey { api_key } => SecretView::ApiKey {
                api_key: api_key.expose(),
            },
            Credentials::Basic { username, password } => SecretView::Basic {
                username,
                password: password.expose(),
            },
            Credentials::Oauth1 {
                token,
                token_secret,
            } => SecretView::Oauth1 {
                token: token.expose(),
                token_secret: token_secret.expose(),
            },
            Credentials::None {} => SecretView::None {},
            Credentials::ClientSecret { .. } | Credentials::SigningKey { .. } => return None,
        };
        Some(Self {
            secret,
            connection_id: &connection.id,
            parameters: &connection.parameters,
            refreshed,
        })
    }
}
