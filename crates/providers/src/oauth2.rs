//! OAuth 2.0 against real providers and their quirks: token endpoint verb GET or POST,
//! client authentication in a Basic header or the body, extra token parameters, JSON or
//! form-encoded token responses, `expires_in` as a number, a string, or absent.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use url::Url;

use crate::template::{fill, fill_url};
use latchkey_domain::Credentials;
use latchkey_domain::FlowError;
use latchkey_domain::Secret;
use latchkey_domain::auth::{ClientCredentials, OAuth2};
use latchkey_domain::{Capture, CaptureSource, ClientAuth, HttpVerb, ParameterSpec};

/// What a token endpoint returned.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
    pub expires_at: Option<i64>,
    /// The response's other fields, for captures (`instance_url`, …). Token fields are
    /// never kept here.
    pub extra: BTreeMap<String, String>,
}

impl TokenSet {
    /// The credentials to store; `own_client` is the consumer's own client id and secret
    /// when the token came from it rather than the account's app.
    /// The credentials after refreshing `previous`: a rotated refresh token replaces the
    /// old one; without one, the old one stays valid (RFC 6749 §6), as do the old token
    /// type and scope when the answer leaves them out.
    pub fn renewing(self, previous: &Credentials) -> Credentials {
        let (refresh_token, token_type, scope) = match previous {
            Credentials::Oauth2 {
                refresh_token,
                token_type,
                scope,
                ..
            } => (refresh_token.clone(), token_type.clone(), scope.clone()),
            _ => (None, None, None),
        };
        Credentials::Oauth2 {
            access_token: self.access_token,
            refresh_token: self.refresh_token.or(refresh_token),
            token_type: self.token_type.or(token_type),
            scope: self.scope.or(scope),
            expires_at: self.expires_at,
            client_id: None,
            client_secret: None,
        }
    }

    pub fn into_credentials(self, own_client: Option<(String, Option<Secret>)>) -> Credentials {
        let (client_id, client_secret) = own_client.map_or((None, None), |(id, s)| (Some(id), s));
        Credentials::Oauth2 {
            access_token: self.access_token,
            refresh_token: self.refresh_token,
            token_type: self.token_type,
            scope: self.scope,
            expires_at: self.expires_at,
            client_id,
            client_secret,
        }
    }
}

/// Copies the values an integration captures (from the token response or the callback
/// query) into the connection's parameters; each must still pass its parameter's rules.
pub fn capture(
    captures: &[Capture],
    token_fields: &BTreeMap<String, String>,
    callback_query: &BTreeMap<String, String>,
    specs: &[ParameterSpec],
    parameters: &mut BTreeMap<String, String>,
) -> Result<(), FlowError> {
    for c in captures {
        let source = match c.source {
            CaptureSource::TokenResponse => token_fields,
            CaptureSource::CallbackQuery => callback_query,
        };
        let Some(raw) = source.get(&c.field) else {
            continue;
        };
        let value = match &c.pattern {
            Some(p) => regex::Regex::new(p).ok().and_then(|re| {
                re.captures(raw)
                    .and_then(|m| m.get(1))
                    .map(|m| m.as_str().to_owned())
            }),
            None => Some(raw.clone()),
        };
        let spec = specs.iter().find(|s| s.name == c.parameter);
        match (value, spec) {
            (Some(v), Some(spec)) if spec.accepts(&v) && !v.chars().any(char::is_control) => {
                parameters.insert(c.parameter.clone(), v);
            }
            _ => return Err(FlowError::TokenExchange("unexpected_captured_value")),
        }
    }
    Ok(())
}

/// The token endpoint as an integration describes it.
pub struct TokenEndpoint<'a> {
    pub url: &'a str,
    pub method: HttpVerb,
    pub client_auth: ClientAuth,
    pub extra_params: &'a BTreeMap<String, String>,
}

