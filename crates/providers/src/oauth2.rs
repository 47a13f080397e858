//! OAuth 2.0 on the `oauth2` crate: the authorization URL with PKCE S256, the code
//! exchange, refresh, client credentials and RFC 7009 revocation. Real providers bend
//! the protocol; their quirks live in one place, [`Wire`], the crate's HTTP client over
//! the app's shared `reqwest` client: a GET token endpoint, a form-encoded answer, any
//! 2xx, `expires_in` as a string, no `token_type`, a body cap and a timeout.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use ::oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use ::oauth2::{
    AccessToken, AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, ExtraTokenFields, HttpRequest, HttpResponse, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, RevocationUrl, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::pkce::Pkce;
use crate::template::{fill, fill_url};
use crate::wire::{ReadError, TOKEN_BODY_LIMIT, TOKEN_TIMEOUT, read_capped};
use latchkey_domain::Credentials;
use latchkey_domain::FlowError;
use latchkey_domain::Secret;
use latchkey_domain::auth::{ClientCredentials, OAuth2};
use latchkey_domain::deadline::budget;
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

/// The grant a token request makes.
pub enum Grant<'a> {
    /// RFC 6749 §4.1.3, with the PKCE verifier when the flow sent a challenge.
    AuthorizationCode {
        code: &'a str,
        redirect_uri: &'a str,
        pkce_verifier: Option<&'a Secret>,
    },
    /// RFC 6749 §6.
    RefreshToken(&'a Secret),
    /// RFC 6749 §4.4; scopes joined with the integration's separator.
    ClientCredentials {
        scopes: &'a [String],
        separator: &'a str,
    },
}

/// The token to revoke (RFC 7009 §2.1 names its type as the hint).
pub enum Revocable<'a> {
    Refresh(&'a Secret),
    Access(&'a Secret),
}

/// The answer's fields beyond RFC 6749 §5.1 (`instance_url`, …), for captures.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct ExtraFields {
    #[serde(flatten)]
    fields: Map<String, Value>,
}

impl ExtraTokenFields for ExtraFields {}

type Tokens = StandardTokenResponse<ExtraFields, BasicTokenType>;

type OAuthClient = ::oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

fn oauth_client(client: &Client<'_>, auth: ClientAuth) -> OAuthClient {
    let oauth = OAuthClient::new(ClientId::new(client.id.to_owned())).set_auth_type(match auth {
        ClientAuth::Body => AuthType::RequestBody,
        ClientAuth::Basic => AuthType::BasicAuth,
    });
    match client.secret {
        Some(secret) => oauth.set_client_secret(ClientSecret::new(secret.expose().to_owned())),
        None => oauth,
    }
}

/// Fills each value's template from the connection's parameters.
fn filled(
    params: &BTreeMap<String, String>,
    values: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, FlowError> {
    params
        .iter()
        .map(|(k, v)| Ok((k.clone(), fill(v, values)?)))
        .collect()
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
    pkce: Option<&Pkce>,
    extra: &BTreeMap<String, String>,
    parameters: &BTreeMap<String, String>,
    allow_loopback: bool,
) -> Result<Url, FlowError> {
    let url = fill_url(template, parameters, allow_loopback)?;
    let extra = filled(extra, parameters)?;
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(FlowError::internal)?;
    let client = Client {
        id: client_id,
        secret: None,
    };
    let oauth = oauth_client(&client, ClientAuth::Body).set_auth_uri(AuthUrl::from_url(url));
    let state = CsrfToken::new(state.to_owned());
    let mut request = oauth
        .authorize_url(|| state)
        .set_redirect_uri(Cow::Owned(redirect));
    if !scopes.is_empty() {
        // One scope value: the crate joins with spaces, some providers want commas.
        request = request.add_scope(Scope::new(scopes.join(scope_separator)));
    }
    if let Some(pkce) = pkce {
        request = request.set_pkce_challenge(pkce.challenge.clone());
    }
    for (k, v) in &extra {
        request = request.add_extra_param(k.as_str(), v.as_str());
    }
    Ok(request.url().0)
}

/// One token request through the crate and [`Wire`].
pub async fn request_token(
    http: &reqwest::Client,
    endpoint: &TokenEndpoint<'_>,
    client: &Client<'_>,
    grant: Grant<'_>,
    parameters: &BTreeMap<String, String>,
    allow_loopback: bool,
    now: i64,
) -> Result<TokenSet, FlowError> {
    let url = fill_url(endpoint.url, parameters, allow_loopback)?;
    let extra = filled(endpoint.extra_params, parameters)?;
    let oauth = oauth_client(client, endpoint.client_auth).set_token_uri(TokenUrl::from_url(url));
    let wire = Wire {
        http,
        verb: endpoint.method,
        plain_http: false,
    };
    let extra = extra.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let answer = match grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            pkce_verifier,
        } => {
            let redirect =
                RedirectUrl::new(redirect_uri.to_owned()).map_err(FlowError::internal)?;
            let mut request = oauth
                .exchange_code(AuthorizationCode::new(code.to_owned()))
                .set_redirect_uri(Cow::Owned(redirect));
            if let Some(v) = pkce_verifier {
                request = request.set_pkce_verifier(PkceCodeVerifier::new(v.expose().to_owned()));
            }
            for (k, v) in extra {
                request = request.add_extra_param(k, v);
            }
            request.request_async(&wire).await
        }
        Grant::RefreshToken(token) => {
            let token = RefreshToken::new(token.expose().to_owned());
            let mut request = oauth.exchange_refresh_token(&token);
            for (k, v) in extra {
                request = request.add_extra_param(k, v);
            }
            request.request_async(&wire).await
        }
        Grant::ClientCredentials { scopes, separator } => {
            let mut request = oauth.exchange_client_credentials();
            if !scopes.is_empty() {
                request = request.add_scope(Scope::new(scopes.join(separator)));
            }
            for (k, v) in extra {
                request = request.add_extra_param(k, v);
            }
            request.request_async(&wire).await
        }
    };
    outcome(answer, now)
}

