//! Calls to the third-party API with a connection's credentials, placed the way the
//! integration's API definition says (header or query, name, value template), with its
//! request parameters added.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use url::Url;

use crate::grants::app_client;
use latchkey_core::App;
use latchkey_core::ConnectionError;
use latchkey_domain::Credentials;
use latchkey_domain::Secret;
use latchkey_domain::deadline::budget;
use latchkey_domain::{AuthMethod, Connection, FieldError, Integration, TokenPlacement};
use latchkey_providers::oauth1;
use latchkey_providers::template::{fill, fill_url};

/// How long the third-party API may take (less when the invocation's deadline is nearer).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(25);

/// A request to forward, already stripped of the caller's own credentials.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub method: reqwest::Method,
    /// Path below the integration's `base_url`.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Outbound {
    /// A `GET` of `path` asking for JSON: what verifying credentials sends.
    pub fn get(path: &str) -> Self {
        Self {
            method: reqwest::Method::GET,
            path: path.to_owned(),
            query: None,
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        }
    }
}

/// The bearer-style secret of the credentials, if they have one.
pub fn access_token(credentials: &Credentials) -> Option<&Secret> {
    match credentials {
        Credentials::Oauth2 { access_token, .. } => Some(access_token),
        Credentials::Token { token, .. } => Some(token),
        Credentials::ApiKey { api_key } => Some(api_key),
        _ => None,
    }
}

/// Whose credentials call: a connection's parameters and auth option, or those of one not
/// stored yet (a key the consumer just typed, verified before it is kept).
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub parameters: &'a BTreeMap<String, String>,
    pub auth_option_key: &'a str,
}

impl<'a> From<&'a Connection> for Caller<'a> {
    fn from(c: &'a Connection) -> Self {
        Self {
            parameters: &c.parameters,
            auth_option_key: &c.auth_option_key,
        }
    }
}

/// Appends `path` to `base`'s path; it may not climb out of it (`..`, `.`, encoded or not,
/// backslashes, control characters).
fn join_below(base: &mut Url, path: &str) -> Result<(), FieldError> {
    let path = path.trim_start_matches('/');
    let climbs = path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    });
    if climbs || path.contains('\\') || path.chars().any(char::is_control) {
        return Err(FieldError::new(
            "path",
            "must stay below the integration's base URL",
        ));
    }
    let joined = format!("{}/{}", base.path().trim_end_matches('/'), path);
    base.set_path(&joined);
    Ok(())
}

/// `base_url` + `path` + the integration's request parameters.
fn target(
    app: &App,
    integration: &Integration,
    connection: Caller<'_>,
    outbound: &Outbound,
) -> Result<Url, FieldError> {
    let mut url = fill_url(
        &integration.api.base_url,
        connection.parameters,
        app.allow_loopback,
    )?;
    join_below(&mut url, &outbound.path)?;
    url.set_query(outbound.query.as_deref().filter(|q| !q.is_empty()));
    if !integration.api.request_params.is_empty() {
        let mut pairs = Vec::with_capacity(integration.api.request_params.len());
        for (k, v) in &integration.api.request_params {
            pairs.push((k.clone(), fill(v, connection.parameters)?));
        }
        url.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(url)
}

/// Sends `outbound` to the integration's API as `connection`.
pub async fn send(
    app: &App,
    integration: &Integration,
    connection: Caller<'_>,
    credentials: &Credentials,
    outbound: &Outbound,
) -> Result<reqwest::Response, ConnectionError> {
    let invalid = |e: FieldError| ConnectionError::Integration(e.to_string());
    let mut url = target(app, integration, connection, outbound).map_err(invalid)?;
    let api = &integration.api;
    let mut auth_header: Option<(String, String)> = None;
    match credentials {
        // No authentication: only the integration's request parameters go along.
        Credentials::None {} => {}
        Credentials::Basic { username, password } => {
            let pair = format!("{username}:{}", password.expose());
            auth_header = Some((
                "authorization".into(),
                format!("Basic {}", STANDARD.encode(pair)),
            ));
        }
        Credentials::Oauth1 {
            token,
            token_secret,
        } => {
            let option = integration
                .auth_options
                .iter()
                .find(|o| {
                    o.key == connection.auth_option_key && matches!(o.method, AuthMethod::Oauth1(_))
                })
                .ok_or_else(|| ConnectionError::Integration("no OAuth 1.0a option".into()))?;
            let (key, secret) = app_client(app, integration, option)
                .await?
                .ok_or_else(|| ConnectionError::Integration("no OAuth 1.0a app".into()))?;
            let consumer = oauth1::Consumer {
                key: &key,
                secret: secret.as_ref().map_or("", |s| s.expose()),
            };
            let header = oauth1::authorization_header(
                outbound.method.as_str(),
                &url,
                &consumer,
                Some((token.expose(), token_secret.expose())),
                &[],
                app.now(),
            );
            auth_header = Some(("authorization".into(), header));
        }
        other => {
            let token = access_token(other).ok_or_else(|| {
                ConnectionError::Integration("credentials cannot call the API".into())
            })?;
            let mut values = connection.parameters.clone();
            values.insert("token".into(), token.expose().to_owned());
            let value = fill(&api.value_template, &values).map_err(invalid)?;
            match api.token_placement {
                TokenPlacement::Header => {
                    auth_header = Some((api.token_param_name.to_ascii_lowercase(), value));
                }
                TokenPlacement::Query => {
                    url.query_pairs_mut()
                        .append_pair(&api.token_param_name, &value);
                }
            }
        }
    }
    let mut request = app
        .http()
        .request(outbound.method.clone(), url)
        .timeout(budget(UPSTREAM_TIMEOUT));
    for (name, value) in &outbound.headers {
        if auth_header
            .as_ref()
            .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            continue;
        }
        request = request.header(name, value);
    }
    if let Some((name, value)) = auth_header {
        request = request.header(name, value);
    }
    if !outbound.body.is_empty() {
        request = request.body(outbound.body.clone());
    }
    request.send().await.map_err(|e| {
        ConnectionError::Upstream(if e.is_timeout() {
            "upstream_timeout"
        } else {
            "upstream_unreachable"
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// No path a caller sends through the proxy leaves the integration's base URL,
        /// also once the URL is parsed again as the HTTP client and the server will.
        #[test]
        fn a_proxied_path_never_escapes_the_base_url(
            path in prop::collection::vec(
                prop_oneof![
                    Just("..".to_owned()), Just("%2e%2E".to_owned()), Just(".".to_owned()),
                    Just("%2f".to_owned()), Just("\\".to_owned()), "[a-z%./]{0,6}", "\\PC{0,6}",
                ],
                0..6,
            ).prop_map(|parts| parts.join("/")),
        ) {
            let base = Url::parse("https://api.example.com/v2").unwrap();
            let mut url = base.clone();
            if join_below(&mut url, &path).is_ok() {
                let again = Url::parse(url.as_str()).unwrap();
                prop_assert_eq!(again.host_str(), Some("api.example.com"));
                prop_assert!(again.path() == "/v2/" || again.path().starts_with("/v2/"), "{} from {:?}", again, path);
            }
        }
    }
}
