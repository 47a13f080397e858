use serde::Serialize;

use crate::Timestamp;
use latchkey_domain::{Account, ReminderSettings};

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
            webhook_url: a.webhook_url.as_deref(),
            webhook_secret_set: a.webhook_secret.is_some(),
            created_at: a.created_at.into(),
            updated_at: a.updated_at.into(),
        }
    }
}
