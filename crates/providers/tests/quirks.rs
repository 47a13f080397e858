//! Providers' token-endpoint quirks, each against a loopback endpoint that answers only
//! the request the quirk calls for (wiremock refuses anything else with a 404, which
//! the flow reports as `rejected`).

use std::collections::BTreeMap;
use std::time::Duration;

use latchkey_domain::{ClientAuth, FlowError, HttpVerb, Secret};
use latchkey_providers::oauth2::{
    Client, Grant, Revocable, TokenEndpoint, TokenSet, request_token, revoke,
};
use wiremock::matchers::{body_string, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: i64 = 1_800_000_000;

fn none() -> BTreeMap<String, String> {
    BTreeMap::new()
}

async fn refresh_at(
    server: &MockServer,
    verb: HttpVerb,
    auth: ClientAuth,
) -> Result<TokenSet, FlowError> {
    let url = format!("{}/token", server.uri());
    let extra = none();
    let endpoint = TokenEndpoint {
        url: &url,
        method: verb,
        client_auth: auth,
        extra_params: &extra,
    };
    let secret = Secret::new("app secret");
    let client = Client {
        id: "app",
        secret: Some(&secret),
    };
    let refresh = Secret::new("old-refresh");
    let http = reqwest::Client::new();
    let grant = Grant::RefreshToken(&refresh);
    request_token(&http, &endpoint, &client, grant, &none(), true, NOW).await
}

fn token_json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json")
}

#[tokio::test]
async fn a_get_token_endpoint_gets_the_grant_in_the_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(query_param("grant_type", "refresh_token"))
        .and(query_param("refresh_token", "old-refresh"))
        .and(query_param("client_id", "app"))
        .and(query_param("client_secret", "app secret"))
        .respond_with(token_json(
            r#"{"access_token":"via-get","token_type":"bearer"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let t = refresh_at(&server, HttpVerb::Get, ClientAuth::Body)
        .await
        .unwrap();
    assert_eq!(t.access_token.expose(), "via-get");
}

#[tokio::test]
async fn a_post_token_endpoint_gets_a_form_and_basic_client_auth() {
    let server = MockServer::start().await;
    // RFC 6749 §2.3.1: id and secret are form-encoded before the Basic header.
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("authorization", "Basic YXBwOmFwcCtzZWNyZXQ="))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "grant_type=refresh_token&refresh_token=old-refresh",
        ))
        .respond_with(token_json(
            r#"{"access_token":"via-post","token_type":"Bearer"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let t = refresh_at(&server, HttpVerb::Post, ClientAuth::Basic)
        .await
        .unwrap();
    assert_eq!(t.access_token.expose(), "via-post");
}

#[tokio::test]
async fn a_form_encoded_answer_is_read_as_json_would_be() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "access_token=gho_1&scope=repo&token_type=bearer&refresh_token=r2",
            "application/x-www-form-urlencoded; charset=utf-8",
        ))
        .mount(&server)
        .await;
    let t = refresh_at(&server, HttpVerb::Post, ClientAuth::Body)
        .await
        .unwrap();
    assert_eq!(t.access_token.expose(), "gho_1");
    assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("r2"));
    assert_eq!(t.scope.as_deref(), Some("repo"));
}

#[tokio::test]
async fn any_2xx_is_a_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_raw(
            r#"{"access_token":"created","token_type":"bearer"}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let t = refresh_at(&server, HttpVerb::Post, ClientAuth::Body)
        .await
        .unwrap();
    assert_eq!(t.access_token.expose(), "created");
}

#[tokio::test]
async fn expires_in_as_a_string_sets_the_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_json(
            r#"{"access_token":"a","token_type":"bearer","expires_in":"3599"}"#,
        ))
        .mount(&server)
        .await;
    let t = refresh_at(&server, HttpVerb::Post, ClientAuth::Body)
        .await
        .unwrap();
    assert_eq!(t.expires_at, Some(NOW + 3599));
}

#[tokio::test]
async fn an_answer_without_token_type_is_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_json(r#"{"access_token":"a","expires_in":60}"#))
        .mount(&server)
        .await;
    let t = refresh_at(&server, HttpVerb::Post, ClientAuth::Body)
        .await
        .unwrap();
    assert_eq!(t.token_type.as_deref(), Some("bearer"));
    assert_eq!(t.expires_at, Some(NOW + 60));
}

