//! `latchkey integrations import --format nango`: maps entries of a user-supplied copy of
//! Nango's `providers.yaml` onto Latchkey integrations. Only what Latchkey can run is
//! mapped; every other entry is skipped with one reason. Nothing of that file ships here.

use std::collections::{BTreeMap, BTreeSet};

use latchkey_domain::{IntegrationId, IntegrationInput};
use serde_json::{Map, Value, json};

/// Why an entry was not imported: a short kind (counted in the summary) and its detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub kind: &'static str,
    pub detail: String,
}

fn skip(kind: &'static str, detail: impl Into<String>) -> Skip {
    Skip {
        kind,
        detail: detail.into(),
    }
}

#[derive(Debug, Default)]
pub struct Mapped {
    pub imported: Vec<IntegrationInput>,
    /// By the entry's key in the file.
    pub skipped: Vec<(String, Skip)>,
}

/// Maps every entry of `yaml` (or only those named in `only`), in file order.
pub fn map(yaml: &str, only: Option<&BTreeSet<String>>) -> Result<Mapped, String> {
    let mut document: yaml_serde::Value =
        yaml_serde::from_str(yaml).map_err(|e| format!("not YAML: {e}"))?;
    document
        .apply_merge()
        .map_err(|e| format!("YAML merge keys: {e}"))?;
    let document: Value =
        serde_json::to_value(&document).map_err(|e| format!("not a providers file: {e}"))?;
    let entries = document
        .as_object()
        .ok_or("not a providers file: the top level must map keys to providers")?;
    if let Some(only) = only
        && let Some(unknown) = only.iter().find(|k| !entries.contains_key(*k))
    {
        return Err(format!("--only: no entry {unknown} in the file"));
    }
    let mut mapped = Mapped::default();
    let mut keys = BTreeSet::new();
    for (name, entry) in entries {
        if only.is_some_and(|only| !only.contains(name)) {
            continue;
        }
        let result = resolve_alias(entries, entry)
            .and_then(|entry| integration(name, &entry))
            .and_then(|input| {
                if keys.insert(input.key.clone()) {
                    Ok(input)
                } else {
                    Err(skip(
                        "key clash",
                        format!("another entry is also {}", input.key),
                    ))
                }
            });
        match result {
            Ok(input) => mapped.imported.push(input),
            Err(why) => mapped.skipped.push((name.clone(), why)),
        }
    }
    Ok(mapped)
}

/// An `alias: other` entry is `other` with the alias's own fields on top.
fn resolve_alias(entries: &Map<String, Value>, entry: &Value) -> Result<Value, Skip> {
    let Some(target) = entry.get("alias").and_then(Value::as_str) else {
        return Ok(entry.clone());
    };
    let mut base = entries
        .get(target)
        .filter(|b| b.get("alias").is_none())
        .cloned()
        .ok_or_else(|| {
            skip(
                "alias",
                format!("alias of {target}, which is not in the file"),
            )
        })?;
    merge(&mut base, entry);
    base.as_object_mut().map(|o| o.remove("alias"));
    Ok(base)
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (k, v) in over {
                merge(base.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// Fields whose presence means the entry needs something Latchkey does not do.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("post_connection_script", "script"),
    ("credentials_verification_script", "script"),
    ("pre_connection_deletion_script", "script"),
    ("require_client_certificate", "client certificate"),
    (
        "authorization_code_param_in_callback",
        "non-standard callback",
    ),
    ("authorization_url_replacements", "non-standard callback"),
    ("authorization_url_fragment", "non-standard callback"),
    ("refresh_url", "separate refresh URL"),
];

fn str_of<'a>(entry: &'a Value, field: &str) -> Option<&'a str> {
    entry.get(field).and_then(Value::as_str)
}

/// The strings of a list field (`default_scopes`, `categories`, …); absent: none.
fn strs<'a>(entry: &'a Value, field: &str) -> impl Iterator<Item = &'a str> {
    entry
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn integration(name: &str, entry: &Value) -> Result<IntegrationInput, Skip> {
    let mode = str_of(entry, "auth_mode").unwrap_or("");
    if !matches!(
        mode,
        "OAUTH2" | "OAUTH2_CC" | "API_KEY" | "BASIC" | "OAUTH1"
    ) {
        return Err(skip("auth mode", format!("auth mode {mode}")));
    }
    for (field, kind) in UNSUPPORTED {
        if entry
            .get(*field)
            .is_some_and(|v| !v.is_null() && v != false)
        {
            return Err(skip(kind, *field));
        }
    }
    if str_of(entry, "body_format").is_some_and(|f| f != "form") {
        return Err(skip("token request format", "body_format"));
    }
    let key: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    let key = key.to_ascii_lowercase();
    let mut templates = Templates::default();
    let parameters = parameters(entry, &mut templates)?;
    let option = auth_option(mode, entry, &mut templates)?;
    let api = api(mode, entry, &mut templates)?;
    if let Some(unknown) = templates.used.difference(&templates.declared).next() {
        return Err(skip(
            "undeclared parameter",
            format!("${{connectionConfig.{unknown}}} is not in connection_config"),
        ));
    }
    let needs_app = matches!(mode, "OAUTH2" | "OAUTH1");
    let status = if needs_app { "inactive" } else { "active" };
    let docs = str_of(entry, "docs").filter(|d| d.starts_with("https://"));
    let input = json!({
        "key": key,
        "name": str_of(entry, "display_name").unwrap_or(name),
        "status": status,
        "categories": categories(entry),
        "docs_url": docs,
        "parameters": parameters,
        "auth_options": [option],
        "api": api,
    });
    let input: IntegrationInput =
        serde_json::from_value(input).map_err(|e| skip("invalid", format!("does not map: {e}")))?;
    // The domain's own rules (https, placeholders only in leading host labels, …).
    input
        .clone()
        .into_integration(
            IntegrationId::from("int_import"),
            "acc_import".into(),
            None,
            0,
        )
        .map_err(|e| skip("invalid", e.to_string()))?;
    Ok(input)
}

