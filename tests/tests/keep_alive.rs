//! Keeping connections alive (docs/ARCHITECTURE.md §5) against a real OAuth server with refresh-token
//! rotation (oidc-provider: reusing a rotated refresh token revokes the whole grant, so a
//! double refresh shows up as dead tokens): the lease, the scheduled run, the credentials
//! endpoint, the proxy's refresh-and-retry, disconnect with revocation, signed webhooks,
//! and server-side install.

use latchkey_connect::flow::{Completion, Issued, complete};
use latchkey_domain::{ConnectionId, IntegrationId};
use latchkey_store::{Accounts, Connections, Integrations};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use lambda_http::Body;
use lambda_http::http::{self, StatusCode};
use latchkey_connect::connections;
use latchkey_connect::connections::RunOptions;
use latchkey_domain::Credentials;
use latchkey_store::Table;
use latchkey_store::testing;
use latchkey_tests::loopback::{Loopback, Recorded};
use latchkey_tests::oauth::*;
use latchkey_tests::{Harness, vault_modes};
use latchkey_vault::VaultMode;
use serde_json::{Value, json};
use sha2::Sha256;

/// (access token, refresh token) of stored OAuth credentials.
fn tokens(c: &Credentials) -> (String, String) {
    let Credentials::Oauth2 {
        access_token,
        refresh_token,
        ..
    } = c
    else {
        panic!("OAuth 2.0 credentials expected");
    };
    (
        access_token.expose().to_owned(),
        refresh_token.as_ref().unwrap().expose().to_owned(),
    )
}

fn authorization(r: &Recorded) -> String {
    r.headers.get("authorization").cloned().unwrap_or_default()
}

/// oidc-provider issues one-hour tokens: 40 minutes on, they are inside the 30-minute margin.
const INTO_THE_MARGIN: i64 = 40 * 60;

