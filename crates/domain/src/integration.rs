use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::SecretRef;
use crate::validate::{
    Checked, FieldError, alphanumeric_key, identifier, optional_text, placeholders, required_text,
};
use crate::validate_public_url;

/// A connector: how to authenticate a consumer against one third-party API, and how to
/// call it afterwards. Any string in `auth_options` and `api` may hold `{parameterName}`
/// placeholders filled from the connection's parameters (`https://{subdomain}.zendesk.com`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub id: String,
    pub account_id: String,
    /// Unique per account, letters and digits only.
    pub key: String,
    pub name: String,
    pub status: IntegrationStatus,
    /// The built-in catalog entry this integration was enabled from, if any.
    #[serde(default)]
    pub builtin: Option<String>,
    pub logo: Option<Logo>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthMethod {
    /// OAuth 2.0 authorization code (with PKCE S256 unless `pkce` is false).
    Oauth2 {
        authorization_url: String,
        token_url: String,
        #[serde(default)]
        token_method: HttpVerb,
        #[serde(default)]
        client_auth: ClientAuth,
        #[serde(default)]
        scopes: Vec<String>,
        #[serde(default = "space")]
        scope_separator: String,
        #[serde(default = "yes")]
        pkce: bool,
        #[serde(default)]
        authorization_params: BTreeMap<String, String>,
        #[serde(default)]
        token_params: BTreeMap<String, String>,
        revoke_url: Option<String>,
        /// The provider's issuer identifier; when set, an `iss` in the authorization
        /// response must equal it (RFC 9207, mix-up defence).
        #[serde(default)]
        issuer: Option<String>,
        #[serde(default)]
        capture: Vec<Capture>,
        client: Option<OAuthClient>,
    },
    /// OAuth 2.0 client credentials: the integration's app, or the consumer's own
    /// client id and secret entered in the popup when the integration has none.
    Oauth2ClientCredentials {
        token_url: String,
        #[serde(default)]
        token_method: HttpVerb,
        #[serde(default)]
        client_auth: ClientAuth,
        #[serde(default)]
        scopes: Vec<String>,
        #[serde(default = "space")]
        scope_separator: String,
        #[serde(default)]
        token_params: BTreeMap<String, String>,
        client: Option<OAuthClient>,
    },
    /// A key the consumer pastes into the popup.
    ApiKey {},
    /// Username and password.
    Basic {},
    /// A token fetched from an endpoint with a configured verb and parameters (Airkit).
    CustomToken {
        token_url: String,
        #[serde(default)]
        token_method: HttpVerb,
        #[serde(default)]
        token_params: BTreeMap<String, String>,
        #[serde(default = "access_token")]
        token_field: String,
        expires_in_field: Option<String>,
    },
    /// OAuth 1.0a with HMAC-SHA1.
    Oauth1 {
        request_token_url: String,
        authorization_url: String,
        access_token_url: String,
        client: Option<OAuthClient>,
    },
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
            AuthMethod::Oauth2 { capture, .. } => {
                capture.iter().map(|c| c.parameter.clone()).collect()
            }
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
            AuthMethod::ApiKey {} => API_KEY_FIELDS,
            AuthMethod::Basic {} => BASIC_FIELDS,
            AuthMethod::Oauth2ClientCredentials { client: None, .. } => OWN_CLIENT_FIELDS,
            _ => &[],
        }
    }

    pub fn client(&self) -> Option<&OAuthClient> {
        match self {
            AuthMethod::Oauth2 { client, .. }
            | AuthMethod::Oauth2ClientCredentials { client, .. }
            | AuthMethod::Oauth1 { client, .. } => client.as_ref(),
            _ => None,
        }
    }

    pub fn client_mut(&mut self) -> Option<&mut Option<OAuthClient>> {
        match self {
            AuthMethod::Oauth2 { client, .. }
            | AuthMethod::Oauth2ClientCredentials { client, .. }
            | AuthMethod::Oauth1 { client, .. } => Some(client),
            _ => None,
        }
    }

    /// Whether the method needs the account's OAuth app (client credentials may instead
    /// use the consumer's own client, entered in the popup).
    pub fn needs_app(&self) -> bool {
        matches!(self, AuthMethod::Oauth2 { .. } | AuthMethod::Oauth1 { .. })
    }

    /// The URL-valued fields of this method, named as in the JSON.
    fn urls(&self) -> Vec<(&'static str, &str)> {
        match self {
            AuthMethod::Oauth2 {
                authorization_url,
                token_url,
                revoke_url,
                ..
            } => {
                let mut urls = vec![
                    ("authorization_url", authorization_url.as_str()),
                    ("token_url", token_url.as_str()),
                ];
                if let Some(r) = revoke_url {
                    urls.push(("revoke_url", r.as_str()));
                }
                urls
            }
            AuthMethod::Oauth2ClientCredentials { token_url, .. }
            | AuthMethod::CustomToken { token_url, .. } => {
                vec![("token_url", token_url.as_str())]
            }
            AuthMethod::Oauth1 {
                request_token_url,
                authorization_url,
                access_token_url,
                ..
            } => vec![
                ("request_token_url", request_token_url.as_str()),
                ("authorization_url", authorization_url.as_str()),
                ("access_token_url", access_token_url.as_str()),
            ],
            AuthMethod::ApiKey {} | AuthMethod::Basic {} => vec![],
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
    #[serde(default = "active")]
    pub status: IntegrationStatus,
    pub logo: Option<Logo>,
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
        id: String,
        account_id: String,
        builtin: Option<String>,
        now: i64,
    ) -> Result<Integration, FieldError> {
        let integration = Integration {
            id,
            account_id,
            key: self.key,
            name: self.name.trim().to_owned(),
            status: self.status,
            builtin,
            logo: self.logo,
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
        if let Some(logo) = &self.logo {
            validate_logo(logo)?;
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
            if let AuthMethod::Oauth2 { capture, .. } = &option.method {
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
            .filter(|(k, _)| !matches!(k.as_str(), "client_secret" | "pattern"))
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
    if !LOGO_TYPES.contains(&logo.content_type.as_str()) {
        return Err(FieldError::new(
            "logo.content_type",
            format!("must be one of {}", LOGO_TYPES.join(", ")),
        ));
    }
    let bytes = STANDARD
        .decode(&logo.data_base64)
        .map_err(|_| FieldError::new("logo.data_base64", "must be base64"))?;
    if bytes.is_empty() || bytes.len() > LOGO_MAX_BYTES {
        return Err(FieldError::new(
            "logo.data_base64",
            "must hold 1 byte to 256 KiB",
        ));
    }
    Ok(())
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
        let AuthMethod::Oauth2 {
            pkce, token_method, ..
        } = &i.auth_options[0].method
        else {
            panic!()
        };
        assert!(*pkce);
        assert_eq!(*token_method, HttpVerb::Post);
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
