//! The connection flow against a real OAuth 2.0 server (oidc-provider on loopback, PKCE
//! required, refresh-token rotation): activation link → popup → provider → callback →
//! the vendor's redirect, plus every way it must refuse safely.

use latchkey_domain::{ConnectionId, ConsumerId};
use latchkey_store::Connections;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::Body;
use lambda_http::http::{self, StatusCode};
use latchkey_domain::ConnectionStatus;
use latchkey_domain::{Credentials, SecretScope};
use latchkey_store::testing;
use latchkey_tests::oauth::*;
use latchkey_tests::{Harness, vault_modes};
use latchkey_vault::VaultMode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

/// Captures every log line written while `f` runs on this thread.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

vault_modes!(
    #[tokio::test(flavor = "current_thread")]
    authorization_code_flow_end_to_end
);
async fn authorization_code_flow_end_to_end(mode: VaultMode) {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", None).await;
    let consumer = consumer(&h, Some("https://app.acme.test/integrations/done")).await;
    let path = link(
        &h,
        &consumer,
        json!({"name": "Test Provider", "integration_id": integration}),
    )
    .await;

    let (callback, cookie) =
        start_and_authorize(&h, &format!("{path}?customState=abc%20123")).await;
    let done = browse(&h, &callback_path(&callback), Some(&cookie)).await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    let target = Url::parse(&location(&done)).unwrap();
    assert_eq!(
        target.origin().ascii_serialization(),
        "https://app.acme.test"
    );
    let q: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
    assert_eq!(q["connectionStatus"], "active");
    assert_eq!(q["customState"], "abc 123");
    let connection_id = &q["connectionId"];

    let connection = h
        .app
        .store
        .connection(&h.account_id, &ConnectionId::from(connection_id.as_str()))
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(connection.status, ConnectionStatus::Active);
    assert!(connection.refreshable && connection.access_expires_at.is_some());
    let credentials = h
        .app
        .vault
        .get(
            &SecretScope::new(&h.account_id, connection_id),
            connection.credentials.as_ref().unwrap(),
        )
        .await
        .unwrap();
    let Credentials::Oauth2 {
        access_token,
        refresh_token,
        ..
    } = credentials
    else {
        panic!("oauth2 credentials")
    };
    let refresh_token = refresh_token.expect("a refresh token is stored");
    // The provider accepts what we stored.
    assert_eq!(
        introspect(&client, access_token.expose()).await["active"],
        true
    );
    assert_eq!(
        introspect(&client, refresh_token.expose()).await["active"],
        true
    );

    // The link is used up; the callback cannot be replayed.
    assert_eq!(browse(&h, &path, None).await.status(), StatusCode::GONE);
    let replay = browse(&h, &callback_path(&callback), Some(&cookie)).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        h.app
            .store
            .consumer_connections(
                &h.account_id,
                &ConsumerId::from(consumer.as_str()),
                None,
                10,
                None
            )
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for secret in [
        access_token.expose(),
        refresh_token.expose(),
        client.secret.as_str(),
    ] {
        assert!(!logged.contains(secret), "a secret reached the logs");
    }
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert!(
        !logged.contains(&code),
        "the authorization code reached the logs"
    );
}

