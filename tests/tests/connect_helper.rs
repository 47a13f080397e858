//! The drop-in `/sdk/connect.js` on a vendor's page of another origin, in Chromium, through
//! a real OAuth flow (oidc-provider): `Latchkey.connect()` resolves with the connection,
//! rejects when the consumer closes the window, and ignores messages from any other origin.

use latchkey_domain::{ConnectionId, ConnectionStatus};
use latchkey_store::Connections;
use latchkey_tests::Harness;
use latchkey_tests::chromium::served;
use latchkey_tests::oauth::{redirect_client_to, register};
use serde_json::{Value, json};

/// An OAuth integration at the test provider, and an activation link for it.
async fn oauth_link(h: &Harness) -> String {
    let issuer = std::env::var("LATCHKEY_TEST_OIDC_ISSUER")
        .expect("LATCHKEY_TEST_OIDC_ISSUER is not set: run the suite with `tests/run`");
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let (status, integration) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "crm", "name": "Test CRM",
                "auth_options": [{
                    "key": "oauth", "type": "oauth2",
                    "authorization_url": format!("{issuer}/auth"), "token_url": format!("{issuer}/token"),
                    "scopes": ["openid", "offline_access"], "authorization_params": {"prompt": "consent"},
                    "issuer": issuer,
                    "client": {"client_id": client.id, "client_secret": client.secret}
                }],
                "api": {"base_url": "https://api.crm.example"}
            }),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{integration}");
    redirect_client_to(&client, integration["redirect_uri"].as_str().unwrap()).await;
    let (_, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Globex"}))
        .await;
    let (status, link) = h
        .send(
            "POST",
            &format!(
                "/v1/consumers/{}/connections",
                consumer["id"].as_str().unwrap()
            ),
            json!({"name": "CRM", "integration_id": integration["id"]}),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{link}");
    link["url"].as_str().unwrap().to_owned()
}

/// A loopback origin other than the gateway's (`localhost`, a port nothing listens on:
/// the browser is served the vendor's page by the test).
fn vendor_origin() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://localhost:{}", listener.local_addr().unwrap().port())
}

async fn run_vendor(plan: Value) -> Value {
    let chromium = std::env::var("LATCHKEY_TEST_CHROMIUM")
        .expect("LATCHKEY_TEST_CHROMIUM is not set: run the suite with `tests/run`");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/vendor.mjs");
    let plan = plan.to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args([script, &plan])
            .env("CHROMIUM", chromium)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "browser run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    eprintln!("browser report: {report:#}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helper_resolves_the_connection_and_rejects_a_closed_window() {
    let (h, base) = served().await;
    let vendor = vendor_origin();
    let (status, account) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"allowed_redirect_origins": [vendor]}),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{account}");
    let screenshots = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/screenshots");
    std::fs::create_dir_all(screenshots).unwrap();

    let url = oauth_link(&h).await;
    let report = run_vendor(json!({
        "vendor": vendor, "latchkey": base,
        "options": {"url": url, "customState": "row-7"}, "close": false,
        "screenshots": format!("{screenshots}/connect-helper"),
    }))
    .await;
    // The forged messages from the frame kept coming; only Latchkey's counted.
    assert!(report["forged"].as_u64().unwrap() > 1, "{report}");
    let resolved = &report["settled"]["resolved"];
    assert_eq!(resolved["connectionStatus"], "active", "{report}");
    assert_eq!(resolved["customState"], "row-7");
    let id = resolved["connectionId"].as_str().unwrap();
    assert_ne!(id, "con_forged");
    let connection = h
        .app
        .store
        .connection(&h.account_id, &ConnectionId::from(id))
        .await
        .unwrap()
        .expect("the resolved id is a stored connection")
        .value;
    assert_eq!(connection.status, ConnectionStatus::Active);
    assert_eq!(report["popupClosed"], true, "the result page closes itself");

    // Closing the window rejects.
    let url = marketplace_link(&h).await;
    let report = run_vendor(json!({
        "vendor": vendor, "latchkey": base,
        "options": {"url": url}, "close": true,
    }))
    .await;
    assert_eq!(
        report["settled"]["rejected"],
        json!({"error": "closed", "errorData": null, "connectionStatus": "cancelled"}),
        "{report}"
    );
}

/// A link that opens the marketplace: the consumer has a page to close.
async fn marketplace_link(h: &Harness) -> String {
    let (_, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Initech"}))
        .await;
    let (status, link) = h
        .send(
            "POST",
            &format!(
                "/v1/consumers/{}/connections",
                consumer["id"].as_str().unwrap()
            ),
            json!({"name": "CRM"}),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{link}");
    link["url"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helper_is_served_small_and_cacheable() {
    let (_, base) = served().await;
    let answer = reqwest::get(format!("{base}sdk/connect.js")).await.unwrap();
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let body = answer.text().await.unwrap();
    assert!(body.len() < 5 * 1024, "{} bytes", body.len());
    assert_eq!(
        body,
        include_str!("../../sdk/connect.js"),
        "the repo's file for bundlers is the one served"
    );
}