impl<'a> From<&'a OAuth2> for TokenEndpoint<'a> {
    fn from(m: &'a OAuth2) -> Self {
        Self {
            url: &m.token_url,
            method: m.token_method,
            client_auth: m.client_auth,
            extra_params: &m.token_params,
        }
    }
}

impl<'a> From<&'a ClientCredentials> for TokenEndpoint<'a> {
    fn from(m: &'a ClientCredentials) -> Self {
        Self {
            url: &m.token_url,
            method: m.token_method,
            client_auth: m.client_auth,
            extra_params: &m.token_params,
        }
    }
}

pub struct Client<'a> {
    pub id: &'a str,
    pub secret: Option<&'a Secret>,
}

/// The authorization request URL (RFC 6749 §4.1.1 + PKCE S256).
#[allow(clippy::too_many_arguments)]
pub fn authorization_url(
    template: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    scope_separator: &str,
    state: &str,
    code_challenge: Option<&str>,
    extra: &BTreeMap<String, String>,
    parameters: &BTreeMap<String, String>,
    allow_loopback: bool,
) -> Result<Url, FlowError> {
    let mut url = fill_url(template, parameters, allow_loopback)?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        if !scopes.is_empty() {
            q.append_pair("scope", &scopes.join(scope_separator));
        }
        if let Some(challenge) = code_challenge {
            q.append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
        for (k, v) in extra {
            q.append_pair(k, &fill(v, parameters)?);
        }
    }
    Ok(url)
}

/// The `Authorization` value for `client_secret_basic`: RFC 6749 §2.3.1 form-encodes
/// each part before joining them.
pub fn basic_client_auth(client: &Client<'_>) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!(
        "{}:{}",
        enc(client.id),
        enc(client.secret.map_or("", |s| s.expose()))
    );
    format!("Basic {}", STANDARD.encode(pair))
}

