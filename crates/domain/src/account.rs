use serde::{Deserialize, Serialize};

use crate::AccountId;

use crate::validate::{Checked, FieldError, optional_text, present, required_text};
use crate::{Logo, ReminderSettings, SecretRef};
use crate::{validate_origin, validate_public_url};

/// A vendor's workspace (one per environment). Its secrets live in the vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    /// Where browsers go after a connection when neither the request nor the consumer says.
    pub redirect_url: Option<String>,
    /// Exact origins a `redirectUri` or `targetOrigin` may name.
    #[serde(default)]
    pub allowed_redirect_origins: Vec<String>,
    /// Whether `connectionId`/`error`… are appended to the redirect target.
    #[serde(default = "yes")]
    pub append_result_params: bool,
    /// A workspace token whose `sub` names no consumer creates it from the token's signed
    /// claims (Cyclr: "If said user does not exist, they will be created"). Off by default.
    #[serde(default)]
    pub auto_create_consumers: bool,
    /// Reminder emails to consumers whose connections broke.
    #[serde(default)]
    pub reminders: ReminderSettings,
    /// How the hosted pages present the account to its consumers.
    #[serde(default)]
    pub branding: Branding,
    pub webhook_url: Option<String>,
    /// HMAC-SHA256 key for webhook signatures.
    pub webhook_secret: Option<SecretRef>,
    /// HS256 key for workspace JWTs that start a connection popup.
    pub jwt_secret: Option<SecretRef>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn yes() -> bool {
    true
}

impl Account {
    pub fn new(id: AccountId, name: String, now: i64) -> Self {
        Self {
            id,
            name,
            redirect_url: None,
            allowed_redirect_origins: Vec::new(),
            append_result_params: true,
            auto_create_consumers: false,
            reminders: ReminderSettings::default(),
            branding: Branding::default(),
            webhook_url: None,
            webhook_secret: None,
            jwt_secret: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn validate(&self) -> Checked {
        required_text("name", &self.name, 200)?;
        if let Some(url) = &self.redirect_url {
            validate_public_url("redirect_url", url)?;
        }
        for (i, origin) in self.allowed_redirect_origins.iter().enumerate() {
            validate_origin(&format!("allowed_redirect_origins[{i}]"), origin)?;
        }
        if let Some(url) = &self.webhook_url {
            validate_public_url("webhook_url", url)?;
        }
        self.branding.validate()?;
        self.reminders.validate()
    }

    /// The name consumers see: the branding's, else the account's.
    pub fn display_name(&self) -> &str {
        self.branding.display_name.as_deref().unwrap_or(&self.name)
    }

    /// Applies a patch and validates the result; on error `self` is unchanged.
    pub fn patched(&self, patch: AccountPatch, now: i64) -> Result<Self, FieldError> {
        let mut next = self.clone();
        if let Some(name) = patch.name {
            next.name = name;
        }
        if let Some(url) = patch.redirect_url {
            next.redirect_url = url;
        }
        if let Some(origins) = patch.allowed_redirect_origins {
            next.allowed_redirect_origins = origins
                .iter()
                .enumerate()
                .map(|(i, o)| validate_origin(&format!("allowed_redirect_origins[{i}]"), o))
                .collect::<Result<_, _>>()?;
        }
        if let Some(append) = patch.append_result_params {
            next.append_result_params = append;
        }
        if let Some(create) = patch.auto_create_consumers {
            next.auto_create_consumers = create;
        }
        if let Some(url) = patch.webhook_url {
            next.webhook_url = url;
        }
        if let Some(reminders) = patch.reminders {
            next.reminders = reminders;
        }
        if let Some(branding) = patch.branding {
            next.branding = branding;
        }
        next.updated_at = now;
        next.validate()?;
        Ok(next)
    }
}

/// `PATCH /v1/account`: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub redirect_url: Option<Option<String>>,
    pub allowed_redirect_origins: Option<Vec<String>>,
    pub append_result_params: Option<bool>,
    pub auto_create_consumers: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub webhook_url: Option<Option<String>>,
    /// Replaces the reminder policy; omitted fields take their defaults.
    pub reminders: Option<ReminderSettings>,
    /// Replaces the branding; omitted fields are cleared.
    pub branding: Option<Branding>,
}

/// The account's look on the hosted pages (popup, marketplace, result pages).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// The name consumers see (default: the account's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Shown at the top of every page; at most 32 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Logo>,
    /// Buttons and links, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    /// Where "Get help" sends a consumer (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
}