/// Nango's categories onto the marketplace's fixed list (others are dropped).
fn categories(entry: &Value) -> Vec<&'static str> {
    let mut out = BTreeSet::new();
    for c in strs(entry, "categories") {
        let ours = match c {
            "crm" => "crm",
            "accounting" | "invoicing" | "erp" => "accounting",
            "hr" | "ats" => "hris",
            "ticketing" | "support" => "ticketing",
            "e-commerce" => "ecommerce",
            "marketing" | "social" | "surveys" => "marketing",
            "communication" | "video" => "communication",
            "storage" | "knowledge-base" => "file_storage",
            "productivity" | "design" | "legal" | "cms" => "productivity",
            "dev-tools" => "developer_tools",
            "payment" | "banking" => "payments",
            "analytics" => "analytics",
            _ => continue,
        };
        out.insert(ours);
    }
    out.into_iter().collect()
}

/// The `${…}` templates of an entry, rewritten to Latchkey's `{…}` placeholders.
#[derive(Default)]
struct Templates {
    declared: BTreeSet<String>,
    used: BTreeSet<String>,
}

/// A connection-config name as a placeholder identifier (`api-domain` → `api_domain`).
fn identifier(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert(0, 'p');
    }
    id
}

impl Templates {
    /// `text` with `${connectionConfig.x}` as `{x}` and `token` (`${apiKey}`,
    /// `${accessToken}`) as `{token}` where allowed.
    fn rewrite(&mut self, text: &str, token: bool) -> Result<String, Skip> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| skip("template", format!("unclosed ${{ in {text}")))?;
            let expression = after[..end].trim();
            if expression.contains("||") {
                return Err(skip("alternatives (||)", expression.to_owned()));
            }
            match expression.strip_prefix("connectionConfig.") {
                Some(name) => {
                    let id = identifier(name);
                    self.used.insert(id.clone());
                    out.push('{');
                    out.push_str(&id);
                    out.push('}');
                }
                None if token && matches!(expression, "apiKey" | "accessToken") => {
                    out.push_str("{token}");
                }
                None => return Err(skip("template", format!("${{{expression}}}"))),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn map(&mut self, entry: &Value, field: &str) -> Result<BTreeMap<String, String>, Skip> {
        let mut out = BTreeMap::new();
        if let Some(map) = entry.get(field).and_then(Value::as_object) {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.insert(k.clone(), self.rewrite(&text, false)?);
            }
        }
        Ok(out)
    }
}

fn parameters(entry: &Value, templates: &mut Templates) -> Result<Vec<Value>, Skip> {
    let mut out = Vec::new();
    if let Some(config) = entry.get("connection_config").and_then(Value::as_object) {
        let mut fields: Vec<(&String, &Value)> = config.iter().collect();
        fields.sort_by_key(|(_, spec)| spec.get("order").and_then(Value::as_i64).unwrap_or(0));
        for (name, spec) in fields {
            let id = identifier(name);
            templates.declared.insert(id.clone());
            out.push(json!({
                "name": id,
                "label": str_of(spec, "title").unwrap_or(name),
                "required": !spec.get("optional").and_then(Value::as_bool).unwrap_or(false),
                "pattern": str_of(spec, "pattern"),
                "help": str_of(spec, "description"),
            }));
        }
    }
    // Values the token response carries are captured into parameters of their own.
    for field in metadata(entry) {
        let id = identifier(&field);
        if templates.declared.insert(id.clone()) {
            out.push(json!({"name": id, "label": field, "required": false}));
        }
    }
    Ok(out)
}

fn metadata(entry: &Value) -> Vec<String> {
    strs(entry, "token_response_metadata")
        .filter(|f| !f.contains('.'))
        .map(str::to_owned)
        .collect()
}

