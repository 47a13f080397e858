use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::{AccountId, IntegrationId};

use crate::validate::{
    Checked, FieldError, alphanumeric_key, identifier, optional_text, placeholders, required_text,
};
use crate::validate_public_url;
use crate::{AuthMethod, AuthOption, ClientSecret, OAuthClient};

/// A connector: how to authenticate a consumer against one third-party API, and how to
/// call it afterwards. Any string in `auth_options` and `api` may hold `{parameterName}`
/// placeholders filled from the connection's parameters (`https://{subdomain}.zendesk.com`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub id: IntegrationId,
    pub account_id: AccountId,
    /// Unique per account, letters and digits only.
    pub key: String,
    pub name: String,
    /// One line on what the integration connects to (Cyclr's connector `Description`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The vendor's own label for this definition's revision (Cyclr's `Version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub status: IntegrationStatus,
    /// The built-in catalog entry this integration was enabled from, if any.
    #[serde(default)]
    pub builtin: Option<String>,
    /// The fingerprint of the built-in's definition as last written from the catalog: a
    /// definition that still has it is untouched, so `catalog sync` may update it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin_revision: Option<String>,
    pub logo: Option<Logo>,
    /// Where the marketplace files it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
    /// The provider's documentation on connecting (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    pub auth_options: Vec<AuthOption>,
    pub api: ApiDefinition,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    Active,
    Inactive,
}

/// The marketplace's fixed categories.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Crm,
    Accounting,
    Hris,
    Ticketing,
    Ecommerce,
    Marketing,
    Communication,
    FileStorage,
    ProjectManagement,
    DeveloperTools,
    Payments,
    Productivity,
    Analytics,
}

impl Category {
    pub const ALL: [Category; 13] = [
        Category::Crm,
        Category::Accounting,
        Category::Hris,
        Category::Ticketing,
        Category::Ecommerce,
        Category::Marketing,
        Category::Communication,
        Category::FileStorage,
        Category::ProjectManagement,
        Category::DeveloperTools,
        Category::Payments,
        Category::Productivity,
        Category::Analytics,
    ];

    /// The name a URL and the JSON use (`file_storage`).
    pub fn slug(self) -> &'static str {
        match self {
            Category::Crm => "crm",
            Category::Accounting => "accounting",
            Category::Hris => "hris",
            Category::Ticketing => "ticketing",
            Category::Ecommerce => "ecommerce",
            Category::Marketing => "marketing",
            Category::Communication => "communication",
            Category::FileStorage => "file_storage",
            Category::ProjectManagement => "project_management",
            Category::DeveloperTools => "developer_tools",
            Category::Payments => "payments",
            Category::Productivity => "productivity",
            Category::Analytics => "analytics",
        }
    }

    /// What a person reads (`File storage`).
    pub fn title(self) -> &'static str {
        match self {
            Category::Crm => "CRM",
            Category::Accounting => "Accounting",
            Category::Hris => "HR and recruiting",
            Category::Ticketing => "Support and ticketing",
            Category::Ecommerce => "E-commerce",
            Category::Marketing => "Marketing",
            Category::Communication => "Communication",
            Category::FileStorage => "File storage",
            Category::ProjectManagement => "Project management",
            Category::DeveloperTools => "Developer tools",
            Category::Payments => "Payments",
            Category::Productivity => "Productivity",
            Category::Analytics => "Analytics",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Logo {
    pub content_type: String,
    pub data_base64: String,
}

/// A connection parameter the consumer or the vendor supplies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ParameterSpec {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
    /// Secret parameters go to the vault with the credentials, never into the connection.
    #[serde(default)]
    pub secret: bool,
    /// A regular expression the whole value must match.
    pub pattern: Option<String>,
    /// One sentence on where the consumer finds the value, shown under the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl ParameterSpec {
    /// Whether `value` is acceptable for this parameter (the pattern must match it whole).
    pub fn accepts(&self, value: &str) -> bool {
        match &self.pattern {
            Some(p) => regex::Regex::new(&format!("^(?:{p})$")).is_ok_and(|re| re.is_match(value)),
            None => !value.is_empty(),
        }
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TokenPlacement {
    #[default]
    Header,
    Query,
}

fn authorization() -> String {
    "Authorization".into()
}

fn bearer() -> String {
    "Bearer {token}".into()
}

/// How to call the third-party API with a connection's credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiDefinition {
    pub base_url: String,
    #[serde(default)]
    pub token_placement: TokenPlacement,
    /// Header or query parameter that carries the token.
    #[serde(default = "authorization")]
    pub token_param_name: String,
    /// The carried value; must contain `{token}`.
    #[serde(default = "bearer")]
    pub value_template: String,
    /// Query parameters added to every call.
    #[serde(default)]
    pub request_params: BTreeMap<String, String>,
    /// A path below `base_url` to `GET` with API-key or basic credentials before they are
    /// kept: a 401 or 403 sends the consumer back to the form (Cyclr verifies keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_path: Option<String>,
}

const LOGO_MAX_BYTES: usize = 256 * 1024;
const LOGO_TYPES: [&str; 5] = [
    "image/png",
    "image/svg+xml",
    "image/jpeg",
    "image/webp",
    "image/gif",
];

/// `POST`/`PUT /v1/integrations`: an integration as a client writes it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationInput {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub name: String,
    pub description: Option<String>,
    pub version: Option<String>,
    #[serde(default = "active")]
    pub status: IntegrationStatus,
    pub logo: Option<Logo>,
    #[serde(default)]
    pub categories: Vec<Category>,
    pub docs_url: Option<String>,
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    #[serde(default)]
    pub auth_options: Vec<AuthOption>,
    pub api: ApiDefinition,
}

