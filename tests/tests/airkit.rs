//! Airkit's custom integrations (seed `003_…txt`), each mode run against a loopback
//! provider that refuses anything but the request the seed describes: the access-token
//! verb, token placement, request parameters on every call, refresh of custom-token and
//! client-credentials connections, and RFC 9207's `iss` check.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lambda_http::Body;
use lambda_http::http::{self, StatusCode};
use latchkey_connect::connections;
use latchkey_connect::connections::RunOptions;
use latchkey_domain::Credentials;
use latchkey_store::Connections;
use latchkey_store::testing;
use latchkey_tests::Harness;
use latchkey_tests::loopback::{Loopback, Recorded};
use latchkey_tests::oauth::{body_text, browse, consumer, flow_cookie, link, location, post_form};
use serde_json::{Value, json};
use url::Url;

fn query(target: &str) -> BTreeMap<String, String> {
    Url::parse(&format!("http://x{target}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn integration(h: &Harness, body: Value) -> String {
    let (status, created) = h.send("POST", "/v1/integrations", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn token_of(c: &Credentials) -> String {
    match c {
        Credentials::Oauth2 { access_token, .. } => access_token.expose().to_owned(),
        Credentials::Token { token, .. } => token.expose().to_owned(),
        other => panic!("a token: {other:?}"),
    }
}

/// The `connectionId` the vendor's page receives.
fn connection_id(response: &http::Response<Body>) -> String {
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "{}",
        body_text(response)
    );
    let target = Url::parse(&location(response)).unwrap();
    let q: BTreeMap<_, _> = target.query_pairs().into_owned().collect();
    q.get("connectionId")
        .unwrap_or_else(|| panic!("connected: {target}"))
        .clone()
}

/// An OAuth 2.0 integration on `provider` with the given extra settings.
async fn oauth_integration(h: &Harness, provider: &Loopback, extra: Value) -> String {
    let mut option = json!({
        "key": "oauth", "type": "oauth2",
        "authorization_url": format!("{}/auth", provider.url),
        "token_url": format!("{}/token", provider.url),
        "client": {"client_id": "airkit-app", "client_secret": "airkit-secret"}
    });
    option
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    integration(
        h,
        json!({
            "key": "custom", "name": "Custom",
            "auth_options": [option],
            "api": {"base_url": provider.url}
        }),
    )
    .await
}

/// Opens an activation link for `integration`; returns the `state` sent to the provider
/// and the flow cookie.
async fn to_provider(h: &Harness, integration: &str) -> (String, String) {
    let consumer = consumer(h, Some("https://app.acme.test/done")).await;
    let path = link(
        h,
        &consumer,
        json!({"name": "C", "integration_id": integration}),
    )
    .await;
    let landing = browse(h, &path, None).await;
    assert_eq!(
        landing.status(),
        StatusCode::FOUND,
        "{}",
        body_text(&landing)
    );
    let q = query(
        Url::parse(&location(&landing))
            .unwrap()
            .as_str()
            .split_once("/auth")
            .unwrap()
            .1,
    );
    (q["state"].clone(), flow_cookie(&landing))
}

/// The provider sends the browser to `integration`'s redirect URI with `pairs`.
async fn callback(
    h: &Harness,
    integration: &str,
    pairs: &[(&str, &str)],
    cookie: &str,
) -> http::Response<Body> {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    browse(
        h,
        &format!("oauth/callback/{integration}?{q}"),
        Some(cookie),
    )
    .await
}

/// `client_secret_basic` for airkit-app / airkit-secret.
const APP_BASIC: &str = "Basic YWlya2l0LWFwcDphaXJraXQtc2VjcmV0";

const TOKENS: &str =
    r#"{"access_token":"at-1","refresh_token":"rt-1","expires_in":3600,"token_type":"bearer"}"#;

#[tokio::test]
async fn the_access_token_verb_get_sends_the_code_exchange_as_a_query() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let provider = Loopback::start(|r: Recorded| async move {
        let q = query(&r.target);
        let exchange = r.method == "GET"
            && r.target.starts_with("/token?")
            && r.body.is_empty()
            && q.get("grant_type").map(String::as_str) == Some("authorization_code")
            && q.get("code").map(String::as_str) == Some("the-code")
            && q.contains_key("code_verifier")
            && r.headers.get("authorization").map(String::as_str) == Some(APP_BASIC);
        if exchange {
            (200, TOKENS.to_owned())
        } else {
            (405, r#"{"error":"invalid_request"}"#.to_owned())
        }
    })
    .await;
    let id = oauth_integration(&h, &provider, json!({"token_method": "GET"})).await;
    let (state, cookie) = to_provider(&h, &id).await;
    let done = callback(&h, &id, &[("code", "the-code"), ("state", &state)], &cookie).await;
    let connection = connection_id(&done);
    assert_eq!(token_of(&h.credentials(&connection).await), "at-1");
    assert_eq!(provider.recorded().len(), 1);
}

#[tokio::test]
async fn an_issuer_other_than_the_named_one_or_none_is_refused() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let provider = Loopback::start(|_| async { (200, TOKENS.to_owned()) }).await;
    let id = oauth_integration(
        &h,
        &provider,
        json!({"issuer": "https://id.custom.example"}),
    )
    .await;
    for iss in [Some("https://evil.example"), None] {
        let (state, cookie) = to_provider(&h, &id).await;
        let mut pairs = vec![("code", "c"), ("state", state.as_str())];
        pairs.extend(iss.map(|i| ("iss", i)));
        let refused = callback(&h, &id, &pairs, &cookie).await;
        let target = Url::parse(&location(&refused)).unwrap();
        let q: BTreeMap<_, _> = target.query_pairs().into_owned().collect();
        assert_eq!(
            q.get("error").map(String::as_str),
            Some("issuer_mismatch"),
            "iss {iss:?}: {target}"
        );
    }
    assert!(provider.recorded().is_empty(), "no code was exchanged");
    let (state, cookie) = to_provider(&h, &id).await;
    let pairs = [
        ("code", "c"),
        ("state", state.as_str()),
        ("iss", "https://id.custom.example"),
    ];
    connection_id(&callback(&h, &id, &pairs, &cookie).await);
    assert_eq!(provider.recorded().len(), 1);
}

/// A counter-stamped token per call, so a renewal shows as a new value.
fn counting(
    accept: impl Fn(&Recorded) -> bool + Send + Sync + 'static,
    answer: &'static str,
) -> impl Fn(Recorded) -> std::future::Ready<(u16, String)> + Send + Sync + 'static {
    let calls = Arc::new(AtomicUsize::new(0));
    move |r: Recorded| {
        std::future::ready(if accept(&r) {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            (200, answer.replace("{n}", &n.to_string()))
        } else {
            (405, "{}".to_owned())
        })
    }
}

#[tokio::test]
async fn a_custom_token_by_get_is_fetched_and_renewed_the_same_way() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let provider = Loopback::start(counting(
        |r| {
            let q = query(&r.target);
            r.method == "GET"
                && r.target.starts_with("/session?")
                && q.get("login").map(String::as_str) == Some("ada")
                && q.get("pass").map(String::as_str) == Some("s3cret")
        },
        r#"{"token":"ct-{n}","ttl":600}"#,
    ))
    .await;
    let id = integration(
        &h,
        json!({
            "key": "legacy", "name": "Legacy",
            "parameters": [
                {"name": "user", "label": "User", "required": true},
                {"name": "password", "label": "Password", "required": true, "secret": true}
            ],
            "auth_options": [{"key": "token", "type": "custom_token",
                "token_url": format!("{}/session", provider.url), "token_method": "GET",
                "token_params": {"login": "{user}", "pass": "{password}"},
                "token_field": "token", "expires_in_field": "ttl"}],
            "api": {"base_url": provider.url}
        }),
    )
    .await;
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(&h, &consumer, json!({"name": "L", "integration_id": id})).await;
    let done = post_form(
        &h,
        &path,
        &[("param.user", "ada"), ("param.password", "s3cret")],
    )
    .await;
    let connection = connection_id(&done);
    assert_eq!(token_of(&h.credentials(&connection).await), "ct-1");

    // Ten minutes later the token is due: the scheduled run fetches the next one with
    // the stored (secret) parameters, by GET again.
    h.clock.advance(300);
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!((report.due, report.refreshed), (1, 1), "{report:?}");
    assert_eq!(token_of(&h.credentials(&connection).await), "ct-2");
    assert_eq!(provider.recorded().len(), 2);
}

