use serde::Serialize;

use crate::Timestamp;
use latchkey_domain::{Account, ApiKey, Branding, KeyScope, ReminderSettings};

/// The account's settings, without its vault references.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Account")]
pub struct AccountView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub redirect_url: Option<&'a str>,
    pub allowed_redirect_origins: &'a [String],
    pub append_result_params: bool,
    /// Workspace tokens naming an unknown consumer create it.
    pub auto_create_consumers: bool,
    /// Reminder emails to consumers whose connections broke.
    pub reminders: ReminderSettings,
    /// How the hosted pages present the account.
    pub branding: &'a Branding,
    pub webhook_url: Option<&'a str>,
    /// Whether deliveries can be signed: without a secret no webhook is sent.
    pub webhook_secret_set: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl<'a> From<&'a Account> for AccountView<'a> {
    fn from(a: &'a Account) -> Self {
        Self {
            id: &a.id,
            name: &a.name,
            redirect_url: a.redirect_url.as_deref(),
            allowed_redirect_origins: &a.allowed_redirect_origins,
            append_result_params: a.append_result_params,
            auto_create_consumers: a.auto_create_consumers,
            reminders: a.reminders,
            branding: &a.branding,
            webhook_url: a.webhook_url.as_deref(),
            webhook_secret_set: a.webhook_secret.is_some(),
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
        }
    }
}

/// An API key as listed: never the key (shown once, at creation) nor its hash.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "ApiKey")]
pub struct ApiKeyView<'a> {
    pub id: &'a str,
    pub label: Option<&'a str>,
    pub scopes: &'a [KeyScope],
    pub created_at: Timestamp,
    /// Written at most every five minutes.
    pub last_used_at: Option<Timestamp>,
    /// After this the key stops working; absent: never.
    pub expires_at: Option<Timestamp>,
}

impl<'a> From<&'a ApiKey> for ApiKeyView<'a> {
    fn from(k: &'a ApiKey) -> Self {
        Self {
            id: &k.id,
            label: k.label.as_deref(),
            scopes: &k.scopes,
            created_at: k.created_at.into(),
            last_used_at: k.last_used_at.map(Into::into),
            expires_at: k.expires_at.map(Into::into),
        }
    }
}

/// The answer to `POST /v1/api-keys`: the key itself, shown this once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "NewApiKey")]
pub struct CreatedApiKeyView<'a> {
    #[serde(flatten)]
    pub api_key: ApiKeyView<'a>,
    /// Send as `Authorization: Bearer <key>`. Only its hash is stored.
    pub key: &'a str,
}