fn active() -> IntegrationStatus {
    IntegrationStatus::Active
}

impl IntegrationInput {
    /// The integration this input describes; validated, secrets still plain.
    pub fn into_integration(
        self,
        id: IntegrationId,
        account_id: AccountId,
        builtin: Option<String>,
        now: i64,
    ) -> Result<Integration, FieldError> {
        let integration = Integration {
            id,
            account_id,
            key: self.key,
            name: self.name.trim().to_owned(),
            description: self.description.map(|d| d.trim().to_owned()),
            version: self.version,
            status: self.status,
            builtin,
            builtin_revision: None,
            logo: self.logo,
            categories: self.categories,
            docs_url: self.docs_url,
            parameters: self.parameters,
            auth_options: self.auth_options,
            api: self.api,
            created_at: now,
            updated_at: now,
        };
        integration.validate()?;
        for (i, option) in integration.auth_options.iter().enumerate() {
            if let Some(OAuthClient {
                client_secret: Some(ClientSecret::Stored(_)),
                ..
            }) = option.method.client()
            {
                return Err(FieldError::new(
                    format!("auth_options[{i}].client.client_secret"),
                    "must be a string",
                ));
            }
        }
        Ok(integration)
    }
}

impl Integration {
    /// Auth options whose OAuth app is missing, by index: an integration cannot be
    /// active while a consumer could pick one of these.
    pub fn options_missing_client(&self) -> Vec<usize> {
        self.auth_options
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                o.method.needs_app() && o.method.client().is_none_or(|c| c.client_secret.is_none())
            })
            .map(|(i, _)| i)
            .collect()
    }

    pub fn auth_option(&self, key: &str) -> Option<&AuthOption> {
        self.auth_options.iter().find(|o| o.key == key)
    }

    /// Every rule an integration must meet before it is stored.
    pub fn validate(&self) -> Checked {
        alphanumeric_key("key", &self.key)?;
        required_text("name", &self.name, 200)?;
        if let Some(d) = &self.description {
            optional_text("description", d, 1000)?;
        }
        if let Some(v) = &self.version {
            required_text("version", v, 32)?;
            if !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(FieldError::new(
                    "version",
                    "may contain letters, digits, '.', '_' and '-' only",
                ));
            }
        }
        for (i, option) in self.auth_options.iter().enumerate() {
            if let Some(d) = &option.description {
                optional_text(&format!("auth_options[{i}].description"), d, 1000)?;
            }
        }
        if let Some(logo) = &self.logo {
            validate_logo(logo)?;
        }
        if let Some(url) = &self.docs_url {
            optional_text("docs_url", url, 500)?;
            if !url.starts_with("https://") || url::Url::parse(url).is_err() {
                return Err(FieldError::new("docs_url", "must be an absolute https URL"));
            }
        }
        let mut names = BTreeSet::new();
        for (i, p) in self.parameters.iter().enumerate() {
            let field = format!("parameters[{i}]");
            identifier(&format!("{field}.name"), &p.name)?;
            if p.name == "token" || !names.insert(p.name.as_str()) {
                return Err(FieldError::new(
                    format!("{field}.name"),
                    "must be unique and not 'token'",
                ));
            }
            required_text(&format!("{field}.label"), &p.label, 200)?;
            if let Some(help) = &p.help {
                optional_text(&format!("{field}.help"), help, 500)?;
            }
            if let Some(pattern) = &p.pattern {
                optional_text(&format!("{field}.pattern"), pattern, 500)?;
                regex::Regex::new(pattern).map_err(|_| {
                    FieldError::new(
                        format!("{field}.pattern"),
                        "is not a valid regular expression",
                    )
                })?;
            }
        }
        if self.auth_options.is_empty() {
            return Err(FieldError::new(
                "auth_options",
                "needs at least one auth option",
            ));
        }
        let mut keys = BTreeSet::new();
        for (i, option) in self.auth_options.iter().enumerate() {
            let field = format!("auth_options[{i}]");
            alphanumeric_key(&format!("{field}.key"), &option.key)?;
            if !keys.insert(option.key.as_str()) {
                return Err(FieldError::new(
                    format!("{field}.key"),
                    "must be unique within the integration",
                ));
            }
            for (name, url) in option.method.urls() {
                validate_url_template(&format!("{field}.{name}"), url)?;
            }
            if let AuthMethod::Oauth2(crate::auth::OAuth2 { capture, .. }) = &option.method {
                for (j, c) in capture.iter().enumerate() {
                    if !names.contains(c.parameter.as_str()) {
                        return Err(FieldError::new(
                            format!("{field}.capture[{j}].parameter"),
                            "must name a declared parameter",
                        ));
                    }
                    if c.pattern.as_ref().is_some_and(|p| {
                        regex::Regex::new(p).map_or(true, |re| re.captures_len() < 2)
                    }) {
                        return Err(FieldError::new(
                            format!("{field}.capture[{j}].pattern"),
                            "must be a regular expression with one capture group",
                        ));
                    }
                }
            }
        }
        validate_url_template("api.base_url", &self.api.base_url)?;
        header_safe("api.token_param_name", &self.api.token_param_name)?;
        if !placeholders(&self.api.value_template).is_ok_and(|p| p.contains(&"token")) {
            return Err(FieldError::new(
                "api.value_template",
                "must contain {token}",
            ));
        }
        for name in self.api.request_params.keys() {
            header_safe(&format!("api.request_params.{name}"), name)?;
        }
        if let Some(path) = &self.api.verify_path {
            required_text("api.verify_path", path, 500)?;
            if !path.starts_with('/') || path.starts_with("//") {
                return Err(FieldError::new(
                    "api.verify_path",
                    "must be a path below base_url, starting with one '/'",
                ));
            }
        }
        self.validate_placeholders(&names)
    }

    /// Every `{placeholder}` in `auth_options` and `api` must name a declared parameter
    /// (`{token}` is also allowed in `api.value_template`).
    fn validate_placeholders(&self, declared: &BTreeSet<&str>) -> Checked {
        let options = serde_json::to_value(&self.auth_options).expect("integrations serialize");
        walk_strings("auth_options", &options, &mut |field, text| {
            check_placeholders(field, text, declared)
        })?;
        let api = serde_json::to_value(&self.api).expect("integrations serialize");
        walk_strings("api", &api, &mut |field, text| {
            if field == "api.value_template" {
                let mut with_token = declared.clone();
                with_token.insert("token");
                check_placeholders(field, text, &with_token)
            } else {
                check_placeholders(field, text, declared)
            }
        })
    }
}