/// One token request; `grant` holds the grant's own parameters.
pub async fn request_token(
    http: &reqwest::Client,
    endpoint: &TokenEndpoint<'_>,
    client: &Client<'_>,
    grant: Vec<(&str, String)>,
    parameters: &BTreeMap<String, String>,
    allow_loopback: bool,
    now: i64,
) -> Result<TokenSet, FlowError> {
    let url = fill_url(endpoint.url, parameters, allow_loopback)?;
    let mut form: Vec<(String, String)> =
        grant.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (k, v) in endpoint.extra_params {
        form.push((k.clone(), fill(v, parameters)?));
    }
    let mut request = match endpoint.client_auth {
        ClientAuth::Body => {
            form.push(("client_id".into(), client.id.to_owned()));
            if let Some(secret) = client.secret {
                form.push(("client_secret".into(), secret.expose().to_owned()));
            }
            None
        }
        ClientAuth::Basic => Some(basic_client_auth(client)),
    }
    .map_or_else(
        || prepare(http, endpoint.method, url.clone(), &form),
        |auth| prepare(http, endpoint.method, url.clone(), &form).header("authorization", auth),
    );
    request = request
        .header("accept", "application/json")
        .timeout(Duration::from_secs(15));
    let response = request
        .send()
        .await
        .map_err(|_| FlowError::TokenExchange("unreachable"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = response
        .bytes()
        .await
        .map_err(|_| FlowError::TokenExchange("unreachable"))?;
    parse_token_response(status.as_u16(), &content_type, &body, now)
}

fn prepare(
    http: &reqwest::Client,
    method: HttpVerb,
    mut url: Url,
    form: &[(String, String)],
) -> reqwest::RequestBuilder {
    match method {
        HttpVerb::Post => http.post(url).form(form),
        HttpVerb::Get => {
            url.query_pairs_mut().extend_pairs(form);
            http.get(url)
        }
    }
}

/// Parses a token endpoint's answer. Error bodies yield the RFC 6749 `error` code only.
pub fn parse_token_response(
    status: u16,
    content_type: &str,
    body: &[u8],
    now: i64,
) -> Result<TokenSet, FlowError> {
    let fields: BTreeMap<String, serde_json::Value> = if content_type.contains("json")
        || body.first() == Some(&b'{')
    {
        serde_json::from_slice(body).map_err(|_| FlowError::TokenExchange("invalid_response"))?
    } else if content_type.contains("x-www-form-urlencoded")
        || content_type.starts_with("text/plain")
    {
        url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect()
    } else if status >= 500 {
        return Err(FlowError::TokenExchange("provider_unavailable"));
    } else {
        return Err(FlowError::TokenExchange("invalid_response"));
    };
    let text = |name: &str| match fields.get(name) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Some(error) = text("error") {
        return Err(FlowError::provider(&error));
    }
    if status >= 500 {
        return Err(FlowError::TokenExchange("provider_unavailable"));
    }
    if !(200..300).contains(&status) {
        return Err(FlowError::TokenExchange("rejected"));
    }
    let access_token = text("access_token").ok_or(FlowError::TokenExchange("no_access_token"))?;
    let expires_in = text("expires_in")
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0);
    const TOKEN_FIELDS: [&str; 6] = [
        "access_token",
        "refresh_token",
        "id_token",
        "token_type",
        "scope",
        "expires_in",
    ];
    let extra = fields
        .keys()
        .filter(|k| !TOKEN_FIELDS.contains(&k.as_str()))
        .filter_map(|k| text(k).map(|v| (k.clone(), v)))
        .collect();
    Ok(TokenSet {
        access_token: Secret::new(access_token),
        refresh_token: text("refresh_token").map(Secret::new),
        token_type: text("token_type"),
        scope: text("scope"),
        expires_at: expires_in.map(|s| now + s as i64),
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_in_every_shape() {
        let json = br#"{"access_token":"a","refresh_token":"r","expires_in":3600,"token_type":"Bearer","instance_url":"https://x.my.salesforce.com"}"#;
        let t = parse_token_response(200, "application/json", json, 100).unwrap();
        assert_eq!((t.access_token.expose(), t.expires_at), ("a", Some(3700)));
        assert_eq!(
            t.extra.get("instance_url").map(String::as_str),
            Some("https://x.my.salesforce.com")
        );
        assert!(!t.extra.contains_key("refresh_token"));

        let string_expiry = br#"{"access_token":"a","expires_in":"120"}"#;
        assert_eq!(
            parse_token_response(200, "application/json", string_expiry, 0)
                .unwrap()
                .expires_at,
            Some(120)
        );
        let no_expiry = br#"{"access_token":"a"}"#;
        assert_eq!(
            parse_token_response(200, "application/json", no_expiry, 0)
                .unwrap()
                .expires_at,
            None
        );

        let form = b"access_token=gho_x&scope=repo&token_type=bearer";
        let t = parse_token_response(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            form,
            0,
        )
        .unwrap();
        assert_eq!(
            (t.access_token.expose(), t.scope.as_deref()),
            ("gho_x", Some("repo"))
        );
    }

    #[test]
    fn failures_keep_only_codes() {
        let denied = br#"{"error":"invalid_grant","error_description":"<b>secret detail</b>"}"#;
        let e = parse_token_response(400, "application/json", denied, 0).unwrap_err();
        assert_eq!(e.code(), "provider_error");
        assert!(!format!("{:?}", e.data()).contains("secret detail"));
        assert_eq!(
            parse_token_response(500, "text/html", b"<html>oops</html>", 0)
                .unwrap_err()
                .code(),
            "token_exchange_failed"
        );
        assert_eq!(
            parse_token_response(200, "text/html", b"<html>login</html>", 0)
                .unwrap_err()
                .data()["reason"],
            "invalid_response"
        );
        assert_eq!(
            FlowError::provider("<script>").data()["provider_error"],
            "invalid_error_code"
        );
    }
}
