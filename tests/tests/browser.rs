//! End to end in a real browser: Debian's Chromium (driven by playwright-core) opens an
//! activation link served by the real local gateway, picks the integration on the
//! marketplace, signs in at the real OAuth server, and lands on the vendor's page with a
//! `connectionId`; the popup's security headers are checked on the way.

use latchkey_domain::{ConnectionId, ConnectionStatus};
use latchkey_store::Connections;
use latchkey_tests::chromium::{run, served};
use latchkey_tests::oauth::{redirect_client_to, register};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_link_to_vendor_redirect_in_chromium() {
    let issuer = std::env::var("LATCHKEY_TEST_OIDC_ISSUER")
        .expect("LATCHKEY_TEST_OIDC_ISSUER is not set: run the suite with `tests/run`");
    let (h, base) = served().await;

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
                "key": "browserprovider", "name": "Browser Provider",
                "auth_options": [{
                    "key": "oauth", "type": "oauth2",
                    "authorization_url": format!("{issuer}/auth"), "token_url": format!("{issuer}/token"),
                    "scopes": ["openid", "offline_access"], "authorization_params": {"prompt": "consent"},
                    "issuer": issuer,
                    "client": {"client_id": client.id, "client_secret": client.secret}
                }],
                "api": {"base_url": "https://api.browser.example"}
            }),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{integration}");
    // The redirect URI the vendor registers is this integration's own, on this gateway.
    let redirect_uri = integration["redirect_uri"].as_str().unwrap();
    assert_eq!(
        redirect_uri,
        format!(
            "{base}oauth/callback/{}",
            integration["id"].as_str().unwrap()
        )
    );
    redirect_client_to(&client, redirect_uri).await;
    let (_, consumer) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Globex", "redirect_url": "https://app.acme.test/done"}),
        )
        .await;
    let consumer_id = consumer["id"].as_str().unwrap();
    // No integration on the link, redirect=true: marketplace first, then back to the vendor.
    let (_, link) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer_id}/connections"),
            json!({"name": "Books", "redirect": true}),
        )
        .await;
    let url = link["url"].as_str().unwrap().to_owned();

    let report = run(
        json!({"stub": "https://app.acme.test", "start": url, "steps": [
            {"click": "Browser Provider"},
            {"sentTo": "https://app.acme.test/done"}
        ]}),
        Some("oauth-marketplace"),
    )
    .await;
    let final_url = url::Url::parse(report["snapshots"][2]["navigated"].as_str().unwrap()).unwrap();
    assert_eq!(final_url.path(), "/done");
    let q: std::collections::HashMap<_, _> = final_url.query_pairs().into_owned().collect();
    assert_eq!(q["connectionStatus"], "active");
    let connection = h
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
    assert_eq!(connection.status, ConnectionStatus::Active);
    assert_eq!(connection.consumer_id, consumer_id);

    let headers = &report["headers"];
    assert!(
        headers["content-security-policy"]
            .as_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        report["snapshots"][0]["title"]
            .as_str()
            .unwrap()
            .contains("Acme")
    );
}