fn check_placeholders(field: &str, text: &str, declared: &BTreeSet<&str>) -> Checked {
    let names = placeholders(text).map_err(|why| FieldError::new(field, why))?;
    match names.iter().find(|n| !declared.contains(*n)) {
        Some(unknown) => Err(FieldError::new(
            field,
            format!("placeholder {{{unknown}}} names no declared parameter"),
        )),
        None => Ok(()),
    }
}

/// Calls `f(path, text)` for every string in a JSON value, skipping vault references.
fn walk_strings(
    path: &str,
    value: &serde_json::Value,
    f: &mut impl FnMut(&str, &str) -> Checked,
) -> Checked {
    match value {
        serde_json::Value::String(s) => f(path, s),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| walk_strings(&format!("{path}[{i}]"), v, f)),
        serde_json::Value::Object(map) => map
            .iter()
            // Free text, not templates.
            .filter(|(k, _)| !matches!(k.as_str(), "client_secret" | "pattern" | "description"))
            .try_for_each(|(k, v)| walk_strings(&format!("{path}.{k}"), v, f)),
        _ => Ok(()),
    }
}

/// A URL that may hold placeholders. Placeholders may fill path, query and the leftmost
/// host labels, but the registrable end of the host must be literal, so a parameter can
/// never send a request to a host the integration did not declare.
fn validate_url_template(field: &str, template: &str) -> Checked {
    let after_scheme = template
        .split_once("://")
        .map(|(_, rest)| rest)
        .ok_or_else(|| FieldError::new(field, "must be an absolute https URL"))?;
    let host_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let host = &after_scheme[..host_end];
    if let Some(last) = host.rfind('}') {
        let literal = &host[last + 1..];
        if !literal.starts_with('.') || literal.matches('.').count() < 2 {
            return Err(FieldError::new(
                field,
                "placeholders may only fill leading host labels (the domain must be literal)",
            ));
        }
    }
    // Substitute a harmless value and check the result as a real URL.
    let mut concrete = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        concrete.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or(rest.len() - 1);
        concrete.push('x');
        rest = &rest[close + 1..];
    }
    concrete.push_str(rest);
    validate_public_url(field, &concrete).map(|_| ())
}

