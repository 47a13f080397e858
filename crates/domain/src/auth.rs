//! How consumers authenticate: an integration's auth options, one type per auth method,
//! and what the popup asks the consumer for each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Integration, ParameterSpec, Secret, SecretRef};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpVerb {
    Get,
    #[default]
    Post,
}

/// How the OAuth client authenticates at the token endpoint.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the request body (`client_secret_post`).
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureSource {
    TokenResponse,
    CallbackQuery,
}

/// A value copied into the connection's parameters during the flow (Salesforce
/// `instance_url` from the token response, QuickBooks `realmId` from the callback).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Capture {
    pub parameter: String,
    pub source: CaptureSource,
    pub field: String,
    /// A regular expression whose first group is the value to keep (e.g. the
    /// subdomain out of Salesforce's `instance_url`); absent: the whole value.
    #[serde(default)]
    pub pattern: Option<String>,
}

/// The account's OAuth app for an integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OAuthClient {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<ClientSecret>,
}

/// An OAuth client secret: plain only on its way in from the API, a vault reference
/// everywhere else. Never rendered in a response (see `mask_client_secrets`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ClientSecret {
    Stored(SecretRef),
    Plain(Secret),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuthOption {
    /// Unique within the integration, letters and digits only.
    pub key: String,
    pub label: Option<String>,
    /// Help for the consumer choosing or filling in this option (Cyclr's
    /// `AuthDescription`): what it grants, where to find the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub method: AuthMethod,
}

fn space() -> String {
    " ".into()
}

fn yes() -> bool {
    true
}

fn access_token() -> String {
    "access_token".into()
}

/// How a consumer authenticates, one type per method; JSON: `{"type": "oauth2", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthMethod {
    Oauth2(OAuth2),
    Oauth2ClientCredentials(ClientCredentials),
    ApiKey(ApiKey),
    Basic(Basic),
    CustomToken(CustomToken),
    Oauth1(OAuth1),
    /// No authentication (Airkit): a public API, or one keyed by a request parameter the
    /// vendor sets. The connection keeps only its parameters.
    None(NoAuth),
}

/// OAuth 2.0 authorization code (with PKCE S256 unless `pkce` is false).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OAuth2 {
    pub authorization_url: String,
    pub token_url: String,
    #[serde(default)]
    pub token_method: HttpVerb,
    #[serde(default)]
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default = "space")]
    pub scope_separator: String,
    #[serde(default = "yes")]
    pub pkce: bool,
    #[serde(default)]
    pub authorization_params: BTreeMap<String, String>,
    #[serde(default)]
    pub token_params: BTreeMap<String, String>,
    pub revoke_url: Option<String>,
    /// The provider's issuer identifier; when set, the authorization response must carry
    /// an `iss` equal to it (RFC 9207, mix-up defence).
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub capture: Vec<Capture>,
    pub client: Option<OAuthClient>,
}

/// OAuth 2.0 client credentials: the integration's app, or the consumer's own client id
/// and secret entered in the popup when the integration has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClientCredentials {
    pub token_url: String,
    #[serde(default)]
    pub token_method: HttpVerb,
    #[serde(default)]
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default = "space")]
    pub scope_separator: String,
    #[serde(default)]
    pub token_params: BTreeMap<String, String>,
    pub client: Option<OAuthClient>,
}

/// A key the consumer pastes into the popup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiKey {}

/// Nothing to authenticate with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NoAuth {}

/// Username and password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Basic {}

/// A token fetched from an endpoint with a configured verb and parameters (Airkit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomToken {
    pub token_url: String,
    #[serde(default)]
    pub token_method: HttpVerb,
    #[serde(default)]
    pub token_params: BTreeMap<String, String>,
    #[serde(default = "access_token")]
    pub token_field: String,
    pub expires_in_field: Option<String>,
}

/// OAuth 1.0a with HMAC-SHA1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OAuth1 {
    pub request_token_url: String,
    pub authorization_url: String,
    pub access_token_url: String,
    pub client: Option<OAuthClient>,
}

/// A credential the consumer types into the popup, by the name the connect service reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialField {
    pub name: &'static str,
    pub label: &'static str,
    pub secret: bool,
}