vault_modes!(
    #[tokio::test]
    forged_and_cookieless_callbacks_change_nothing
);
async fn forged_and_cookieless_callbacks_change_nothing(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let (_, consumer, path) = oauth_link(&h, "client_secret_post", "body").await;
    let (callback, cookie) = start_and_authorize(&h, &path).await;

    // No cookie, a wrong cookie, a forged state: refused, and the real flow survives.
    let without = browse(&h, &callback_path(&callback), None).await;
    assert_eq!(without.status(), StatusCode::BAD_REQUEST);
    let (name, _) = cookie.split_once('=').unwrap();
    let wrong = browse(
        &h,
        &callback_path(&callback),
        Some(&format!("{name}=forged.value")),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let mut forged = callback.clone();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    forged.set_query(Some(&format!("code={code}&state=forged")));
    assert_eq!(
        browse(&h, &callback_path(&forged), Some(&cookie))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert!(
        h.app
            .store
            .consumer_connections(
                &h.account_id,
                &ConsumerId::from(consumer.as_str()),
                None,
                10,
                None
            )
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let done = browse(&h, &callback_path(&callback), Some(&cookie)).await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    assert!(location(&done).contains("connectionStatus=active"));
}

vault_modes!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    concurrent_callbacks_exchange_the_code_once
);
async fn concurrent_callbacks_exchange_the_code_once(mode: VaultMode) {
    let h = Arc::new(Harness::in_mode(testing::dynamo_table().await, mode).await);
    let (client, consumer, path) = oauth_link(&h, "client_secret_basic", "basic").await;
    let (callback, cookie) = start_and_authorize(&h, &path).await;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (h, url, cookie) = (h.clone(), callback_path(&callback), cookie.clone());
            tokio::spawn(async move {
                let response = browse(&h, &url, Some(&cookie)).await;
                response
                    .headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_owned())
            })
        })
        .collect();
    let mut locations = Vec::new();
    for t in tasks {
        locations.push(t.await.unwrap());
    }
    let connected = locations
        .iter()
        .flatten()
        .filter(|l| l.contains("connectionStatus=active"))
        .count();
    assert_eq!(connected, 1, "{locations:?}");
    assert_eq!(
        locations.iter().filter(|l| l.is_none()).count(),
        3,
        "the others are refused here: {locations:?}"
    );
    let connections = h
        .app
        .store
        .consumer_connections(
            &h.account_id,
            &ConsumerId::from(consumer.as_str()),
            None,
            10,
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(connections.len(), 1);
    // oidc-provider revokes every token of a code used twice: still active means once.
    let c = &connections[0].value;
    let Credentials::Oauth2 { access_token, .. } = h
        .app
        .vault
        .get(
            &SecretScope::new(&h.account_id, &c.id),
            c.credentials.as_ref().unwrap(),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        introspect(&client, access_token.expose()).await["active"],
        true
    );
}

vault_modes!(
    #[tokio::test]
    provider_denial_reaches_the_vendor_as_a_code_without_provider_text
);
async fn provider_denial_reaches_the_vendor_as_a_code_without_provider_text(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let (_, consumer, path) = oauth_link(&h, "client_secret_basic", "basic").await;
    let landing = browse(&h, &path, None).await;
    let cookie = flow_cookie(&landing);
    let state = sent_state(&landing);
    let denied = format!(
        "{}?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3EUser+said+no&state={state}",
        redirect_path(&landing)
    );
    let done = browse(&h, &denied, Some(&cookie)).await;
    let target = location(&done);
    assert!(
        target.starts_with("https://app.acme.test/done?"),
        "{target}"
    );
    let q: std::collections::HashMap<_, _> = Url::parse(&target)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        (q["error"].as_str(), q["connectionStatus"].as_str()),
        ("access_denied", "error")
    );
    assert!(
        !target.contains("script") && !target.contains("said"),
        "{target}"
    );
    assert!(
        h.app
            .store
            .consumer_connections(
                &h.account_id,
                &ConsumerId::from(consumer.as_str()),
                None,
                10,
                None
            )
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// A token endpoint on loopback that answers every request with `response`; counts the
/// requests and keeps the last one's text.
async fn fake_token_endpoint_recording(
    response: &'static str,
) -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(String::new()));
    let (counter, seen) = (hits.clone(), last.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            *seen.lock().unwrap() = String::from_utf8_lossy(&buf[..n]).into_owned();
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (format!("http://{addr}/token"), hits, last)
}

async fn fake_token_endpoint(response: &'static str) -> (String, Arc<AtomicUsize>) {
    let (url, hits, _) = fake_token_endpoint_recording(response).await;
    (url, hits)
}