vault_modes!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    scheduler_credentials_and_proxy_at_once_make_one_token_request
);
async fn scheduler_credentials_and_proxy_at_once_make_one_token_request(mode: VaultMode) {
    let h = Harness::in_mode(testing::dynamo_table().await, mode).await;
    let upstream = Loopback::start(|_| async { (200, r#"{"ok":true}"#.to_owned()) }).await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", Some(&upstream.url)).await;
    let (_, id) = connect(&h, &integration).await;
    let (old_access, old_refresh) = tokens(&h.credentials(&id).await);
    let before = token_requests(&client).await;
    // The winner's token request outlasts the scheduler's index query, so all three
    // really meet on the lease (a fast provider let the scheduler arrive after it).
    slow_token_endpoint(&client, 500).await;

    h.clock.advance(INTO_THE_MARGIN);
    let credentials_path = format!("/v1/connections/{id}/credentials");
    let proxy_path = format!("/v1/connections/{id}/proxy/v1/me");
    let (report, (status, credentials), (proxied, _)) = tokio::join!(
        connections::run(&h.app, RunOptions::default()),
        h.get(&credentials_path),
        h.get(&proxy_path),
    );
    let report = report.unwrap();
    assert_eq!((status, proxied), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        token_requests(&client).await,
        before + 1,
        "exactly one refresh"
    );
    assert_eq!(report.due, 1);
    assert_eq!(report.refreshed + report.busy + report.already_fresh, 1);

    let (new_access, new_refresh) = tokens(&h.credentials(&id).await);
    assert_ne!(new_access, old_access);
    assert_ne!(
        new_refresh, old_refresh,
        "the rotated refresh token is stored"
    );
    assert_eq!(credentials["access_token"], new_access.as_str());
    assert!(credentials.get("refresh_token").is_none());
    let seen = upstream.recorded();
    assert_eq!(seen.len(), 1);
    assert_eq!(authorization(&seen[0]), format!("Bearer {new_access}"));
    // A second refresh with the old token would have revoked the grant at the provider.
    assert_eq!(introspect(&client, &new_access).await["active"], true);
    assert_eq!(introspect(&client, &new_refresh).await["active"], true);
    assert_eq!(introspect(&client, &old_refresh).await["active"], false);

    let (_, connection) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active");
    assert!(connection.get("credentials").is_none());
    assert!(connection["refresh"]["last_success_at"].is_string());
}

fn verify_signature(secret: &str, r: &Recorded) -> bool {
    let header = &r.headers["latchkey-signature"];
    let (t, v1) = header
        .split_once(',')
        .map(|(t, v)| (t.trim_start_matches("t="), v.trim_start_matches("v1=")))
        .unwrap();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", r.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn wait_for_event(receiver: &Loopback, kind: &str) -> Recorded {
    // Up to 10 s: generous for a loaded CI machine, and the loop ends as soon as it arrives.
    for _ in 0..200 {
        let found = receiver
            .recorded()
            .into_iter()
            .find(|r| serde_json::from_str::<Value>(&r.body).is_ok_and(|v| v["type"] == kind));
        if let Some(r) = found {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {kind} webhook arrived");
}

vault_modes!(
    #[tokio::test]
    invalid_grant_marks_needs_reauth_and_sends_a_signed_webhook
);
async fn invalid_grant_marks_needs_reauth_and_sends_a_signed_webhook(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let (receiver, secret) = latchkey_tests::webhooks::receiving(&h).await;
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(account["webhook_secret_set"], true);

    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", None).await;
    let (_, id) = connect(&h, &integration).await;
    let created = wait_for_event(&receiver, "connection.created").await;
    assert!(verify_signature(&secret, &created));

    // The user revokes the app at the provider: the refresh token is dead.
    let (_, refresh) = tokens(&h.credentials(&id).await);
    let revoked = reqwest::Client::new()
        .post(format!("{}/token/revocation", issuer()))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let before = token_requests(&client).await;

    h.clock.advance(INTO_THE_MARGIN);
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!((report.due, report.needs_reauth), (1, 1));
    let (_, connection) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "needs_reauth");
    assert_eq!(connection["refresh"]["last_error"], "invalid_grant");
    assert_eq!(connection["refresh"]["consecutive_failures"], 1);

    let event = wait_for_event(&receiver, "connection.needs_reauth").await;
    assert!(verify_signature(&secret, &event), "{:?}", event.headers);
    let mut tampered = event.clone();
    tampered.body = tampered.body.replace("needs_reauth", "active");
    assert!(!verify_signature(&secret, &tampered));
    let body: Value = serde_json::from_str(&event.body).unwrap();
    assert_eq!(body["data"]["connection"]["id"], id.as_str());
    assert!(body["data"]["connection"].get("credentials").is_none());
    assert!(!event.body.contains(&refresh));

    // No retry storm: the connection left the schedule, and asking for its credentials
    // says what to do instead of calling the provider again.
    h.clock.advance(3600);
    let again = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(again.due, 0);
    let (status, problem) = h.get(&format!("/v1/connections/{id}/credentials")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("needs_reauth"))
    );
    assert_eq!(token_requests(&client).await, before + 1);
}

vault_modes!(
    #[tokio::test]
    proxy_refreshes_once_and_retries_once_on_401
);
async fn proxy_refreshes_once_and_retries_once_on_401(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let rejected = Arc::new(Mutex::new(HashSet::<String>::new()));
    let reject_all = Arc::new(AtomicBool::new(false));
    let (r, all) = (rejected.clone(), reject_all.clone());
    let upstream = Loopback::start(move |req| {
        let refused =
            all.load(Ordering::SeqCst) || r.lock().unwrap().contains(&authorization(&req));
        async move {
            if refused {
                (401, r#"{"error":"invalid_token"}"#.to_owned())
            } else {
                (200, r#"{"items":[1,2]}"#.to_owned())
            }
        }
    })
    .await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", Some(&upstream.url)).await;
    let (_, id) = connect(&h, &integration).await;
    let (old_access, _) = tokens(&h.credentials(&id).await);
    // The provider stops accepting the token early (revoked, clock skew, …).
    rejected
        .lock()
        .unwrap()
        .insert(format!("Bearer {old_access}"));
    let before = token_requests(&client).await;

    let call = || {
        http::Request::builder()
            .method("GET")
            .uri(format!("/v1/connections/{id}/proxy/items?page=2"))
            .header("authorization", format!("Bearer {}", h.key))
            .header("x-trace", "abc")
            .body(Body::Empty)
            .unwrap()
    };
    let response = h.raw(call()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), br#"{"items":[1,2]}"#);
    let (new_access, _) = tokens(&h.credentials(&id).await);
    assert_ne!(new_access, old_access);
    let seen = upstream.recorded();
    assert_eq!(seen.len(), 2, "one call, one retry");
    assert_eq!(authorization(&seen[0]), format!("Bearer {old_access}"));
    assert_eq!(authorization(&seen[1]), format!("Bearer {new_access}"));
    for r in &seen {
        assert_eq!(r.target, "/items?page=2");
        assert_eq!(r.headers["x-trace"], "abc");
        assert!(
            r.headers.values().all(|v| !v.contains(&h.key)),
            "the caller's API key never leaves"
        );
    }
    assert_eq!(token_requests(&client).await, before + 1);

    // The provider refuses every token: one refresh, one retry, then its 401 is the answer.
    reject_all.store(true, Ordering::SeqCst);
    let response = h.raw(call()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(upstream.recorded().len(), 4);
    assert_eq!(token_requests(&client).await, before + 2);
}

/// A connection stored directly, expiring `expires_in` seconds from now.
async fn stored_connection(h: &Harness, integration: &str, expires_in: i64) -> String {
    let integration = IntegrationId::from(integration);
    latchkey_core::testing::oauth_connection(&h.app, &h.account_id, &integration, expires_in)
        .await
        .to_string()
}

async fn fake_provider_integration(h: &Harness, token_url: &str) -> String {
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "bulk", "name": "Bulk",
                "auth_options": [{
                    "key": "oauth", "type": "oauth2",
                    "authorization_url": format!("{token_url}/auth"),
                    "token_url": format!("{token_url}/token"),
                    "client": {"client_id": "bulk-client", "client_secret": "bulk-secret"}
                }],
                "api": {"base_url": token_url}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

const FRESH_TOKENS: &str =
    r#"{"access_token":"new-access","refresh_token":"new-refresh","expires_in":3600}"#;

async fn refresh_run_reads_only_due_connections(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    let provider = Loopback::start(|_| async { (200, FRESH_TOKENS.to_owned()) }).await;
    let integration = fake_provider_integration(&h, &provider.url).await;
    // 50 expire in a minute (inside the margin), 950 in two hours; written in bulk (one
    // transaction each would take minutes on moto, which copies its tables per transaction).
    let mut due = latchkey_core::testing::oauth_connections(
        &h.app,
        &h.account_id,
        &IntegrationId::from(integration.as_str()),
        1000,
        50,
    )
    .await;
    due.truncate(50);
    let report = connections::run(
        &h.app,
        RunOptions {
            concurrency: 16,
            ..RunOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((report.due, report.refreshed), (50, 50), "{report:?}");
    assert!(report.read <= 55, "read {} items for 50 due", report.read);
    assert_eq!(provider.recorded().len(), 50);
    for id in &due {
        assert_eq!(tokens(&h.credentials(id.as_str()).await).0, "new-access");
    }
    let again = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!((again.due, again.read), (0, 0));
}

#[tokio::test]
async fn a_refresh_run_reads_only_the_due_connections_in_sqlite() {
    refresh_run_reads_only_due_connections(testing::sqlite_table().await).await;
}

#[tokio::test]
async fn a_refresh_run_reads_only_the_due_connections_in_dynamodb() {
    refresh_run_reads_only_due_connections(testing::dynamo_table().await).await;
}

vault_modes!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    disconnect_during_a_refresh_leaves_the_connection_deleted
);
async fn disconnect_during_a_refresh_leaves_the_connection_deleted(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let gate = Arc::new(tokio::sync::Notify::new());
    let g = gate.clone();
    let provider = Loopback::start(move |_| {
        let g = g.clone();
        async move {
            g.notified().await;
            (200, FRESH_TOKENS.to_owned())
        }
    })
    .await;
    let integration = fake_provider_integration(&h, &provider.url).await;
    let id = stored_connection(&h, &integration, 600).await;

    let app = h.app.clone();
    let run = tokio::spawn(async move { connections::run(&app, RunOptions::default()).await });
    for _ in 0..1000 {
        if !provider.recorded().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(provider.recorded().len(), 1, "the refresh is in flight");
    let (status, _) = h.delete(&format!("/v1/connections/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    gate.notify_one();
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.due, report.refreshed, report.skipped), (1, 0, 1));

    let (status, _) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        h.app
            .store
            .connection(&h.account_id, &ConnectionId::from(id.as_str()))
            .await
            .unwrap()
            .is_none()
    );
    let again = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(again.due, 0);
}

/// A user re-authorises while a refresh (started with the old grant) waits on the
/// provider: the refresh loses the connection item's conditional update, and however the
/// two secret writes were ordered, the re-authorised credentials are the ones read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthorisation_during_a_refresh_keeps_the_new_grant_sealed() {
    reauthorisation_during_a_refresh_keeps_the_new_grant(VaultMode::Sealed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthorisation_during_a_refresh_keeps_the_new_grant_secretsmanager() {
    reauthorisation_during_a_refresh_keeps_the_new_grant(VaultMode::SecretsManager).await;
}

async fn reauthorisation_during_a_refresh_keeps_the_new_grant(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let gate = Arc::new(tokio::sync::Notify::new());
    let g = gate.clone();
    let provider = Loopback::start(move |_| {
        let g = g.clone();
        async move {
            g.notified().await;
            (200, FRESH_TOKENS.to_owned())
        }
    })
    .await;
    let integration_id = fake_provider_integration(&h, &provider.url).await;
    let id = stored_connection(&h, &integration_id, 600).await;
    let connection_id = ConnectionId::from(id.as_str());
    let connection = h
        .app
        .store
        .connection(&h.account_id, &connection_id)
        .await
        .unwrap()
        .unwrap()
        .value;
    let integration = h
        .app
        .store
        .integration(&h.account_id, &IntegrationId::from(integration_id.as_str()))
        .await
        .unwrap()
        .unwrap()
        .value;

    let app = h.app.clone();
    let run = tokio::spawn(async move { connections::run(&app, RunOptions::default()).await });
    for _ in 0..1000 {
        if !provider.recorded().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(provider.recorded().len(), 1, "the refresh is in flight");
    let reauthorised = Credentials::Oauth2 {
        access_token: "reauth-access".into(),
        refresh_token: Some("reauth-refresh".into()),
        token_type: Some("bearer".into()),
        scope: None,
        expires_at: Some(testing::T0 + 3600),
        client_id: None,
        client_secret: None,
    };
    let account = h
        .app
        .store
        .account(&h.account_id)
        .await
        .unwrap()
        .unwrap()
        .value;
    complete(
        &h.app,
        Completion {
            account: &account,
            consumer_id: &connection.consumer_id,
            integration: &integration,
            auth_option_key: "oauth",
            name: "Bulk",
            description: None,
            parameters: Default::default(),
            connection_id: Some(&connection_id),
            allow_multiple: false,
            activation_hash: None,
            issued: Issued::renewable(reauthorised, Some(testing::T0 + 3600)),
        },
    )
    .await
    .unwrap();
    gate.notify_one();
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.due, report.refreshed), (1, 0), "{report:?}");
    assert_eq!(
        tokens(&h.credentials(&id).await),
        ("reauth-access".to_owned(), "reauth-refresh".to_owned()),
        "the refresh that started on the old grant did not overwrite the new one"
    );
}

vault_modes!(
    #[tokio::test]
    delete_revokes_at_the_provider_then_forgets_the_credentials
);
async fn delete_revokes_at_the_provider_then_forgets_the_credentials(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", None).await;
    let (consumer, id) = connect(&h, &integration).await;
    let (access, refresh) = tokens(&h.credentials(&id).await);
    assert_eq!(introspect(&client, &refresh).await["active"], true);

    let (status, _) = h
        .call(
            "DELETE",
            &format!("/v1/connections/{id}"),
            Some(&h.other_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another account cannot");
    let (status, _) = h.delete(&format!("/v1/connections/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(introspect(&client, &refresh).await["active"], false);
    assert_eq!(introspect(&client, &access).await["active"], false);
    let (status, _) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = h
        .get(&format!("/v1/consumers/{consumer}/connections"))
        .await;
    assert_eq!(listed["data"], json!([]));
}

vault_modes!(
    #[tokio::test]
    install_stores_known_credentials_verifies_them_and_refuses_bad_input
);
async fn install_stores_known_credentials_verifies_them_and_refuses_bad_input(mode: VaultMode) {
    let h = Harness::in_mode(testing::sqlite_table().await, mode).await;
    let upstream = Loopback::start(|req| async move {
        match req.headers.get("x-api-key").map(String::as_str) {
            Some("k-123") => (200, r#"{"me":"globex"}"#.to_owned()),
            _ => (401, "{}".to_owned()),
        }
    })
    .await;
    let (status, keyed) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "keyed", "name": "Keyed",
                "auth_options": [{"key": "key", "type": "api_key"}, {"key": "login", "type": "basic"}],
                "api": {"base_url": upstream.url, "token_param_name": "X-Api-Key", "value_template": "{token}"}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{keyed}");
    let keyed = keyed["id"].as_str().unwrap().to_owned();
    let consumer = consumer(&h, None).await;
    let install = format!("/v1/consumers/{consumer}/connections/install");

    for (body, code, field) in [
        (
            json!({"integration_id": keyed, "auth_value": " "}),
            "validation_failed",
            "auth_value",
        ),
        (
            json!({"integration_id": "int_nope", "auth_value": "k"}),
            "validation_failed",
            "integration_id",
        ),
        (
            json!({"integration_id": keyed, "auth_option_key": "login", "auth_value": "not base64!"}),
            "validation_failed",
            "auth_value",
        ),
        (
            json!({"integration_id": keyed, "auth_value": "k", "colour": "red"}),
            "malformed_body",
            "colour",
        ),
    ] {
        let (status, problem) = h.send("POST", &install, body.clone()).await;
        assert!(status.is_client_error(), "{body}: {status}");
        assert_eq!(problem["code"], code, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    let (_, listed) = h
        .get(&format!("/v1/consumers/{consumer}/connections"))
        .await;
    assert_eq!(listed["data"], json!([]), "refused installs change nothing");

    let (status, good) = h
        .send(
            "POST",
            &install,
            json!({"integration_id": keyed, "name": "Keyed (prod)", "auth_value": "k-123", "verify_path": "/whoami"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    assert_eq!(
        (good["authenticated"].as_bool(), good["status"].as_str()),
        (Some(true), Some("active"))
    );
    assert!(good.get("credentials").is_none() && !good.to_string().contains("k-123"));
    let (status, wrong) = h
        .send(
            "POST",
            &install,
            json!({"integration_id": keyed, "auth_value": "nope", "verify_path": "/whoami", "allow_multiple_connections": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(wrong["authenticated"], false);
    let seen = upstream.recorded();
    assert_eq!(seen[0].target, "/whoami");
    assert_eq!(seen[0].headers["x-api-key"], "k-123");

    let id = good["id"].as_str().unwrap();
    let (status, credentials) = h.get(&format!("/v1/connections/{id}/credentials")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            credentials["type"].as_str(),
            credentials["api_key"].as_str()
        ),
        (Some("api_key"), Some("k-123"))
    );
    let (status, _) = h
        .call(
            "GET",
            &format!("/v1/connections/{id}/credentials"),
            Some(&h.other_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // username:password for basic, and OAuth tokens imported from elsewhere.
    let (status, basic) = h
        .send(
            "POST",
            &install,
            json!({"integration_id": keyed, "auth_option_key": "login", "auth_value": "Z2xvYmV4OnMzY3JldDpwYXJ0", "allow_multiple_connections": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{basic}");
    let (_, credentials) = h
        .get(&format!(
            "/v1/connections/{}/credentials",
            basic["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (
            credentials["username"].as_str(),
            credentials["password"].as_str()
        ),
        (Some("globex"), Some("s3cret:part"))
    );

    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let oauth = oauth_integration(&h, &client, "basic", None).await;
    let (status, imported) = h
        .send(
            "POST",
            &install,
            json!({"integration_id": oauth, "tokens": {"access_token": "imported", "refresh_token": "imported-r", "expires_in": 3600}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    assert_eq!(imported["refreshable"], true);
    let (_, credentials) = h
        .get(&format!(
            "/v1/connections/{}/credentials",
            imported["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(credentials["access_token"], "imported");
    assert!(credentials.get("refresh_token").is_none());

    // Deleting the consumer disconnects its connections first.
    let (status, _) = h.delete(&format!("/v1/consumers/{consumer}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for c in [&good, &wrong, &basic, &imported] {
        let (status, _) = h
            .get(&format!("/v1/connections/{}", c["id"].as_str().unwrap()))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
