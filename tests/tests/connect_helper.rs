//! The drop-in `/sdk/connect.js` on a vendor's page of another origin, in Chromium, through
//! a real OAuth flow (oidc-provider): `Latchkey.connect()` resolves with the connection,
//! rejects when the consumer closes the window, and ignores messages from any other origin.

use latchkey_domain::{ConnectionId, ConnectionStatus};
use latchkey_store::Connections;
use latchkey_tests::chromium::{run_script, served};
use latchkey_tests::oauth::{consumer, link_url, oauth_integration, register};
use serde_json::json;

/// A loopback origin other than the gateway's (`localhost`, on a port the vendor page's
/// server in `vendor.mjs` takes).
fn vendor_origin() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://localhost:{}", listener.local_addr().unwrap().port())
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

    // An OAuth integration at the test provider, and a link straight to it.
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", None).await;
    let globex = consumer(&h, None).await;
    let url = link_url(
        &h,
        &globex,
        json!({"name": "CRM", "integration_id": integration}),
    )
    .await;
    let report = run_script(
        "vendor.mjs",
        json!({
            "vendor": vendor, "latchkey": base,
            "options": {"url": url, "customState": "row-7"}, "close": false,
            "screenshots": format!("{screenshots}/connect-helper"),
        }),
    )
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

    // Closing the window (here on the marketplace) rejects.
    let initech = consumer(&h, None).await;
    let url = link_url(&h, &initech, json!({"name": "CRM"})).await;
    let report = run_script(
        "vendor.mjs",
        json!({
            "vendor": vendor, "latchkey": base,
            "options": {"url": url}, "close": true,
        }),
    )
    .await;
    assert_eq!(
        report["settled"]["rejected"],
        json!({"error": "closed", "errorData": null, "connectionStatus": "cancelled"}),
        "{report}"
    );
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