fn token_url(entry: &Value, templates: &mut Templates) -> Result<String, Skip> {
    match entry.get("token_url") {
        Some(Value::String(url)) => templates.rewrite(url, false),
        Some(_) => Err(skip("token URL per auth mode", "token_url")),
        None => Err(skip("invalid", "no token_url")),
    }
}

fn client_auth(entry: &Value) -> Result<&'static str, Skip> {
    match str_of(entry, "token_request_auth_method") {
        Some("basic") => Ok("basic"),
        Some(other) => Err(skip("token auth", other.to_owned())),
        // Nango's default: the client's id and secret in the form body.
        None if str_of(entry, "authorization_method") == Some("header") => Ok("basic"),
        None => Ok("body"),
    }
}

fn scopes(entry: &Value) -> Vec<String> {
    strs(entry, "default_scopes").map(str::to_owned).collect()
}

fn auth_option(mode: &str, entry: &Value, templates: &mut Templates) -> Result<Value, Skip> {
    let mut token_params = templates.map(entry, "token_params")?;
    // Latchkey sends the grant type itself.
    token_params.remove("grant_type");
    let separator = str_of(entry, "scope_separator").unwrap_or(" ");
    Ok(match mode {
        "OAUTH2" => {
            let authorization_url = str_of(entry, "authorization_url")
                .ok_or_else(|| skip("invalid", "no authorization_url"))?;
            let capture: Vec<Value> = metadata(entry)
                .into_iter()
                .map(|field| {
                    json!({"parameter": identifier(&field), "source": "token_response", "field": field})
                })
                .collect();
            json!({
                "key": "oauth", "label": "OAuth 2.0", "type": "oauth2",
                "authorization_url": templates.rewrite(authorization_url, false)?,
                "token_url": token_url(entry, templates)?,
                "client_auth": client_auth(entry)?,
                "scopes": scopes(entry),
                "scope_separator": separator,
                "pkce": !entry.get("disable_pkce").and_then(Value::as_bool).unwrap_or(false),
                "authorization_params": templates.map(entry, "authorization_params")?,
                "token_params": token_params,
                "capture": capture,
            })
        }
        "OAUTH2_CC" => json!({
            "key": "app", "label": "Client credentials", "type": "oauth2_client_credentials",
            "token_url": token_url(entry, templates)?,
            "client_auth": client_auth(entry)?,
            "scopes": scopes(entry),
            "scope_separator": separator,
            "token_params": token_params,
        }),
        "API_KEY" => json!({"key": "apikey", "label": "API key", "type": "api_key"}),
        "BASIC" => json!({"key": "basic", "label": "User name and password", "type": "basic"}),
        _ => {
            if str_of(entry, "signature_method").is_some_and(|m| m != "HMAC-SHA1") {
                return Err(skip(
                    "signature",
                    str_of(entry, "signature_method").unwrap_or(""),
                ));
            }
            let url = |field: &str| {
                str_of(entry, field).ok_or_else(|| skip("invalid", format!("no {field}")))
            };
            json!({
                "key": "oauth1", "label": "OAuth 1.0a", "type": "oauth1",
                "request_token_url": templates.rewrite(url("request_url")?, false)?,
                "authorization_url": templates.rewrite(url("authorization_url")?, false)?,
                "access_token_url": token_url(entry, templates)?,
            })
        }
    })
}

/// `proxy`: the base URL, and where the token goes (one header or one query parameter).
fn api(mode: &str, entry: &Value, templates: &mut Templates) -> Result<Value, Skip> {
    let proxy = entry.get("proxy").cloned().unwrap_or(Value::Null);
    let base_url =
        str_of(&proxy, "base_url").ok_or_else(|| skip("no base URL", "no proxy.base_url"))?;
    let mut api = json!({"base_url": templates.rewrite(base_url, false)?});
    let mut carriers = Vec::new();
    for (placement, field) in [("header", "headers"), ("query", "query")] {
        for (name, value) in proxy
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let value = templates.rewrite(value.as_str().unwrap_or_default(), true)?;
            if !value.contains("{token}") {
                return Err(skip("extra header or query", format!("{field}.{name}")));
            }
            carriers.push((placement, name.clone(), value));
        }
    }
    match carriers.as_slice() {
        [] if mode == "API_KEY" => {
            return Err(skip("invalid", "no header or query carries ${apiKey}"));
        }
        [] => {}
        [(placement, name, template)] => {
            api["token_placement"] = json!(placement);
            api["token_param_name"] = json!(name);
            api["value_template"] = json!(template);
        }
        _ => {
            return Err(skip(
                "extra header or query",
                "the token goes to several places",
            ));
        }
    }
    if let Some(verification) = proxy.get("verification")
        && str_of(verification, "method") == Some("GET")
        && verification.get("base_url_override").is_none()
        && let Some(path) = verification
            .get("endpoints")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
            .and_then(Value::as_str)
    {
        api["verify_path"] = json!(templates.rewrite(path, false)?);
    }
    Ok(api)
}