/// HTTP header / query names: visible ASCII token characters only (no CR/LF, no spaces).
fn header_safe(field: &str, name: &str) -> Checked {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !ok {
        return Err(FieldError::new(
            field,
            "must be a header/parameter name (letters, digits, -_.)",
        ));
    }
    Ok(())
}

fn validate_logo(logo: &Logo) -> Checked {
    logo.validate("logo", LOGO_MAX_BYTES)
}

impl Logo {
    /// A supported image type and 1 byte to `max` bytes of base64 data.
    pub(crate) fn validate(&self, field: &str, max: usize) -> Checked {
        if !LOGO_TYPES.contains(&self.content_type.as_str()) {
            return Err(FieldError::new(
                format!("{field}.content_type"),
                format!("must be one of {}", LOGO_TYPES.join(", ")),
            ));
        }
        let bytes = STANDARD
            .decode(&self.data_base64)
            .map_err(|_| FieldError::new(format!("{field}.data_base64"), "must be base64"))?;
        if bytes.is_empty() || bytes.len() > max {
            return Err(FieldError::new(
                format!("{field}.data_base64"),
                format!("must hold 1 byte to {} KiB", max / 1024),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn zendesk() -> serde_json::Value {
        json!({
            "id": "int_1", "account_id": "acc_1", "key": "zendesk", "name": "Zendesk",
            "status": "active", "logo": null, "created_at": 0, "updated_at": 0,
            "parameters": [{"name": "subdomain", "label": "Subdomain", "required": true, "pattern": "[a-z0-9-]{1,63}"}],
            "auth_options": [{
                "key": "oauth", "type": "oauth2",
                "authorization_url": "https://{subdomain}.zendesk.com/oauth/authorizations/new",
                "token_url": "https://{subdomain}.zendesk.com/oauth/tokens",
                "scopes": ["read", "write"]
            }],
            "api": {"base_url": "https://{subdomain}.zendesk.com/api/v2"}
        })
    }

    fn parse(v: serde_json::Value) -> Integration {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_placeholder_integration_validates_with_defaults() {
        let i = parse(zendesk());
        i.validate().unwrap();
        assert_eq!(i.api.value_template, "Bearer {token}");
        let AuthMethod::Oauth2(m) = &i.auth_options[0].method else {
            panic!()
        };
        assert!(m.pkce);
        assert_eq!(m.token_method, crate::HttpVerb::Post);
        assert!(i.parameters[0].accepts("acme"));
        assert!(!i.parameters[0].accepts("acme.evil.example/"));
    }

    #[test]
    fn undeclared_placeholders_are_named() {
        let mut v = zendesk();
        v["auth_options"][0]["token_url"] = json!("https://{tenant}.zendesk.com/oauth/tokens");
        let err = parse(v).validate().unwrap_err();
        assert_eq!(err.field, "auth_options[0].token_url");
        assert!(err.message.contains("{tenant}"), "{}", err.message);

        let mut v = zendesk();
        v["api"]["request_params"] = json!({"locale": "{lang}"});
        assert_eq!(
            parse(v).validate().unwrap_err().field,
            "api.request_params.locale"
        );
    }

    #[test]
    fn placeholders_cannot_choose_the_host() {
        for base in [
            "https://{subdomain}/api",
            "https://api.{subdomain}",
            "https://{subdomain}.com/x",
            "http://{subdomain}.example.com",
        ] {
            let mut v = zendesk();
            v["api"]["base_url"] = json!(base);
            assert_eq!(
                parse(v).validate().unwrap_err().field,
                "api.base_url",
                "{base}"
            );
        }
    }

    #[test]
    fn structural_rules() {
        let mut v = zendesk();
        v["key"] = json!("zen-desk");
        assert_eq!(parse(v).validate().unwrap_err().field, "key");
        let mut v = zendesk();
        v["api"]["value_template"] = json!("Bearer");
        assert_eq!(parse(v).validate().unwrap_err().field, "api.value_template");
        let mut v = zendesk();
        v["api"]["token_param_name"] = json!("X-Key\r\nInjected: 1");
        assert_eq!(
            parse(v).validate().unwrap_err().field,
            "api.token_param_name"
        );
        let mut v = zendesk();
        v["auth_options"] = json!([]);
        assert_eq!(parse(v).validate().unwrap_err().field, "auth_options");
        let mut v = zendesk();
        v["parameters"][0]["pattern"] = json!("([a-z");
        assert_eq!(
            parse(v).validate().unwrap_err().field,
            "parameters[0].pattern"
        );
        let mut v = zendesk();
        v["logo"] = json!({"content_type": "text/html", "data_base64": "PGI+"});
        assert_eq!(parse(v).validate().unwrap_err().field, "logo.content_type");
    }
}