type Answer = Result<Tokens, RequestTokenError<WireError, BasicErrorResponse>>;

/// The crate's answer in the flow's terms: a provider's error code, or why there was none.
fn outcome(answer: Answer, now: i64) -> Result<TokenSet, FlowError> {
    match answer {
        Ok(tokens) => Ok(token_set(tokens, now)),
        Err(RequestTokenError::ServerResponse(e)) => Err(FlowError::provider(e.error().as_ref())),
        Err(RequestTokenError::Request(e)) => Err(e.into()),
        Err(RequestTokenError::Parse(..) | RequestTokenError::Other(_)) => {
            Err(FlowError::TokenExchange("invalid_response"))
        }
    }
}

fn token_set(tokens: Tokens, now: i64) -> TokenSet {
    let secret = |t: &AccessToken| Secret::new(t.secret().clone());
    let extra = tokens
        .extra_fields()
        .fields
        .iter()
        // An ID token is a credential; it is never a captured parameter.
        .filter(|(k, _)| k.as_str() != "id_token")
        .filter_map(|(k, v)| match v {
            Value::String(s) if !s.is_empty() => Some((k.clone(), s.clone())),
            Value::Number(n) => Some((k.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    TokenSet {
        access_token: secret(tokens.access_token()),
        refresh_token: tokens
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone())),
        token_type: Some(tokens.token_type().as_ref().to_owned()),
        scope: tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
        expires_at: tokens
            .expires_in()
            .and_then(|d| latchkey_domain::expiry_after(now, d.as_secs_f64())),
        extra,
    }
}

/// RFC 7009 revocation with the token endpoint's client authentication; a 2xx is success.
pub async fn revoke(
    http: &reqwest::Client,
    revoke_url: &str,
    client_auth: ClientAuth,
    client: &Client<'_>,
    token: Revocable<'_>,
    parameters: &BTreeMap<String, String>,
    allow_loopback: bool,
) -> Result<(), FlowError> {
    let mut url = fill_url(revoke_url, parameters, allow_loopback)?;
    // The crate insists on https here (RFC 7009 §2); plain http passes validation only
    // for loopback hosts in local mode, so the wire puts it back for exactly those.
    let plain_http = url.scheme() == "http";
    if plain_http {
        url.set_scheme("https")
            .map_err(|()| FlowError::internal("revocation URL"))?;
    }
    let oauth = oauth_client(client, client_auth).set_revocation_url(RevocationUrl::from_url(url));
    let token = match token {
        Revocable::Refresh(t) => {
            StandardRevocableToken::RefreshToken(RefreshToken::new(t.expose().to_owned()))
        }
        Revocable::Access(t) => {
            StandardRevocableToken::AccessToken(AccessToken::new(t.expose().to_owned()))
        }
    };
    let wire = Wire {
        http,
        verb: HttpVerb::Post,
        plain_http,
    };
    match oauth
        .revoke_token(token)
        .map_err(FlowError::internal)?
        .request_async(&wire)
        .await
    {
        Ok(()) => Ok(()),
        Err(RequestTokenError::ServerResponse(e)) => Err(FlowError::provider(e.error().as_ref())),
        Err(RequestTokenError::Request(e)) => Err(e.into()),
        Err(_) => Err(FlowError::TokenExchange("invalid_response")),
    }
}

/// The crate's HTTP client: its requests go out through the app's `reqwest` client, and
/// providers' answers come back in the shape RFC 6749 §5 describes.
struct Wire<'a> {
    http: &'a reqwest::Client,
    /// GET endpoints take the crate's form body as the query string.
    verb: HttpVerb,
    /// See [`revoke`].
    plain_http: bool,
}

/// Why the wire gave no answer for the crate to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WireError {
    Read(ReadError),
    /// A 5xx, whatever its body.
    Unavailable,
    /// 408 or 429, whatever its body: try again later.
    Throttled,
    /// Another non-2xx without an OAuth error.
    Rejected,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for WireError {}

impl From<WireError> for FlowError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Read(e) => e.into(),
            WireError::Unavailable => FlowError::TokenExchange("provider_unavailable"),
            WireError::Throttled => FlowError::TokenExchange("throttled"),
            WireError::Rejected => FlowError::TokenExchange("rejected"),
        }
    }
}