#[tokio::test]
async fn a_client_credentials_connection_is_renewed_by_the_scheduled_run() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let provider = Loopback::start(counting(
        |r| {
            r.method == "POST"
                && r.target == "/token"
                && r.body.contains("grant_type=client_credentials")
                && r.body.contains("scope=reports")
                && r.headers.get("authorization").map(String::as_str)
                    == Some("Basic c3ZjOnN2Yy1zZWNyZXQ=")
        },
        r#"{"access_token":"cc-{n}","expires_in":600,"token_type":"bearer"}"#,
    ))
    .await;
    let id = integration(
        &h,
        json!({
            "key": "service", "name": "Service",
            "auth_options": [{"key": "cc", "type": "oauth2_client_credentials",
                "token_url": format!("{}/token", provider.url), "scopes": ["reports"],
                "client": {"client_id": "svc", "client_secret": "svc-secret"}}],
            "api": {"base_url": provider.url}
        }),
    )
    .await;
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(&h, &consumer, json!({"name": "S", "integration_id": id})).await;
    let connection = connection_id(&post_form(&h, &path, &[]).await);
    assert_eq!(token_of(&h.credentials(&connection).await), "cc-1");

    h.clock.advance(300);
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!((report.due, report.refreshed), (1, 1), "{report:?}");
    assert_eq!(token_of(&h.credentials(&connection).await), "cc-2");
}

