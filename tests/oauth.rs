//! The real OAuth 2.0 server the tests use (oidc-provider on loopback, started by
//! `tests/run`) and the steps of a connection flow through the harness: registering a
//! client, an integration and a link, and driving the provider's side like a browser.

use lambda_http::Body;
use lambda_http::http::{self, StatusCode};
use serde_json::{Value, json};
use url::Url;

use crate::loopback::{Answer, Loopback};
use crate::{Harness, PUBLIC_URL};

pub fn issuer() -> String {
    std::env::var("LATCHKEY_TEST_OIDC_ISSUER")
        .expect("LATCHKEY_TEST_OIDC_ISSUER is not set: run the suite with `tests/run`")
}

/// Where the harness's integrations' redirect URIs live (one per integration under it).
pub const CALLBACK: &str = "https://connect.acme.test/oauth/callback/";

pub struct OAuthClient {
    pub id: String,
    pub secret: String,
    /// RFC 7592: where and with what this client's registration is changed.
    management: (String, String),
    registered: Value,
}

/// Registers a client at the provider (dynamic registration), as a vendor would in the
/// provider's developer console. Its redirect URI is a placeholder until
/// [`oauth_integration`] points it at the integration's own.
pub async fn register(grants: &[&str], auth_method: &str) -> OAuthClient {
    let registered = json!({
        "redirect_uris": [format!("{CALLBACK}pending")],
        "grant_types": grants,
        "response_types": if grants.contains(&"authorization_code") { json!(["code"]) } else { json!([]) },
        "token_endpoint_auth_method": auth_method,
    });
    let response: Value = reqwest::Client::new()
        .post(format!("{}/reg", issuer()))
        .json(&registered)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let field = |name: &str| {
        response[name]
            .as_str()
            .unwrap_or_else(|| panic!("registered without {name}: {response}"))
            .to_owned()
    };
    OAuthClient {
        id: field("client_id"),
        secret: field("client_secret"),
        management: (
            field("registration_client_uri"),
            field("registration_access_token"),
        ),
        registered,
    }
}