vault_modes!(
    #[tokio::test]
    custom_token_is_fetched_with_the_parameters_and_secrets_stay_in_the_vault
);
async fn custom_token_is_fetched_with_the_parameters_and_secrets_stay_in_the_vault(
    mode: VaultMode,
) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let (token_url, hits, last) = fake_token_endpoint_recording(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 39\r\nconnection: close\r\n\r\n{\"data\":{\"token\":\"ct-123\"},\"ttl\":\"600\"}",
    )
    .await;
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "legacy", "name": "Legacy",
                "parameters": [
                    {"name": "user", "label": "User", "required": true},
                    {"name": "password", "label": "Password", "required": true, "secret": true}
                ],
                "auth_options": [{"key": "token", "type": "custom_token", "token_url": token_url,
                    "token_params": {"login": "{user}", "pass": "{password}", "grant": "session"},
                    "token_field": "data.token", "expires_in_field": "ttl"}],
                "api": {"base_url": "https://api.legacy.example", "value_template": "Token {token}"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(
        &h,
        &consumer,
        json!({"name": "L", "integration_id": created["id"]}),
    )
    .await;
    let form = body_text(&browse(&h, &path, None).await);
    assert!(
        form.contains(r#"name="param.password" type="password""#),
        "{form}"
    );
    let done = post_form(
        &h,
        &path,
        &[("param.user", "ada"), ("param.password", "s3cret pass")],
    )
    .await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let request = last.lock().unwrap().clone();
    assert!(request.starts_with("POST /token"), "{request}");
    assert!(
        request.contains("login=ada")
            && request.contains("pass=s3cret+pass")
            && request.contains("grant=session"),
        "{request}"
    );

    let q: std::collections::HashMap<_, _> = Url::parse(&location(&done))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let c = h
        .app
        .store
        .connection(
            &h.account_id,
            &ConnectionId::from(q["connectionId"].as_str()),
        )
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(c.parameters.get("user").map(String::as_str), Some("ada"));
    assert!(
        !c.parameters.contains_key("password"),
        "secret parameters never sit on the connection"
    );
    assert_eq!(c.access_expires_at, Some(latchkey_store::testing::T0 + 600));
    let stored = h
        .app
        .vault
        .get(
            &SecretScope::new(&h.account_id, &c.id),
            c.credentials.as_ref().unwrap(),
        )
        .await
        .unwrap();
    let Credentials::Token {
        token, parameters, ..
    } = stored
    else {
        panic!("a custom token")
    };
    assert_eq!(token.expose(), "ct-123");
    assert_eq!(parameters["password"].expose(), "s3cret pass");
}

vault_modes!(
    #[tokio::test]
    token_endpoint_failures_become_token_exchange_failed
);
async fn token_endpoint_failures_become_token_exchange_failed(mode: VaultMode) {
    for (reply, reason) in [
        (
            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/html\r\ncontent-length: 24\r\nconnection: close\r\n\r\n<html>stack trace</html>",
            "provider_unavailable",
        ),
        (
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 19\r\nconnection: close\r\n\r\n<html>login?</html>",
            "invalid_response",
        ),
    ] {
        let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
        let (token_url, hits) = fake_token_endpoint(reply).await;
        let issuer = issuer();
        let (status, created) = h
            .send("POST", "/v1/integrations", json!({
                "key": "broken", "name": "Broken",
                "auth_options": [{"key": "oauth", "type": "oauth2", "authorization_url": format!("{issuer}/auth"),
                    "token_url": token_url, "client": {"client_id": "x", "client_secret": "y"}}],
                "api": {"base_url": "https://api.broken.example"}
            }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
        let path = link(
            &h,
            &consumer,
            json!({"name": "B", "integration_id": created["id"]}),
        )
        .await;
        let landing = browse(&h, &path, None).await;
        let cookie = flow_cookie(&landing);
        let state = sent_state(&landing);
        let done = browse(
            &h,
            &format!("{}?code=abc&state={state}", redirect_path(&landing)),
            Some(&cookie),
        )
        .await;
        let target = location(&done);
        let q: std::collections::HashMap<_, _> = Url::parse(&target)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        assert_eq!(q["error"], "token_exchange_failed");
        assert_eq!(
            serde_json::from_str::<Value>(&q["errorData"]).unwrap(),
            json!({"reason": reason})
        );
        assert!(!target.contains("stack") && !target.contains("html"));
        assert_eq!(hits.load(Ordering::SeqCst), 1, "one token request");
        // The link is not used up by a failure: the consumer can try again.
        assert_eq!(browse(&h, &path, None).await.status(), StatusCode::FOUND);
    }
}

vault_modes!(
    #[tokio::test]
    activation_links_expire_after_thirty_minutes
);
async fn activation_links_expire_after_thirty_minutes(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let consumer = consumer(&h, None).await;
    let path = link(&h, &consumer, json!({"name": "Any"})).await;
    h.clock.advance(29 * 60);
    assert_eq!(
        browse(&h, &path, None).await.status(),
        StatusCode::OK,
        "the marketplace, still valid"
    );
    h.clock.advance(60);
    let expired = browse(&h, &path, None).await;
    assert_eq!(expired.status(), StatusCode::GONE);
    assert!(body_text(&expired).contains("expired"));
    assert_eq!(
        browse(&h, "connect/lka_not_a_token", None).await.status(),
        StatusCode::GONE
    );
}

vault_modes!(
    #[tokio::test]
    client_credentials_connect_with_one_click
);
async fn client_credentials_connect_with_one_click(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let client = register(&["client_credentials"], "client_secret_basic").await;
    let issuer = issuer();
    let (status, created) = h
        .send("POST", "/v1/integrations", json!({
            "key": "machine", "name": "Machine API",
            "auth_options": [{"key": "cc", "type": "oauth2_client_credentials", "token_url": format!("{issuer}/token"),
                "client": {"client_id": client.id, "client_secret": client.secret}}],
            "api": {"base_url": "https://api.machine.example"}
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(
        &h,
        &consumer,
        json!({"name": "M", "integration_id": created["id"]}),
    )
    .await;
    // Nothing to type: a Connect button, and only its POST connects.
    let confirm = body_text(&browse(&h, &path, None).await);
    assert!(confirm.contains(r#"<form method="post""#), "{confirm}");
    let done = post_form(&h, &path, &[]).await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    let q: std::collections::HashMap<_, _> = Url::parse(&location(&done))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let c = h
        .app
        .store
        .connection(
            &h.account_id,
            &ConnectionId::from(q["connectionId"].as_str()),
        )
        .await
        .unwrap()
        .unwrap()
        .value;
    let Credentials::Oauth2 { access_token, .. } = h
        .app
        .vault
        .get(
            &SecretScope::new(&h.account_id, &c.id),
            c.credentials.as_ref().unwrap(),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        introspect(&client, access_token.expose()).await["active"],
        true
    );
}

/// An API-key integration, the simplest thing to connect.
async fn keyed_integration(h: &Harness) -> Value {
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "keyed", "name": "Keyed",
                "auth_options": [{"key": "apikey", "type": "api_key"}],
                "api": {"base_url": "https://api.keyed.example"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

vault_modes!(
    #[tokio::test]
    api_key_and_basic_are_asked_for_and_stored
);
async fn api_key_and_basic_are_asked_for_and_stored(mode: VaultMode) {
    let h = Harness::in_mode(testing::dynamo_table().await, mode).await;
    let (_, created) = h
        .send("POST", "/v1/integrations", json!({
            "key": "desk", "name": "Desk",
            "parameters": [{"name": "domain", "label": "Domain", "required": true, "pattern": "[a-z0-9-]+"}],
            "auth_options": [{"key": "apikey", "type": "api_key"}, {"key": "basic", "type": "basic"}],
            "api": {"base_url": "https://{domain}.desk.example/api"}
        }))
        .await;
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;

    // API key: a form with the parameter and the key; a bad parameter re-asks, naming it.
    let path = link(
        &h,
        &consumer,
        json!({"name": "Desk", "integration_id": created["id"]}),
    )
    .await;
    let form = browse(&h, &path, None).await;
    assert_eq!(form.status(), StatusCode::OK);
    let html = body_text(&form);
    assert!(
        html.contains(r#"name="param.domain""#) && html.contains(r#"name="api_key""#),
        "{html}"
    );
    for header in [
        "content-security-policy",
        "x-frame-options",
        "referrer-policy",
        "cache-control",
    ] {
        assert!(form.headers().contains_key(header), "{header}");
    }
    assert!(
        form.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let bad = post_form(
        &h,
        &path,
        &[("param.domain", "evil.example/x"), ("api_key", "k-123")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(&bad).contains("domain"));
    let done = post_form(&h, &path, &[("param.domain", "acme"), ("api_key", "k-123")]).await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    let q: std::collections::HashMap<_, _> = Url::parse(&location(&done))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let c = h
        .app
        .store
        .connection(
            &h.account_id,
            &ConnectionId::from(q["connectionId"].as_str()),
        )
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(c.parameters["domain"], "acme");
    let stored = h
        .app
        .vault
        .get(
            &SecretScope::new(&h.account_id, &c.id),
            c.credentials.as_ref().unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(stored, Credentials::ApiKey { api_key } if api_key.expose() == "k-123"));

    // Basic, on a new link: it replaces the earlier connection (one per integration).
    let path = link(
        &h,
        &consumer,
        json!({"name": "Desk", "integration_id": created["id"]}),
    )
    .await;
    let done = post_form(
        &h,
        &format!("{path}?authOptionKey=basic"),
        &[
            ("param.domain", "acme"),
            ("username", "ada"),
            ("password", "pw"),
        ],
    )
    .await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    let all = h
        .app
        .store
        .consumer_connections(
            &h.account_id,
            &ConsumerId::from(consumer.as_str()),
            None,
            10,
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 1, "the new connection replaced the old one");
    let c = &all[0].value;
    let stored = h
        .app
        .vault
        .get(
            &SecretScope::new(&h.account_id, &c.id),
            c.credentials.as_ref().unwrap(),
        )
        .await
        .unwrap();
    assert!(
        matches!(stored, Credentials::Basic { username, password } if username == "ada" && password.expose() == "pw")
    );
}

vault_modes!(
    #[tokio::test]
    redirect_targets_off_the_allowlist_are_never_followed
);
async fn redirect_targets_off_the_allowlist_are_never_followed(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let created = keyed_integration(&h).await;
    h.send(
        "PATCH",
        "/v1/account",
        json!({"allowed_redirect_origins": ["https://app.acme.test"]}),
    )
    .await;
    for evil in [
        "javascript:alert(1)",
        "//evil.test/x",
        "https://app.acme.test@evil.test/",
        "https://app.acme.test.evil.test/",
        "http://app.acme.test/",
    ] {
        // No consumer or account redirect_url: the only candidate is the bad one.
        let consumer = consumer(&h, None).await;
        let path = link(
            &h,
            &consumer,
            json!({"name": "K", "integration_id": created["id"]}),
        )
        .await;
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirectUri", evil)
            .finish();
        let done = post_form(&h, &format!("{path}?{query}"), &[("api_key", "k")]).await;
        assert_eq!(done.status(), StatusCode::OK, "{evil}: a local result page");
        assert!(!done.headers().contains_key("location"), "{evil}");
        assert!(body_text(&done).contains("Connected"));
    }
    // An allowed one is followed.
    let consumer = consumer(&h, None).await;
    let path = link(
        &h,
        &consumer,
        json!({"name": "K", "integration_id": created["id"]}),
    )
    .await;
    let done = post_form(
        &h,
        &format!("{path}?redirectUri=https%3A%2F%2Fapp.acme.test%2Fback"),
        &[("api_key", "k")],
    )
    .await;
    assert!(location(&done).starts_with("https://app.acme.test/back?connectionId="));
}

/// Connects a new consumer (redirect URL with its own query) to `integration` through an
/// activation link, with `customState`; answers where the browser was sent.
async fn connect_and_follow(h: &Harness, integration: &Value) -> String {
    let consumer = consumer(h, Some("https://app.acme.test/done?tab=apps")).await;
    let link_body = json!({"name": "K", "integration_id": integration});
    let path = link(h, &consumer, link_body).await;
    let done = post_form(h, &format!("{path}?customState=s1"), &[("api_key", "k")]).await;
    location(&done)
}

vault_modes!(
    #[tokio::test]
    append_result_params_false_drops_the_result_from_the_redirect
);
/// Chift: with `append_result_params` off, the vendor's page is reached without the result
/// parameters; with it on (the default), they are there.
async fn append_result_params_false_drops_the_result_from_the_redirect(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let created = keyed_integration(&h).await;
    let with = connect_and_follow(&h, &created["id"]).await;
    assert!(
        with.starts_with("https://app.acme.test/done?tab=apps&connectionId=con_")
            && with.contains("connectionStatus=active")
            && with.contains("customState=s1"),
        "{with}"
    );

    let (status, account) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"append_result_params": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["append_result_params"], false);
    let without = connect_and_follow(&h, &created["id"]).await;
    assert_eq!(without, "https://app.acme.test/done?tab=apps");
}

vault_modes!(
    #[tokio::test]
    target_origin_posts_the_result_to_the_opener_at_that_exact_origin
);
async fn target_origin_posts_the_result_to_the_opener_at_that_exact_origin(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let created = keyed_integration(&h).await;
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(
        &h,
        &consumer,
        json!({"name": "K", "integration_id": created["id"]}),
    )
    .await;
    let done = post_form(
        &h,
        &format!(
            "{path}?targetOrigin=https%3A%2F%2Fapp.acme.test&callbackMessage=done&customState=x"
        ),
        &[("api_key", "k")],
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK);
    let html = body_text(&done);
    let csp = done.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("a script nonce");
    assert!(
        html.contains(&format!(r#"<script nonce="{nonce}">"#)),
        "{html}"
    );
    assert!(
        html.contains(r#""origin":"https://app.acme.test""#)
            && html.contains(r#""connectionStatus":"active""#)
            && html.contains(r#""callbackMessage":"done""#),
        "{html}"
    );
    assert!(html.contains("postMessage(d.payload,d.origin)") && !html.contains(r#""*""#));

    // An origin that is not allowed is ignored: the ordinary redirect happens instead.
    let path = link(
        &h,
        &consumer,
        json!({"name": "K", "integration_id": created["id"]}),
    )
    .await;
    let done = post_form(
        &h,
        &format!("{path}?targetOrigin=https%3A%2F%2Fevil.test"),
        &[("api_key", "k")],
    )
    .await;
    assert!(location(&done).starts_with("https://app.acme.test/done?connectionId="));
}

/// A workspace token over `claims`, with a fresh `jti` (each token opens one popup).
fn workspace_token(secret: &str, mut claims: Value) -> String {
    claims["jti"] = json!(hex::encode(latchkey_domain::token::random_bytes::<8>()));
    signed_as_is(secret, claims)
}

fn signed_as_is(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

vault_modes!(
    #[tokio::test]
    connection_popup_opens_with_a_workspace_token
);
async fn connection_popup_opens_with_a_workspace_token(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let (status, rotated) = h
        .call("POST", "/v1/account/jwt-secret", Some(&h.key), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let secret = rotated["secret"].as_str().unwrap().to_owned();
    assert!(
        !h.get("/v1/account").await.1.to_string().contains(&secret),
        "shown once only"
    );
    keyed_integration(&h).await;
    let (_, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Globex", "internal_reference": "crm-9", "redirect_url": "https://app.acme.test/done"}))
        .await;
    let now = latchkey_store::testing::T0;
    let fresh = || {
        workspace_token(
            &secret,
            json!({"iss": h.account_id, "sub": "crm-9", "exp": now + 600}),
        )
    };

    // Query, JSON body, and form `payload`: all open the integration's form.
    let good = fresh();
    let form = browse(
        &h,
        &format!("connection-popup?token={good}&integrationKey=keyed&name=Keys"),
        None,
    )
    .await;
    assert_eq!(form.status(), StatusCode::OK, "{}", body_text(&form));
    let page = body_text(&form);
    assert!(page.contains(r#"name="api_key""#));
    // The popup runs on an activation of its own from here: the JWT is in no link.
    assert!(!page.contains(&good), "{page}");
    let action = page
        .split(r#"action=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(action.starts_with("/connect/lka_"), "{action}");
    for (content_type, body) in [
        (
            "application/json",
            json!({"token": fresh(), "integrationKey": "keyed"}).to_string(),
        ),
        (
            "application/x-www-form-urlencoded",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(
                    "payload",
                    &json!({"token": fresh(), "integrationKey": "keyed"}).to_string(),
                )
                .finish(),
        ),
    ] {
        let request = http::Request::builder()
            .method("POST")
            .uri("/connection-popup")
            .header("content-type", content_type)
            .body(Body::Text(body))
            .unwrap();
        let page = h.raw(request).await;
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "{content_type}: {}",
            body_text(&page)
        );
        assert!(body_text(&page).contains(r#"name="api_key""#));
    }
    let done = post_form(&h, &action[1..], &[("api_key", "k-1")]).await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    let q: std::collections::HashMap<_, _> = Url::parse(&location(&done))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let c = h
        .app
        .store
        .connection(
            &h.account_id,
            &ConnectionId::from(q["connectionId"].as_str()),
        )
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(
        (c.consumer_id.as_str(), c.name.as_str()),
        (consumer["id"].as_str().unwrap(), "Keys")
    );

    // Anything not signed by this account's current secret, or not current, is refused.
    let (_, other) = h
        .call("POST", "/v1/account/jwt-secret", Some(&h.other_key), None)
        .await;
    let other_account = h
        .call("GET", "/v1/account", Some(&h.other_key), None)
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD
        .encode(json!({"iss": h.account_id, "sub": "crm-9", "exp": now + 600}).to_string());
    let bad = [
        workspace_token(
            "wrong-secret",
            json!({"iss": h.account_id, "sub": "crm-9", "exp": now + 600}),
        ),
        workspace_token(
            &secret,
            json!({"iss": h.account_id, "sub": "crm-9", "exp": now}),
        ),
        workspace_token(
            &secret,
            json!({"iss": h.account_id, "sub": "crm-9", "exp": now + 7 * 86_400}),
        ),
        workspace_token(
            &secret,
            json!({"iss": h.account_id, "sub": "crm-unknown", "exp": now + 600}),
        ),
        workspace_token(&secret, json!({"iss": h.account_id, "sub": "crm-9"})),
        // Over 15 minutes ahead, or without a jti.
        workspace_token(
            &secret,
            json!({"iss": h.account_id, "sub": "crm-9", "exp": now + 16 * 60}),
        ),
        signed_as_is(
            &secret,
            json!({"iss": h.account_id, "sub": "crm-9", "exp": now + 600}),
        ),
        // Used once already.
        good.clone(),
        workspace_token(
            other["secret"].as_str().unwrap(),
            json!({"iss": other_account, "sub": "crm-9", "exp": now + 600}),
        ),
        format!("{header_none}.{claims}."),
    ];
    for token in bad {
        let refused = browse(
            &h,
            &format!("connection-popup?token={token}&integrationKey=keyed"),
            None,
        )
        .await;
        assert_eq!(refused.status(), StatusCode::GONE, "{token}");
    }
    // Rotating the secret retires the old one.
    let before_rotation = fresh();
    h.call("POST", "/v1/account/jwt-secret", Some(&h.key), None)
        .await;
    let stale = browse(
        &h,
        &format!("connection-popup?token={before_rotation}&integrationKey=keyed"),
        None,
    )
    .await;
    assert_eq!(stale.status(), StatusCode::GONE);
}

/// A minimal OAuth 1.0a provider on loopback that checks every HMAC-SHA1 signature (with
/// the signer the RFC 5849 example vector pins) and answers the two token calls.
async fn fake_oauth1_provider(consumer_secret: &'static str) -> (String, Arc<AtomicUsize>) {
    use latchkey_providers::oauth1::signature;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let verified = Arc::new(AtomicUsize::new(0));
    let (counter, base_for_server) = (verified.clone(), base.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16384];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = text.split_whitespace().nth(1).unwrap_or("").to_owned();
            let header = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: OAuth ")
                        .or_else(|| l.strip_prefix("Authorization: OAuth "))
                })
                .unwrap_or("")
                .to_owned();
            let mut params: Vec<(String, String)> = header
                .split(", ")
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| {
                    let decode = |s: &str| {
                        url::form_urlencoded::parse(
                            format!("x={}", s.trim_matches('"').replace('+', "%2B")).as_bytes(),
                        )
                        .next()
                        .unwrap()
                        .1
                        .into_owned()
                    };
                    (decode(k), decode(v))
                })
                .collect();
            let sent = params
                .iter()
                .position(|(k, _)| k == "oauth_signature")
                .map(|i| params.remove(i).1);
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let url = Url::parse(&format!("{base_for_server}{path}")).unwrap();
            let (token_secret, reply) = match path.as_str() {
                "/request_token"
                    if get("oauth_callback")
                        .is_some_and(|c| c.contains("/oauth/callback/int_")) =>
                {
                    (
                        "",
                        "oauth_token=rt1&oauth_token_secret=rts1&oauth_callback_confirmed=true",
                    )
                }
                "/access_token"
                    if get("oauth_token").as_deref() == Some("rt1")
                        && get("oauth_verifier").as_deref() == Some("v1") =>
                {
                    ("rts1", "oauth_token=at1&oauth_token_secret=ats1")
                }
                _ => ("", ""),
            };
            let ok = !reply.is_empty()
                && sent
                    == Some(signature(
                        "POST",
                        &url,
                        &params,
                        consumer_secret,
                        token_secret,
                    ));
            let response = if ok {
                counter.fetch_add(1, Ordering::SeqCst);
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                    reply.len()
                )
            } else {
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_owned()
            };
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (base, verified)
}

vault_modes!(
    #[tokio::test]
    oauth1_request_token_authorize_and_access_token
);
async fn oauth1_request_token_authorize_and_access_token(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let (base, verified) = fake_oauth1_provider("cs-secret").await;
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "boards", "name": "Boards",
                "auth_options": [{"key": "oauth1", "type": "oauth1",
                    "request_token_url": format!("{base}/request_token"),
                    "authorization_url": format!("{base}/authorize"),
                    "access_token_url": format!("{base}/access_token"),
                    "client": {"client_id": "ck-key", "client_secret": "cs-secret"}}],
                "api": {"base_url": "https://api.boards.example"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(
        &h,
        &consumer,
        json!({"name": "Boards", "integration_id": created["id"]}),
    )
    .await;
    let landing = browse(&h, &path, None).await;
    assert_eq!(
        landing.status(),
        StatusCode::FOUND,
        "{}",
        body_text(&landing)
    );
    assert_eq!(
        location(&landing),
        format!("{base}/authorize?oauth_token=rt1")
    );
    let cookie = flow_cookie(&landing);
    let callback = format!(
        "oauth/callback/{}?oauth_token=rt1&oauth_verifier=v1",
        created["id"].as_str().unwrap()
    );

    // Without the cookie nothing happens; with it, the verifier buys the access token.
    assert_eq!(
        browse(&h, &callback, None).await.status(),
        StatusCode::BAD_REQUEST
    );
    let done = browse(&h, &callback, Some(&cookie)).await;
    assert_eq!(done.status(), StatusCode::FOUND, "{}", body_text(&done));
    let q: std::collections::HashMap<_, _> = Url::parse(&location(&done))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["connectionStatus"], "active");
    assert_eq!(
        verified.load(Ordering::SeqCst),
        2,
        "both token calls carried valid signatures"
    );
    let c = h
        .app
        .store
        .connection(
            &h.account_id,
            &ConnectionId::from(q["connectionId"].as_str()),
        )
        .await
        .unwrap()
        .unwrap()
        .value;
    let stored = h
        .app
        .vault
        .get(
            &SecretScope::new(&h.account_id, &c.id),
            c.credentials.as_ref().unwrap(),
        )
        .await
        .unwrap();
    assert!(
        matches!(stored, Credentials::Oauth1 { token, token_secret } if token.expose() == "at1" && token_secret.expose() == "ats1")
    );
    // Replayed: refused.
    assert_eq!(
        browse(&h, &callback, Some(&cookie)).await.status(),
        StatusCode::BAD_REQUEST
    );
}

vault_modes!(
    #[tokio::test]
    a_link_with_connection_id_reauthorises_that_connection
);
async fn a_link_with_connection_id_reauthorises_that_connection(mode: VaultMode) {
    let h = Harness::in_mode(testing::dynamo_table().await, mode).await;
    let created = keyed_integration(&h).await;
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(
        &h,
        &consumer,
        json!({"name": "K", "integration_id": created["id"]}),
    )
    .await;
    let first = post_form(&h, &path, &[("api_key", "old-key")]).await;
    let q: std::collections::HashMap<_, _> = Url::parse(&location(&first))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let id = q["connectionId"].clone();

    // A failed re-authorisation stays in the popup, offering a retry and the way back.
    let reauth = link(&h, &consumer, json!({"name": "K", "integration_id": created["id"], "connection_id": id, "redirect": true})).await;
    let failed = post_form(&h, &reauth, &[("api_key", "")]).await;
    assert_eq!(
        failed.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the form asks again"
    );
    let done = post_form(&h, &reauth, &[("api_key", "new-key")]).await;
    let q: std::collections::HashMap<_, _> = Url::parse(&location(&done))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["connectionId"], id, "the same connection, re-authorised");
    let all = h
        .app
        .store
        .consumer_connections(
            &h.account_id,
            &ConsumerId::from(consumer.as_str()),
            None,
            10,
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 1);
    let c = &all[0].value;
    let stored = h
        .app
        .vault
        .get(
            &SecretScope::new(&h.account_id, &c.id),
            c.credentials.as_ref().unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(stored, Credentials::ApiKey { api_key } if api_key.expose() == "new-key"));

    // Without redirect=true, success returns to the popup's own page.
    let quiet = link(
        &h,
        &consumer,
        json!({"name": "K", "integration_id": created["id"], "connection_id": id}),
    )
    .await;
    let page = post_form(&h, &quiet, &[("api_key", "newer-key")]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(body_text(&page).contains("Connected") && !page.headers().contains_key("location"));
}
