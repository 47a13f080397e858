//! Chift's redirect rules for updated connections and its Cancel / Back links (seed
//! `000_…txt`, "During Connection Update"), in Chromium: the pages' links exist, point
//! where the seed says, and carry the result parameters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_tests::Harness;
use latchkey_tests::chromium::{link, run, served};
use latchkey_tests::loopback::Loopback;
use serde_json::{Value, json};
use url::Url;

const VENDOR: &str = "https://app.acme.test";
const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="10" fill="#0a7"/></svg>"##;

fn query(url: &str) -> std::collections::BTreeMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn created(h: &Harness, path: &str, body: Value) -> Value {
    let (status, answer) = h.send("POST", path, body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// An API-key integration with a logo, and a consumer returning to the vendor's app.
async fn keyed(h: &Harness) -> (String, String) {
    let integration = created(
        h,
        "/v1/integrations",
        json!({
            "key": "keyed", "name": "Keyed",
            "logo": {"content_type": "image/svg+xml", "data_base64": STANDARD.encode(LOGO)},
            "auth_options": [{"key": "key", "type": "api_key"}],
            "api": {"base_url": "https://api.keyed.example"}
        }),
    )
    .await;
    let consumer = created(
        h,
        "/v1/consumers",
        json!({"name": "Globex", "redirect_url": format!("{VENDOR}/done")}),
    )
    .await;
    (
        integration["id"].as_str().unwrap().to_owned(),
        consumer["id"].as_str().unwrap().to_owned(),
    )
}

async fn activation(h: &Harness, consumer: &str, body: Value) -> String {
    let link = created(h, &format!("/v1/consumers/{consumer}/connections"), body).await;
    link["url"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reauthorisation_without_redirect_ends_on_the_marketplace_showing_it_connected() {
    let (h, _) = served().await;
    let (integration, consumer) = keyed(&h).await;
    let installed = created(
        &h,
        &format!("/v1/consumers/{consumer}/connections/install"),
        json!({"integration_id": integration, "auth_value": "old-key"}),
    )
    .await;
    let connection = installed["id"].as_str().unwrap();
    let url = activation(
        &h,
        &consumer,
        json!({"name": "K", "connection_id": connection, "redirect": false}),
    )
    .await;
    let report = run(
        json!({"stub": VENDOR, "start": url, "steps": [
            {"fill": {"api_key": "new-key"}},
            {"click": "Connect"},
            {"click": "Back to Acme"}
        ]}),
        Some("chift-reauthorised"),
    )
    .await;
    let shots = report["snapshots"].as_array().unwrap();
    let marketplace = &shots[2];
    assert_eq!(
        marketplace["heading"], "Connect your software to Acme",
        "{marketplace}"
    );
    let text = marketplace["text"].as_str().unwrap();
    assert!(
        text.contains("Your software is connected.") && text.contains("Keyed\nConnected"),
        "{text}"
    );
    assert_eq!(
        marketplace["images"],
        json!([{"loaded": true}]),
        "the logo renders"
    );
    let back = link(marketplace, "Back to Acme").expect("a way back to the vendor");
    let q = query(back);
    assert!(back.starts_with(&format!("{VENDOR}/done?")), "{back}");
    assert_eq!(
        (q["connectionId"].as_str(), q["connectionStatus"].as_str()),
        (connection, "active")
    );
    assert_eq!(shots[3]["url"], back, "the link is followed as shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reauthorisation_stays_to_retry_and_its_cancel_reports_cancelled() {
    let (h, _) = served().await;
    let refuse = Arc::new(AtomicBool::new(false));
    let r = refuse.clone();
    let provider = Loopback::start(move |_| {
        let refuse = r.load(Ordering::SeqCst);
        async move {
            if refuse {
                (401, r#"{"error":"invalid_client"}"#.to_owned())
            } else {
                (200, r#"{"access_token":"cc","expires_in":3600}"#.to_owned())
            }
        }
    })
    .await;
    let service = created(
        &h,
        "/v1/integrations",
        json!({
            "key": "service", "name": "Service",
            "auth_options": [{"key": "cc", "type": "oauth2_client_credentials",
                "token_url": format!("{}/token", provider.url),
                "client": {"client_id": "svc", "client_secret": "s"}}],
            "api": {"base_url": provider.url}
        }),
    )
    .await;
    let consumer = created(
        &h,
        "/v1/consumers",
        json!({"name": "Globex", "redirect_url": format!("{VENDOR}/done")}),
    )
    .await;
    let consumer = consumer["id"].as_str().unwrap();
    let first = activation(
        &h,
        consumer,
        json!({"name": "S", "integration_id": service["id"]}),
    )
    .await;
    // Nothing to type: the link asks for one click before it connects.
    let connected = run(
        json!({"stub": VENDOR, "start": first, "steps": [{"click": "Connect"}, {"sentTo": VENDOR}]}),
        None,
    )
    .await;
    let connection =
        query(connected["snapshots"][2]["navigated"].as_str().unwrap())["connectionId"].clone();

    refuse.store(true, Ordering::SeqCst);
    for redirect in [true, false] {
        let url = activation(
            &h,
            consumer,
            json!({"name": "S", "connection_id": connection, "redirect": redirect}),
        )
        .await;
        let report = run(
            json!({"stub": VENDOR, "start": url, "steps": [
                {"click": "Connect"},
                {"click": "Cancel / Back to Acme"},
                {"sentTo": VENDOR}
            ]}),
            Some(&format!("chift-failed-redirect-{redirect}")),
        )
        .await;
        let failed = &report["snapshots"][1];
        assert_eq!(
            failed["heading"], "Connection failed",
            "redirect={redirect}: {failed}"
        );
        let retry = link(failed, "Try again").expect("a retry");
        assert!(retry.starts_with(&url), "{retry} retries {url}");
        let cancelled = report["snapshots"][3]["navigated"].as_str().unwrap();
        let q = query(cancelled);
        assert!(
            cancelled.starts_with(&format!("{VENDOR}/done?")),
            "{cancelled}"
        );
        assert_eq!(
            (q["error"].as_str(), q["connectionStatus"].as_str()),
            ("cancelled", "cancelled"),
            "{cancelled}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketplace_and_the_form_offer_cancel_back_to_the_vendor() {
    let (h, _) = served().await;
    let (_, consumer) = keyed(&h).await;
    let url = activation(&h, &consumer, json!({"name": "K", "redirect": false})).await;
    let report = run(
        json!({"stub": VENDOR, "start": url, "steps": [
            {"click": "Keyed"},
            {"click": "Cancel / Back to Acme"},
            {"sentTo": VENDOR}
        ]}),
        Some("chift-cancel"),
    )
    .await;
    let shots = report["snapshots"].as_array().unwrap();
    for (page, shot) in ["marketplace", "form"].iter().zip(shots) {
        let cancel = link(shot, "Cancel / Back to Acme")
            .unwrap_or_else(|| panic!("the {page} offers cancel: {shot}"));
        assert!(cancel.starts_with(&url), "{page}: {cancel}");
    }
    assert_eq!(
        shots[0]["images"],
        json!([{"loaded": true}]),
        "the logo renders"
    );
    assert_eq!(shots[1]["buttons"], json!(["Connect"]));
    let q = query(shots[3]["navigated"].as_str().unwrap());
    assert_eq!(
        (q["error"].as_str(), q["connectionStatus"].as_str()),
        ("cancelled", "cancelled")
    );
    // Cancelling used nothing up: the link still opens.
    let again = run(json!({"stub": VENDOR, "start": url, "steps": []}), None).await;
    assert_eq!(
        again["snapshots"][0]["heading"],
        "Connect your software to Acme"
    );
}