impl<'c> AsyncHttpClient<'c> for Wire<'_> {
    type Error = WireError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, WireError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

impl Wire<'_> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, WireError> {
        let unreachable = WireError::Read(ReadError::Unreachable);
        let (mut parts, body) = request.into_parts();
        let mut url = Url::parse(&parts.uri.to_string()).map_err(|_| unreachable)?;
        if self.plain_http && url.scheme() == "https" {
            url.set_scheme("http").map_err(|()| unreachable)?;
        }
        let request = match self.verb {
            HttpVerb::Post => self.http.post(url).body(body),
            HttpVerb::Get => {
                url.query_pairs_mut()
                    .extend_pairs(url::form_urlencoded::parse(&body));
                parts.headers.remove(http::header::CONTENT_TYPE);
                self.http.get(url)
            }
        };
        let response = request
            .headers(parts.headers)
            .timeout(budget(TOKEN_TIMEOUT))
            .send()
            .await
            .map_err(|_| unreachable)?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = read_capped(response, TOKEN_BODY_LIMIT)
            .await
            .map_err(WireError::Read)?;
        normalize(status, &content_type, body)
    }
}

/// A provider's answer as the crate expects it: an OAuth error as a 400 JSON body, a token
/// as a 200 JSON body with `token_type` and a numeric `expires_in`. Answers that are neither
/// pass as they are, 2xx as 200 (revocation answers with an empty 2xx).
fn normalize(status: u16, content_type: &str, body: Vec<u8>) -> Result<HttpResponse, WireError> {
    let fields: Option<Map<String, Value>> =
        if content_type.contains("json") || body.first() == Some(&b'{') {
            serde_json::from_slice(&body).ok()
        } else if content_type.contains("x-www-form-urlencoded")
            || content_type.starts_with("text/plain")
        {
            Some(
                url::form_urlencoded::parse(&body)
                    .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                    .collect(),
            )
        } else {
            None
        };
    let success = (200..300).contains(&status);
    // Overloaded or throttled is temporary whatever the body says (a refresh classes it so).
    match status {
        500.. => return Err(WireError::Unavailable),
        408 | 429 => return Err(WireError::Throttled),
        _ => {}
    }
    let Some(mut fields) = fields else {
        return match status {
            _ if success => respond(200, content_type, body),
            _ => Err(WireError::Rejected),
        };
    };
    // Some providers answer an error with a 200; the error wins.
    if fields
        .get("error")
        .and_then(Value::as_str)
        .is_some_and(|e| !e.is_empty())
    {
        return respond(400, "application/json", json(&fields));
    }
    if !success {
        return Err(WireError::Rejected);
    }
    let expires_in = fields.remove("expires_in").and_then(|v| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    });
    if let Some(seconds) = expires_in.filter(|s| s.is_finite() && *s > 0.0) {
        fields.insert("expires_in".into(), Value::from(seconds as u64));
    }
    if !fields.get("token_type").is_some_and(Value::is_string) {
        fields.insert("token_type".into(), Value::from("bearer"));
    }
    respond(200, "application/json", json(&fields))
}

