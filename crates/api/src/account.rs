use serde::Serialize;

use crate::Timestamp;
use latchkey_domain::{
    Account, ApiKey, Branding, DeliveryState, EventType, KeyScope, ReminderSettings,
    WebhookDelivery,
};

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

/// A webhook delivery as listed: what was sent and how the receiver answered, not the body.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookDelivery")]
pub struct WebhookDeliveryView<'a> {
    /// The event's `id` (receivers deduplicate on it).
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event: EventType,
    pub status: DeliveryState,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    /// The receiver's HTTP status at the last attempt; absent when it did not answer.
    pub last_response_status: Option<u16>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    /// When it was given up (`failed`), after the last attempt.
    pub given_up_at: Option<Timestamp>,
}

impl<'a> From<&'a WebhookDelivery> for WebhookDeliveryView<'a> {
    fn from(d: &'a WebhookDelivery) -> Self {
        let status = d.state();
        Self {
            id: &d.id,
            event: d.event,
            status,
            attempts: d.attempts,
            created_at: d.created_at.into(),
            last_attempt_at: d.last_attempt_at.map(Into::into),
            last_response_status: d.last_response,
            next_attempt_at: (status == DeliveryState::Pending).then(|| d.next_attempt_at.into()),
            delivered_at: d.delivered_at.map(Into::into),
            given_up_at: d.given_up_at.map(Into::into),
        }
    }
}