#[tokio::test]
async fn the_token_as_a_url_parameter_and_request_parameters_go_on_every_proxied_call() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let upstream = Loopback::start(|r: Recorded| async move {
        let q = query(&r.target);
        let placed = q.get("access_token").map(String::as_str) == Some("key-123")
            && q.get("locale").map(String::as_str) == Some("fr")
            && q.get("format").map(String::as_str) == Some("json")
            && !r.headers.contains_key("authorization");
        if placed {
            (
                200,
                format!(r#"{{"path":"{}"}}"#, r.target.split('?').next().unwrap()),
            )
        } else {
            (401, "{}".to_owned())
        }
    })
    .await;
    let id = integration(
        &h,
        json!({
            "key": "keyed", "name": "Keyed",
            "parameters": [{"name": "lang", "label": "Language", "required": true, "pattern": "^[a-z]{2}$"}],
            "auth_options": [{"key": "key", "type": "api_key"}],
            "api": {"base_url": upstream.url, "token_placement": "query",
                "token_param_name": "access_token", "value_template": "{token}",
                "request_params": {"locale": "{lang}", "format": "json"}}
        }),
    )
    .await;
    let consumer = consumer(&h, None).await;
    let (status, installed) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer}/connections/install"),
            json!({"integration_id": id, "auth_value": "key-123", "parameters": {"lang": "fr"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{installed}");
    let connection = installed["id"].as_str().unwrap();
    for path in ["items?page=2", "items/7"] {
        let (status, answer) = h
            .get(&format!("/v1/connections/{connection}/proxy/{path}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let calls = upstream.recorded();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        query(&calls[0].target)["page"],
        "2",
        "the caller's own query stays"
    );
}

/// Airkit's integration with no authentication: "only a name, a key, integration
/// parameters and request parameters". The popup asks for the parameters alone, the
/// connection keeps them (nothing goes to the vault), the proxy sends the request
/// parameters and no token, and the scheduled run never picks it up.
#[tokio::test]
async fn an_integration_without_authentication_keeps_only_its_parameters() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let upstream = Loopback::start(|r: Recorded| async move {
        let q = query(&r.target);
        let public = q.get("region").map(String::as_str) == Some("eu")
            && q.get("client").map(String::as_str) == Some("acme")
            && !r.headers.contains_key("authorization");
        if public {
            (200, r#"{"open":true}"#.to_owned())
        } else {
            (400, "{}".to_owned())
        }
    })
    .await;
    let id = integration(
        &h,
        json!({
            "key": "public", "name": "Public data",
            "parameters": [{"name": "region", "label": "Region", "required": true, "pattern": "^[a-z]{2}$"}],
            "auth_options": [{"key": "open", "type": "none"}],
            "api": {"base_url": upstream.url, "request_params": {"region": "{region}", "client": "acme"}}
        }),
    )
    .await;
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(&h, &consumer, json!({"name": "P", "integration_id": id})).await;
    let form = body_text(&browse(&h, &path, None).await);
    assert!(form.contains(r#"name="param.region""#), "{form}");
    assert!(
        !form.contains(r#"type="password""#),
        "nothing secret is asked: {form}"
    );
    let connection = connection_id(&post_form(&h, &path, &[("param.region", "eu")]).await);

    let stored = h
        .app
        .store
        .connection(&h.account_id, &connection.as_str().into())
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(stored.parameters["region"], "eu");
    assert!(stored.credentials.is_none(), "nothing in the vault");
    let (status, answer) = h
        .get(&format!("/v1/connections/{connection}/proxy/items"))
        .await;
    assert_eq!((status.as_u16(), answer), (200, json!({"open": true})));
    let (status, credentials) = h
        .get(&format!("/v1/connections/{connection}/credentials"))
        .await;
    assert_eq!(status.as_u16(), 200, "{credentials}");
    assert_eq!(credentials["type"], "none");
    assert_eq!(credentials["parameters"], json!({"region": "eu"}));

    h.clock.advance(30 * 86_400);
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.due, report.read),
        (0, 0),
        "never scheduled: {report:?}"
    );
}