#[tokio::test]
async fn an_answer_over_64_kib_is_refused_unread() {
    let server = MockServer::start().await;
    let huge = format!(r#"{{"access_token":"{}"}}"#, "x".repeat(200 * 1024));
    Mock::given(method("POST"))
        .respond_with(token_json(&huge))
        .mount(&server)
        .await;
    let e = refresh_at(&server, HttpVerb::Post, ClientAuth::Body)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "token_exchange_failed");
    assert_eq!(e.data()["reason"], "response_too_large");
}

/// What a refresh makes of one answer from the token endpoint.
async fn refresh_answered(status: u16, body: &str) -> FlowError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json"),
        )
        .mount(&server)
        .await;
    refresh_at(&server, HttpVerb::Post, ClientAuth::Body)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn throttled_and_overloaded_answers_are_temporary_whatever_their_body() {
    // A refresh retries these later; an OAuth error in their body must not make them final.
    let e = refresh_answered(429, r#"{"error":"rate_limited"}"#).await;
    assert_eq!(e.data()["reason"], "throttled");
    let e = refresh_answered(408, "").await;
    assert_eq!(e.data()["reason"], "throttled");
    let e = refresh_answered(503, r#"{"error":"invalid_grant"}"#).await;
    assert_eq!(e.data()["reason"], "provider_unavailable");
    // A refusal is the provider's own code, from any other 4xx.
    let e = refresh_answered(401, r#"{"error":"invalid_client"}"#).await;
    assert!(
        matches!(e, FlowError::ProviderDenied(ref code) if code == "invalid_client"),
        "{e:?}"
    );
    let e = refresh_answered(403, "<html>no</html>").await;
    assert_eq!(e.data()["reason"], "rejected");
}

#[tokio::test]
async fn a_provider_that_never_answers_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(token_json(r#"{"access_token":"late"}"#).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let e = refresh_at(&server, HttpVerb::Post, ClientAuth::Body)
        .await
        .unwrap_err();
    assert_eq!(e.data()["reason"], "unreachable");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "gave up before the answer"
    );
}

#[tokio::test]
async fn the_extra_token_parameters_and_the_pkce_verifier_reach_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains("code_verifier=v3rifier"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fconnect.acme.test%2Foauth%2Fcallback",
        ))
        .and(body_string_contains("audience=api.acme"))
        .respond_with(token_json(
            r#"{"access_token":"a","token_type":"bearer","instance_url":"https://acme.my.example"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/token", server.uri());
    let extra = BTreeMap::from([("audience".to_owned(), "api.{tenant}".to_owned())]);
    let parameters = BTreeMap::from([("tenant".to_owned(), "acme".to_owned())]);
    let endpoint = TokenEndpoint {
        url: &url,
        method: HttpVerb::Post,
        client_auth: ClientAuth::Body,
        extra_params: &extra,
    };
    let client = Client {
        id: "app",
        secret: None,
    };
    let verifier = Secret::new("v3rifier");
    let grant = Grant::AuthorizationCode {
        code: "the-code",
        redirect_uri: "https://connect.acme.test/oauth/callback",
        pkce_verifier: Some(&verifier),
    };
    let http = reqwest::Client::new();
    let t = request_token(&http, &endpoint, &client, grant, &parameters, true, NOW)
        .await
        .unwrap();
    assert_eq!(t.extra["instance_url"], "https://acme.my.example");
}

#[tokio::test]
async fn revocation_sends_the_refresh_token_with_its_hint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .and(body_string_contains("token=old-refresh"))
        .and(body_string_contains("token_type_hint=refresh_token"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/revoke", server.uri());
    let client = Client {
        id: "app",
        secret: None,
    };
    let refresh = Secret::new("old-refresh");
    let http = reqwest::Client::new();
    let token = Revocable::Refresh(&refresh);
    revoke(&http, &url, ClientAuth::Body, &client, token, &none(), true)
        .await
        .unwrap();
    let other = Secret::new("unknown");
    let refused = revoke(
        &http,
        &format!("{}/nope", server.uri()),
        ClientAuth::Body,
        &client,
        Revocable::Access(&other),
        &none(),
        true,
    )
    .await;
    assert!(refused.is_err(), "a 404 is no revocation");
}