fn json(fields: &Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(fields).unwrap_or_default()
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Result<HttpResponse, WireError> {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body)
        .map_err(|_| WireError::Read(ReadError::Unreachable))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider's answer through the adapter and the crate, as a refresh would see it.
    fn answer(
        status: u16,
        content_type: &'static str,
        body: &'static [u8],
        now: i64,
    ) -> Result<TokenSet, FlowError> {
        let provider =
            move |_: HttpRequest| async move { normalize(status, content_type, body.to_vec()) };
        let client = Client {
            id: "app",
            secret: None,
        };
        let oauth = oauth_client(&client, ClientAuth::Body)
            .set_token_uri(TokenUrl::new("https://id.example/token".into()).unwrap());
        let refresh = RefreshToken::new("r".into());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = runtime.block_on(
            oauth
                .exchange_refresh_token(&refresh)
                .request_async(&provider),
        );
        outcome(result, now)
    }

    #[test]
    fn token_responses_in_every_shape() {
        let json = br#"{"access_token":"a","refresh_token":"r","expires_in":3600,"token_type":"Bearer","instance_url":"https://x.my.salesforce.com","id_token":"eyJ"}"#;
        let t = answer(200, "application/json", json, 100).unwrap();
        assert_eq!((t.access_token.expose(), t.expires_at), ("a", Some(3700)));
        assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("r"));
        assert_eq!(
            t.extra.get("instance_url").map(String::as_str),
            Some("https://x.my.salesforce.com"),
            "extra fields come through for captures"
        );
        assert!(!t.extra.contains_key("refresh_token") && !t.extra.contains_key("id_token"));

        let string_expiry = br#"{"access_token":"a","expires_in":"120","token_type":"bearer"}"#;
        assert_eq!(
            answer(200, "application/json", string_expiry, 0)
                .unwrap()
                .expires_at,
            Some(120)
        );
        let no_type_no_expiry = br#"{"access_token":"a"}"#;
        let t = answer(201, "application/json; charset=utf-8", no_type_no_expiry, 0).unwrap();
        assert_eq!(
            (t.expires_at, t.token_type.as_deref()),
            (None, Some("bearer"))
        );

        let form = b"access_token=gho_x&scope=repo%2Cuser&token_type=bearer";
        let t = answer(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            form,
            0,
        )
        .unwrap();
        assert_eq!(
            (t.access_token.expose(), t.scope.as_deref()),
            ("gho_x", Some("repo,user"))
        );
    }

    #[test]
    fn failures_keep_only_codes() {
        let denied = br#"{"error":"invalid_grant","error_description":"<b>secret detail</b>"}"#;
        let e = answer(400, "application/json", denied, 0).unwrap_err();
        assert_eq!(
            (e.code(), e.data()["provider_error"].as_str()),
            ("provider_error", Some("invalid_grant"))
        );
        assert!(!format!("{:?}", e.data()).contains("secret detail"));
        let error_in_a_200 = b"error=bad_verification_code&error_description=x";
        assert_eq!(
            answer(200, "application/x-www-form-urlencoded", error_in_a_200, 0)
                .unwrap_err()
                .data()["provider_error"],
            "bad_verification_code"
        );
        let reason = |status, content_type, body| {
            answer(status, content_type, body, 0).unwrap_err().data()["reason"].clone()
        };
        assert_eq!(
            reason(500, "text/html", b"<html>oops</html>"),
            "provider_unavailable"
        );
        assert_eq!(reason(403, "text/html", b"<html>no</html>"), "rejected");
        assert_eq!(
            reason(200, "text/html", b"<html>login</html>"),
            "invalid_response"
        );
        assert_eq!(
            reason(200, "application/json", br#"{"token_type":"bearer"}"#),
            "invalid_response"
        );
        assert_eq!(
            FlowError::provider("<script>").data()["provider_error"],
            "invalid_error_code"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever a token endpoint answers, normalising it never panics, and a token
            /// passed on carries `expires_in` only as a whole number and always a
            /// `token_type`.
            #[test]
            fn any_token_answer_normalises_without_panicking(
                status in 100u16..600,
                content_type in prop::sample::select(vec![
                    "application/json", "application/x-www-form-urlencoded", "text/plain", "text/html", "",
                ]),
                raw in prop::collection::vec(any::<u8>(), 0..200),
                token in "\\PC{0,20}",
                expires in prop_oneof![
                    any::<f64>().prop_map(serde_json::Value::from),
                    any::<i64>().prop_map(serde_json::Value::from),
                    "\\PC{0,12}".prop_map(serde_json::Value::from),
                    Just(serde_json::Value::Null),
                ],
            ) {
                let _ = normalize(status, content_type, raw);
                let body = serde_json::json!({"access_token": token, "expires_in": expires});
                let normalized = normalize(status, "application/json", serde_json::to_vec(&body).unwrap());
                if let Ok(answer) = normalized
                    && answer.status().as_u16() == 200
                {
                    let v: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
                    prop_assert!(v["token_type"].is_string());
                    prop_assert!(v.get("expires_in").is_none_or(|e| e.is_u64()), "{}", v);
                }
            }
        }
    }
}
