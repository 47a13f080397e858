//! Latchkey with its AWS services failing: a fault-injecting proxy between it and moto
//! (`latchkey_tests::faults`) answers chosen calls with errors, throttling or a stall.
//! Security findings L8 (what a forged token or a lease wait costs in vault calls) are
//! counted through the same proxy.

use std::time::Duration;

use lambda_http::http::StatusCode;
use latchkey_tests::Harness;
use latchkey_tests::faults::{Fault, FaultProxy};
use latchkey_tests::loopback::Loopback;
use latchkey_tests::oauth::{ROTATED, browse, installed_with_tokens, integration_at};
use latchkey_vault::VaultMode;
use serde_json::json;

const GET_SECRET: &str = "secretsmanager.GetSecretValue";

fn moto() -> String {
    latchkey_store::testing::aws_endpoint()
}

/// L8: a forged workspace token used to cost a Secrets Manager call before its signature
/// was checked. The account's signing key is now kept per instance (by its versioned
/// reference, so a rotation is seen at once): forged tokens cost no vault call.
#[tokio::test]
async fn forged_workspace_tokens_cost_no_vault_calls() {
    let proxy = FaultProxy::to(&moto()).await;
    let h = Harness::through(&proxy, VaultMode::SecretsManager).await;
    let rotate = || h.call("POST", "/v1/account/jwt-secret", Some(&h.key), None);
    let (status, first) = rotate().await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Globex", "internal_reference": "crm-9"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let signed = |secret: &str, jti: String| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"iss": h.account_id.as_str(), "sub": "crm-9",
                    "exp": latchkey_store::testing::T0 + 600, "jti": jti}),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let h = &h;
    let open = |token: String| async move {
        browse(h, &format!("connection-popup?token={token}"), None)
            .await
            .status()
    };
    let first = first["secret"].as_str().unwrap().to_owned();
    assert_eq!(open(signed(&first, "a".into())).await, StatusCode::OK);

    let before = proxy.count(GET_SECRET);
    for n in 0..20 {
        let forged = signed("not the account's secret", format!("forged-{n}"));
        assert_eq!(open(forged).await, StatusCode::GONE);
    }
    let reads = proxy.count(GET_SECRET) - before;
    assert_eq!(reads, 0, "{reads} vault reads for 20 forged tokens");

    // A rotation is a new reference: the kept key is not used for it, the old secret
    // opens nothing from then on, the new one does.
    let (_, second) = rotate().await;
    let second = second["secret"].as_str().unwrap().to_owned();
    assert_eq!(open(signed(&first, "b".into())).await, StatusCode::GONE);
    assert_eq!(open(signed(&second, "c".into())).await, StatusCode::OK);
}

/// L8: a caller waiting for another worker's refresh polls the connection item with
/// backoff and reads the vault again only once the item changed, instead of reloading
/// the credentials every ~75 ms.
#[tokio::test]
async fn a_lease_waiter_reads_the_vault_only_when_the_connection_changed() {
    let proxy = FaultProxy::to(&moto()).await;
    let h = Harness::through(&proxy, VaultMode::SecretsManager).await;
    let provider = Loopback::start(|_| async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        (200, ROTATED.to_owned())
    })
    .await;
    let books = integration_at(&h, "books", &provider.url).await;
    let (_, connection) = installed_with_tokens(&h, &books, json!({"name": "Globex"})).await;
    h.clock.advance(3600 - 60);

    let before = proxy.count(GET_SECRET);
    let path = format!("/v1/connections/{connection}/credentials");
    let (first, second) = tokio::join!(h.get(&path), h.get(&path));
    for (status, answer) in [&first, &second] {
        assert_eq!(*status, StatusCode::OK, "{answer}");
        assert_eq!(answer["access_token"], "at-2", "{answer}");
    }
    assert_eq!(provider.recorded().len(), 1, "one refresh for both");
    let reads = proxy.count(GET_SECRET) - before;
    assert!(reads <= 4, "{reads} vault reads while one waited 2 s");
}