/// Changes the client's redirect URI at the provider (RFC 7592), as a vendor does after
/// copying the integration's `redirect_uri`.
pub async fn redirect_client_to(client: &OAuthClient, redirect_uri: &str) {
    let mut metadata = client.registered.clone();
    metadata["client_id"] = json!(client.id);
    metadata["client_secret"] = json!(client.secret);
    metadata["redirect_uris"] = json!([redirect_uri]);
    let (uri, token) = &client.management;
    let response = reqwest::Client::new()
        .put(uri)
        .bearer_auth(token)
        .json(&metadata)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

pub async fn introspect(client: &OAuthClient, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/token/introspection", issuer()))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A token endpoint's answer that rotates the refresh token (`at-2`, `rt-2`, one hour).
pub const ROTATED: &str =
    r#"{"access_token":"at-2","refresh_token":"rt-2","expires_in":3600,"token_type":"bearer"}"#;

/// An authorization-code integration at the test provider, created through the API.
/// Calls to its API go to `api_base_url` (default: the provider itself).
pub async fn oauth_integration(
    h: &Harness,
    client: &OAuthClient,
    client_auth: &str,
    api_base_url: Option<&str>,
) -> String {
    let token_url = format!("{}/token", issuer());
    oauth_integration_via(h, client, client_auth, api_base_url, &token_url).await
}

/// [`oauth_integration`] whose token calls go to `token_url` (a proxy in front of the
/// provider's token endpoint).
pub async fn oauth_integration_via(
    h: &Harness,
    client: &OAuthClient,
    client_auth: &str,
    api_base_url: Option<&str>,
    token_url: &str,
) -> String {
    let issuer = issuer();
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "testprovider", "name": "Test Provider",
                "auth_options": [{
                    "key": "oauth", "type": "oauth2",
                    "authorization_url": format!("{issuer}/auth"),
                    "token_url": token_url,
                    "client_auth": client_auth,
                    "scopes": ["openid", "offline_access"],
                    "authorization_params": {"prompt": "consent"},
                    "issuer": issuer,
                    "revoke_url": format!("{issuer}/token/revocation"),
                    "client": {"client_id": client.id, "client_secret": client.secret}
                }],
                "api": {"base_url": api_base_url.unwrap_or(&issuer)}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let redirect_uri = created["redirect_uri"]
        .as_str()
        .expect("an OAuth redirect URI");
    assert!(
        redirect_uri.ends_with(&format!("/oauth/callback/{id}")),
        "{redirect_uri}"
    );
    redirect_client_to(client, redirect_uri).await;
    id
}

/// A registered client, its integration, a consumer returning to the vendor's app, and
/// an activation link for that integration.
pub async fn oauth_link(
    h: &Harness,
    auth_method: &str,
    client_auth: &str,
) -> (OAuthClient, String, String) {
    let client = register(&["authorization_code", "refresh_token"], auth_method).await;
    let integration = oauth_integration(h, &client, client_auth, None).await;
    let consumer = consumer(h, Some("https://app.acme.test/done")).await;
    let path = link(
        h,
        &consumer,
        json!({"name": "P", "integration_id": integration}),
    )
    .await;
    (client, consumer, path)
}

/// An OAuth integration "Books" whose token endpoint (on loopback) gives every request
/// `answer`. Returns its id and the endpoint (which records what it received).
pub async fn books_answering(h: &Harness, answer: Answer) -> (String, Loopback) {
    integration_answering(h, "books", answer).await
}

/// [`books_answering`] with the integration key `key` (and name).
pub async fn integration_answering(h: &Harness, key: &str, answer: Answer) -> (String, Loopback) {
    let provider = Loopback::start(move |_| {
        let answer = answer.clone();
        async move { answer }
    })
    .await;
    (integration_at(h, key, &provider.url).await, provider)
}

/// An OAuth integration `key` (and name) whose endpoints are on `provider` (a peer the
/// test plays), with the account's app; answers its id.
pub async fn integration_at(h: &Harness, key: &str, provider: &str) -> String {
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": key, "name": key[..1].to_uppercase() + &key[1..],
                "auth_options": [{
                    "key": "oauth", "type": "oauth2",
                    "authorization_url": format!("{provider}/authorize"),
                    "token_url": format!("{provider}/token"),
                    "client": {"client_id": "app", "client_secret": "s3cret"}
                }],
                "api": {"base_url": format!("https://api.{key}.example")}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// A new consumer (`body`) and its connection to the OAuth `integration`, installed with
/// one-hour tokens. Returns (consumer id, connection id).
pub async fn installed_with_tokens(
    h: &Harness,
    integration: &str,
    body: Value,
) -> (String, String) {
    let (status, consumer) = h.send("POST", "/v1/consumers", body).await;
    assert_eq!(status, StatusCode::CREATED, "{consumer}");
    let consumer = consumer["id"].as_str().unwrap().to_owned();
    let (status, installed) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer}/connections/install"),
            json!({"integration_id": integration, "tokens": {
                "access_token": "at", "refresh_token": "rt", "expires_in": 3600
            }}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{installed}");
    (consumer, installed["id"].as_str().unwrap().to_owned())
}

/// A new API-key integration ("keyed"), as created.
pub async fn keyed_integration(h: &Harness) -> Value {
    let (status, integration) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({"key": "keyed", "name": "Keyed", "auth_options": [{"key": "key", "type": "api_key"}],
                   "api": {"base_url": "https://api.keyed.example"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{integration}");
    integration
}

/// A new consumer's connection to a new API-key integration ("keyed"), installed with a
/// key. Returns the connection's id.
pub async fn keyed_connection(h: &Harness) -> String {
    let integration = keyed_integration(h).await;
    let (_, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Hooli"}))
        .await;
    let (status, installed) = h
        .send(
            "POST",
            &format!(
                "/v1/consumers/{}/connections/install",
                consumer["id"].as_str().unwrap()
            ),
            json!({"integration_id": integration["id"], "auth_value": "k-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{installed}");
    installed["id"].as_str().unwrap().to_owned()
}

pub async fn consumer(h: &Harness, redirect_url: Option<&str>) -> String {
    let mut body = json!({"name": "Globex"});
    if let Some(url) = redirect_url {
        body["redirect_url"] = json!(url);
    }
    let (_, c) = h.send("POST", "/v1/consumers", body).await;
    c["id"].as_str().unwrap().to_owned()
}

/// An activation link's path (the harness's public URL taken off).
pub async fn link(h: &Harness, consumer: &str, body: Value) -> String {
    link_url(h, consumer, body)
        .await
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned()
}

/// An activation link's whole URL (a served harness's links point at its gateway).
pub async fn link_url(h: &Harness, consumer: &str, body: Value) -> String {
    let (status, link) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer}/connections"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    link["url"].as_str().unwrap().to_owned()
}

pub async fn browse(
    h: &Harness,
    path_and_query: &str,
    cookie: Option<&str>,
) -> http::Response<Body> {
    let mut request = http::Request::builder()
        .method("GET")
        .uri(format!("/{}", path_and_query.trim_start_matches('/')));
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    h.raw(request.body(Body::Empty).unwrap()).await
}

/// Submits a popup form, as the browser does.
pub async fn post_form(h: &Harness, path: &str, form: &[(&str, &str)]) -> http::Response<Body> {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("/{}", path.trim_start_matches('/')))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(body))
        .unwrap();
    h.raw(request).await
}

pub fn location(response: &http::Response<Body>) -> String {
    response
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn flow_cookie(response: &http::Response<Body>) -> String {
    let set = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.contains("lk_flow_"))
        .expect("the popup binds the flow to the browser");
    assert!(
        set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Lax"),
        "{set}"
    );
    // On https (the harness's public URL) only this host may set it.
    assert!(
        set.starts_with("__Host-lk_flow_") && set.contains("Path=/") && !set.contains("Domain"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

pub fn body_text(response: &http::Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

/// Drives the provider's side in a browser-like client (its own cookies, no automatic
/// redirects) until the provider sends the browser to our callback; returns that URL.
pub async fn authorize_at_provider(authorization_url: &str) -> Url {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = Url::parse(authorization_url).unwrap();
    for _ in 0..12 {
        let response = browser.get(url.clone()).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "provider answered {} at {url}",
            response.status()
        );
        let next = url
            .join(response.headers()["location"].to_str().unwrap())
            .unwrap();
        if next.path().contains("/oauth/callback/") {
            return next;
        }
        url = next;
    }
    panic!("the provider never redirected back");
}

/// The path of the redirect URI a popup's answer sent to the provider (where the provider
/// sends the browser back).
pub fn redirect_path(to_provider: &http::Response<Body>) -> String {
    Url::parse(&sent(to_provider, "redirect_uri"))
        .unwrap()
        .path()
        .to_owned()
}

/// The `state` a popup's answer sent to the provider.
pub fn sent_state(to_provider: &http::Response<Body>) -> String {
    sent(to_provider, "state")
}

/// A parameter of the authorization request a popup's answer redirects to.
fn sent(to_provider: &http::Response<Body>, name: &str) -> String {
    let location = Url::parse(&location(to_provider)).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {location}"))
        .1
        .into_owned()
}

pub fn callback_path(url: &Url) -> String {
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

/// Starts a flow from an activation link and returns (callback URL, flow cookie).
pub async fn start_and_authorize(h: &Harness, link_path: &str) -> (Url, String) {
    let landing = browse(h, link_path, None).await;
    assert_eq!(
        landing.status(),
        StatusCode::FOUND,
        "{}",
        body_text(&landing)
    );
    let to_provider = location(&landing);
    assert!(
        to_provider.starts_with(&format!("{}/auth?", issuer())),
        "{to_provider}"
    );
    let q: std::collections::HashMap<_, _> = Url::parse(&to_provider)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(
        q["redirect_uri"].starts_with(CALLBACK),
        "{}",
        q["redirect_uri"]
    );
    (
        authorize_at_provider(&to_provider).await,
        flow_cookie(&landing),
    )
}

/// How many token requests `client` has made at the provider.
pub async fn token_requests(client: &OAuthClient) -> u64 {
    let answer: Value = reqwest::Client::new()
        .get(
            Url::parse_with_params(
                &format!("{}/test/token-requests", issuer()),
                [("client_id", &client.id)],
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["count"].as_u64().unwrap()
}

/// Makes the provider hold each of `client`'s token requests for `ms` milliseconds, so a
/// refresh stays in flight while other workers arrive.
pub async fn slow_token_endpoint(client: &OAuthClient, ms: u64) {
    let url = Url::parse_with_params(
        &format!("{}/test/token-delay", issuer()),
        [("client_id", client.id.as_str()), ("ms", &ms.to_string())],
    )
    .unwrap();
    let answer = reqwest::get(url).await.unwrap();
    assert!(answer.status().is_success());
}

/// A full authorization-code flow for `integration`: a new consumer, a link, the provider,
/// the callback. Returns (consumer id, connection id).
pub async fn connect(h: &Harness, integration: &str) -> (String, String) {
    let consumer = consumer(h, Some("https://app.acme.test/done")).await;
    let path = link(
        h,
        &consumer,
        json!({"name": "P", "integration_id": integration}),
    )
    .await;
    let (callback, cookie) = start_and_authorize(h, &path).await;
    let done = browse(h, &callback_path(&callback), Some(&cookie)).await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    let target = Url::parse(&location(&done)).unwrap();
    let id = target
        .query_pairs()
        .find(|(k, _)| k == "connectionId")
        .expect("connected")
        .1
        .into_owned();
    (consumer, id)
}