const API_KEY_FIELDS: &[CredentialField] = &[CredentialField {
    name: "api_key",
    label: "API key",
    secret: true,
}];

const BASIC_FIELDS: &[CredentialField] = &[
    CredentialField {
        name: "username",
        label: "User name",
        secret: false,
    },
    CredentialField {
        name: "password",
        label: "Password",
        secret: true,
    },
];

const OWN_CLIENT_FIELDS: &[CredentialField] = &[
    CredentialField {
        name: "client_id",
        label: "Client ID",
        secret: false,
    },
    CredentialField {
        name: "client_secret",
        label: "Client secret",
        secret: true,
    },
];

impl AuthOption {
    /// The integration's parameters the consumer is asked for: all but those this option
    /// captures during the flow.
    pub fn asked_parameters<'a>(
        &self,
        integration: &'a Integration,
    ) -> impl Iterator<Item = &'a ParameterSpec> + use<'a> {
        let captured: Vec<String> = match &self.method {
            AuthMethod::Oauth2(m) => m.capture.iter().map(|c| c.parameter.clone()).collect(),
            _ => Vec::new(),
        };
        integration
            .parameters
            .iter()
            .filter(move |p| !captured.contains(&p.name))
    }
}

impl AuthMethod {
    /// What the consumer types in for this method (client credentials without the
    /// account's app take the consumer's own client).
    pub fn credential_fields(&self) -> &'static [CredentialField] {
        match self {
            AuthMethod::ApiKey(_) => API_KEY_FIELDS,
            AuthMethod::Basic(_) => BASIC_FIELDS,
            AuthMethod::Oauth2ClientCredentials(m) if m.client.is_none() => OWN_CLIENT_FIELDS,
            _ => &[],
        }
    }

    pub fn client(&self) -> Option<&OAuthClient> {
        match self {
            AuthMethod::Oauth2(OAuth2 { client, .. })
            | AuthMethod::Oauth2ClientCredentials(ClientCredentials { client, .. })
            | AuthMethod::Oauth1(OAuth1 { client, .. }) => client.as_ref(),
            _ => None,
        }
    }

    pub fn client_mut(&mut self) -> Option<&mut Option<OAuthClient>> {
        match self {
            AuthMethod::Oauth2(OAuth2 { client, .. })
            | AuthMethod::Oauth2ClientCredentials(ClientCredentials { client, .. })
            | AuthMethod::Oauth1(OAuth1 { client, .. }) => Some(client),
            _ => None,
        }
    }

    /// Whether the method needs the account's OAuth app (client credentials may instead
    /// use the consumer's own client, entered in the popup).
    pub fn needs_app(&self) -> bool {
        matches!(self, AuthMethod::Oauth2(_) | AuthMethod::Oauth1(_))
    }

    /// Whether the consumer leaves for the provider and comes back to the integration's
    /// redirect URI.
    pub fn redirects(&self) -> bool {
        matches!(self, AuthMethod::Oauth2(_) | AuthMethod::Oauth1(_))
    }

    /// The URL-valued fields of this method, named as in the JSON.
    pub fn urls(&self) -> Vec<(&'static str, &str)> {
        match self {
            AuthMethod::Oauth2(OAuth2 {
                authorization_url,
                token_url,
                revoke_url,
                ..
            }) => {
                let mut urls = vec![
                    ("authorization_url", authorization_url.as_str()),
                    ("token_url", token_url.as_str()),
                ];
                if let Some(r) = revoke_url {
                    urls.push(("revoke_url", r.as_str()));
                }
                urls
            }
            AuthMethod::Oauth2ClientCredentials(ClientCredentials { token_url, .. })
            | AuthMethod::CustomToken(CustomToken { token_url, .. }) => {
                vec![("token_url", token_url.as_str())]
            }
            AuthMethod::Oauth1(OAuth1 {
                request_token_url,
                authorization_url,
                access_token_url,
                ..
            }) => vec![
                ("request_token_url", request_token_url.as_str()),
                ("authorization_url", authorization_url.as_str()),
                ("access_token_url", access_token_url.as_str()),
            ],
            AuthMethod::ApiKey(_) | AuthMethod::Basic(_) | AuthMethod::None(_) => vec![],
        }
    }
}