/// The names of the connection secrets `account` keeps in the test Secrets Manager.
async fn connection_secrets(account: &str) -> Vec<String> {
    let client = aws_sdk_secretsmanager::Client::new(&latchkey_store::testing::sdk_config().await);
    let mut names = Vec::new();
    let mut pages = client.list_secrets().into_paginator().send();
    while let Some(page) = pages.next().await {
        for secret in page.unwrap().secret_list() {
            let name = secret.name().unwrap_or("");
            if name.contains(&format!("/{account}/con_")) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// A store failure after the code exchange, while the connection is written: no
/// half-written connection, no credentials left in the vault without one, and the vendor
/// hears of it (`error=…`) instead of a bare 500.
#[tokio::test]
async fn a_store_failure_after_the_code_exchange_leaves_nothing_behind() {
    use latchkey_tests::oauth::{
        consumer, flow_cookie, integration_answering, link, location, redirect_path, sent_state,
    };
    let proxy = FaultProxy::to(&moto()).await;
    let h = Harness::through(&proxy, VaultMode::SecretsManager).await;
    let tokens = (
        200,
        r#"{"access_token":"a","refresh_token":"r","expires_in":3600,"token_type":"bearer"}"#
            .to_owned(),
    );
    let (books, provider) = integration_answering(&h, "books", tokens).await;
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(&h, &consumer, json!({"name": "B", "integration_id": books})).await;
    let landing = browse(&h, &path, None).await;
    let cookie = flow_cookie(&landing);
    let state = sent_state(&landing);

    // Every attempt the SDK makes at the connection's write fails.
    proxy.inject(
        "DynamoDB_20120810.TransactWriteItems",
        3,
        Fault::SERVER_ERROR,
    );
    let done = browse(
        &h,
        &format!("{}?code=c&state={state}", redirect_path(&landing)),
        Some(&cookie),
    )
    .await;
    assert_eq!(proxy.given(), 3, "the write was tried and failed");
    assert_eq!(provider.recorded().len(), 1, "the code was exchanged");
    let to = url::Url::parse(&location(&done)).unwrap();
    let q: std::collections::BTreeMap<_, _> = to.query_pairs().into_owned().collect();
    assert!(
        to.as_str().starts_with("https://app.acme.test/done?"),
        "{to}"
    );
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("internal_error"),
        "{to}"
    );
    assert!(!q.contains_key("connectionId"));
    let (_, listed) = h.get("/v1/connections").await;
    assert_eq!(listed["data"], json!([]), "no connection");
    assert_eq!(
        connection_secrets(h.account_id.as_str()).await,
        Vec::<String>::new(),
        "no credentials without a connection"
    );
}

/// A refresh whose connection write fails after the provider rotated the refresh token
/// keeps the new token: the write is retried until it lands. Each refresh below meets
/// four failed writes in a row (more than the SDK's three attempts) right after its token
/// call; over 1,000 injected faults no rotation is lost (the stored refresh token was
/// never redeemed at the provider) and every refresh answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_rotated_refresh_token_is_lost_to_store_failures() {
    const GROUPS: usize = 8;
    const CONNECTIONS: usize = 4;
    const ROUNDS: usize = 8;
    const FAULTS_PER_WRITE: usize = 4;
    let runs = (0..GROUPS).map(|group| async move {
        let proxy = FaultProxy::to(&moto()).await;
        let h = Harness::through(&proxy, VaultMode::Sealed).await;
        let redeemed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let (seen, faults) = (redeemed.clone(), proxy.clone());
        let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let provider = Loopback::start(move |r| {
            let (seen, faults, issued) = (seen.clone(), faults.clone(), issued.clone());
            async move {
                let old = url::form_urlencoded::parse(r.body.as_bytes())
                    .find(|(k, _)| k == "refresh_token")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                seen.lock().unwrap().push(old);
                let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // The next writes (this refresh's connection update) fail.
                faults.inject("DynamoDB_20120810.PutItem", FAULTS_PER_WRITE, Fault::SERVER_ERROR);
                let body = format!(
                    r#"{{"access_token":"at-{group}-{n}","refresh_token":"rt-{group}-{n}","expires_in":3600,"token_type":"bearer"}}"#
                );
                (200, body)
            }
        })
        .await;
        let books = integration_at(&h, "books", &provider.url).await;
        let (_, consumer) = h
            .send("POST", "/v1/consumers", json!({"name": "Globex"}))
            .await;
        let mut connections = Vec::new();
        for i in 0..CONNECTIONS {
            let (status, installed) = h
                .send(
                    "POST",
                    &format!(
                        "/v1/consumers/{}/connections/install",
                        consumer["id"].as_str().unwrap()
                    ),
                    json!({"integration_id": books, "allow_multiple_connections": true, "tokens": {
                        "access_token": "at", "refresh_token": format!("rt-{group}-initial-{i}"),
                        "expires_in": 3600}}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{installed}");
            connections.push(installed["id"].as_str().unwrap().to_owned());
        }
        for _ in 0..ROUNDS {
            for id in &connections {
                let (status, answer) = h
                    .send("POST", &format!("/v1/connections/{id}/refresh"), json!({}))
                    .await;
                assert_eq!(status, StatusCode::OK, "{answer}");
            }
        }
        let redeemed = redeemed.lock().unwrap().clone();
        let mut lost = 0;
        for id in &connections {
            let latchkey_domain::Credentials::Oauth2 { refresh_token, .. } = h.credentials(id).await
            else {
                panic!("OAuth 2.0 credentials");
            };
            let kept = refresh_token.unwrap().expose().to_owned();
            lost += usize::from(redeemed.contains(&kept));
        }
        assert_eq!(redeemed.len(), CONNECTIONS * ROUNDS, "one token call a refresh");
        (proxy.given(), lost)
    });
    let results = futures_util::future::join_all(runs).await;
    let given: usize = results.iter().map(|(g, _)| g).sum();
    let lost: usize = results.iter().map(|(_, l)| l).sum();
    assert!(given >= 1000, "{given} faults injected");
    assert_eq!(lost, 0, "{lost} rotations lost over {given} faults");
}

/// A stalled Secrets Manager call is cut at the invocation's deadline: the request answers
/// `503 unavailable` (retry shortly) while it can, instead of Lambda's bare 500 at its
/// timeout; the stored credentials are untouched and read once the vault answers again.
#[tokio::test]
async fn a_stalled_vault_call_ends_within_the_invocation_deadline() {
    let proxy = FaultProxy::to(&moto()).await;
    let h = Harness::through(&proxy, VaultMode::SecretsManager).await;
    let connection = latchkey_tests::oauth::keyed_connection(&h).await;
    let path = format!("/v1/connections/{connection}/credentials");
    proxy.inject(GET_SECRET, 3, Fault::Stall(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let (status, problem) = h.call_on_lambda("GET", &path, Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
        "{problem}"
    );
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    proxy.heal();
    let (status, credentials) = h.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{credentials}");
    assert_eq!(credentials["api_key"], "k-1");
}

/// Throttling during a scheduled refresh run is absorbed with backoff: every due
/// connection is still refreshed in the same run.
#[tokio::test]
async fn a_throttled_refresh_run_backs_off_and_finishes() {
    use latchkey_connect::connections::{self, RunOptions};
    let proxy = FaultProxy::to(&moto()).await;
    let h = Harness::through(&proxy, VaultMode::Sealed).await;
    let provider = Loopback::start(|_| async { (200, ROTATED.to_owned()) }).await;
    let books = integration_at(&h, "books", &provider.url).await;
    let integration = &books;
    for n in 0..6 {
        installed_with_tokens(&h, integration, json!({"name": format!("Globex {n}")})).await;
    }
    h.clock.advance(3600 - 60);
    // Two throttled answers in a row for the run's first reads and writes of each kind.
    for call in ["Query", "GetItem", "PutItem"] {
        proxy.inject(
            &format!("DynamoDB_20120810.{call}"),
            2,
            latchkey_tests::faults::Fault::THROTTLED,
        );
    }
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(proxy.given(), 6, "every throttle was met");
    assert_eq!((report.due, report.refreshed), (6, 6), "{report:?}");
    assert_eq!(provider.recorded().len(), 6);
}

/// L3: a refresh whose provider answers near the invocation's deadline still stores the
/// rotated refresh token: the token call is cut 2 s before the deadline, which leaves
/// the writes (here one of them throttled once) their time.
#[tokio::test]
async fn a_refresh_answered_near_the_deadline_keeps_the_rotated_token() {
    let proxy = FaultProxy::to(&moto()).await;
    let h = Harness::through(&proxy, VaultMode::SecretsManager).await;
    let faults = proxy.clone();
    let provider = Loopback::start(move |_| {
        let faults = faults.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(2700)).await;
            faults.inject("DynamoDB_20120810.PutItem", 1, Fault::THROTTLED);
            (200, ROTATED.to_owned())
        }
    })
    .await;
    let books = integration_at(&h, "books", &provider.url).await;
    let (_, id) = installed_with_tokens(&h, &books, json!({"name": "A"})).await;
    h.clock.advance(3600 - 60);
    let (status, answer) = h
        .call_on_lambda(
            "GET",
            &format!("/v1/connections/{id}/credentials"),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["access_token"], "at-2");
    assert_eq!(proxy.given(), 1);
    let latchkey_domain::Credentials::Oauth2 { refresh_token, .. } = h.credentials(&id).await
    else {
        panic!("OAuth 2.0 credentials");
    };
    assert_eq!(
        refresh_token.unwrap().expose(),
        "rt-2",
        "the rotation is kept"
    );
}

/// Between Latchkey and the OAuth provider (the real oidc-provider, behind the proxy): a
/// token endpoint that fails, or stalls past the invocation's deadline, during a refresh
/// keeps the current token in service (the caller gets it, the connection retries later
/// with backoff), and the next refresh rotates the grant as usual: nothing was lost.
#[tokio::test]
async fn a_failing_or_stalled_token_endpoint_keeps_the_current_token() {
    use latchkey_tests::oauth::{connect, introspect, issuer, oauth_integration_via, register};
    let proxy = FaultProxy::to(&issuer()).await;
    let h = Harness::new(latchkey_store::testing::sqlite_table().await).await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let token_url = format!("{}/token", proxy.url);
    let integration = oauth_integration_via(&h, &client, "basic", None, &token_url).await;
    let (_, id) = connect(&h, &integration).await;
    let tokens = async || {
        let latchkey_domain::Credentials::Oauth2 {
            access_token,
            refresh_token,
            ..
        } = h.credentials(&id).await
        else {
            panic!("OAuth 2.0 credentials");
        };
        (
            access_token.expose().to_owned(),
            refresh_token.unwrap().expose().to_owned(),
        )
    };
    let (access, refresh) = tokens().await;
    let path = format!("/v1/connections/{id}/credentials");
    h.clock.advance(3600 - 20 * 60);

    // A 503, then a stall past a 5 s invocation: the current token is served both times.
    proxy.inject(
        "POST /token",
        1,
        Fault::Answer(503, r#"{"error":"temporarily_unavailable"}"#),
    );
    let (status, answer) = h.get(&path).await;
    assert_eq!(
        (
            status,
            answer["access_token"].as_str(),
            answer["refreshed"].as_bool()
        ),
        (StatusCode::OK, Some(access.as_str()), Some(false)),
        "{answer}"
    );
    let (_, connection) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(connection["refresh"]["last_error"], "provider_unavailable");
    // Past the retry's backoff, the token still valid.
    h.clock.advance(5 * 60);
    proxy.inject("POST /token", 1, Fault::Stall(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let (status, answer) = h.call_on_lambda("GET", &path, Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        (status, answer["access_token"].as_str()),
        (StatusCode::OK, Some(access.as_str())),
        "{answer}"
    );
    assert_eq!(tokens().await.1, refresh, "nothing rotated, nothing lost");

    // The provider answers again: the next refresh rotates the grant.
    proxy.heal();
    h.clock.advance(3600);
    let (status, answer) = h.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (new_access, new_refresh) = tokens().await;
    assert_ne!(new_access, access);
    assert_eq!(answer["access_token"], new_access.as_str());
    assert_eq!(introspect(&client, &new_refresh).await["active"], true);
    assert_eq!(introspect(&client, &refresh).await["active"], false);
}