/// A brand logo is on every page: kept small.
const BRAND_LOGO_MAX_BYTES: usize = 32 * 1024;

impl Branding {
    pub fn validate(&self) -> Checked {
        if let Some(name) = &self.display_name {
            required_text("branding.display_name", name, 100)?;
        }
        if let Some(logo) = &self.logo {
            logo.validate("branding.logo", BRAND_LOGO_MAX_BYTES)?;
        }
        if let Some(color) = &self.primary_color {
            let hex = color.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(FieldError::new(
                    "branding.primary_color",
                    "must be a colour like #1f6feb",
                ));
            }
        }
        if let Some(url) = &self.support_url {
            validate_public_url("branding.support_url", url)?;
        }
        Ok(())
    }
}

/// `POST /v1/account/jwt-secret` (workspace tokens, HS256) and
/// `POST /v1/account/webhook-secret` (webhook signatures): a new key, shown once.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SigningSecret {
    pub secret: String,
}

/// What an API key may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    /// Everything the account can do.
    Full,
    /// What a vendor's web tier needs to let its users connect: read the catalog, create
    /// and update consumers, create activation links, read connections' status. Never
    /// credentials, the proxy, installs, deletes or the account's settings and keys.
    Connect,
}

impl KeyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Full => "full",
            KeyScope::Connect => "connect",
        }
    }
}

fn full_scope() -> Vec<KeyScope> {
    vec![KeyScope::Full]
}

/// How often a key's `last_used_at` is written at most: a request is not a write.
pub const KEY_USE_RECORD_SECONDS: i64 = 5 * 60;

/// An API key as stored: only its SHA-256. The key itself is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Public identifier, safe to list and log (`key_…`).
    pub id: String,
    pub account_id: AccountId,
    pub hash: String,
    pub label: Option<String>,
    /// Keys made before scopes existed can do everything.
    #[serde(default = "full_scope")]
    pub scopes: Vec<KeyScope>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Recorded at most every [`KEY_USE_RECORD_SECONDS`].
    #[serde(default)]
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

impl ApiKey {
    pub fn validate(&self) -> Checked {
        if let Some(label) = &self.label {
            optional_text("label", label, 200)?;
        }
        if self.scopes.is_empty() {
            return Err(FieldError::new("scopes", "must name at least one scope"));
        }
        Ok(())
    }

    /// Whether the key works at `now` (revoked keys are deleted, so not found at all).
    pub fn live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|e| e > now)
    }

    /// Whether the key may do what needs `scope`.
    pub fn allows(&self, scope: KeyScope) -> bool {
        self.scopes.contains(&KeyScope::Full) || self.scopes.contains(&scope)
    }

    /// Whether this use at `now` should be written down.
    pub fn use_worth_recording(&self, now: i64) -> bool {
        self.last_used_at
            .is_none_or(|t| now - t >= KEY_USE_RECORD_SECONDS)
    }
}

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for (shown in listings), at most 200 characters.
    pub label: Option<String>,
    /// `["full"]` (default) or `["connect"]`.
    pub scopes: Option<Vec<KeyScope>>,
    /// An RFC 3339 time in the future after which the key stops working; default never.
    pub expires_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_validates_and_normalises_origins_without_touching_the_original() {
        let account = Account::new("acc_1".into(), "Acme".into(), 10);
        let patch: AccountPatch = serde_json::from_value(serde_json::json!({
            "allowed_redirect_origins": ["https://App.Acme.example"],
            "redirect_url": "https://app.acme.example/integrations"
        }))
        .unwrap();
        let next = account.patched(patch, 20).unwrap();
        assert_eq!(next.allowed_redirect_origins, ["https://app.acme.example"]);
        assert_eq!(next.updated_at, 20);

        let bad: AccountPatch =
            serde_json::from_value(serde_json::json!({"webhook_url": "http://evil.example/"}))
                .unwrap();
        assert_eq!(account.patched(bad, 30).unwrap_err().field, "webhook_url");

        let clear: AccountPatch =
            serde_json::from_value(serde_json::json!({"redirect_url": null})).unwrap();
        assert_eq!(next.patched(clear, 40).unwrap().redirect_url, None);
    }
}
