//! Cyclr's popup ending (seed `002_…txt`): `targetOrigin` ("Specifies what the origin of
//! the other window must be for the javascript callback event to be dispatched. If the
//! callback message is null we will redirect to the targetOrigin") and `callbackMessage`,
//! in Chromium with a real opener window.

use latchkey_tests::Harness;
use latchkey_tests::chromium::{run, served};
use serde_json::{Value, json};

const VENDOR: &str = "https://app.acme.test";

async fn keyed_link(h: &Harness) -> String {
    let (status, integration) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "keyed", "name": "Keyed",
                "auth_options": [{"key": "key", "type": "api_key"}],
                "api": {"base_url": "https://api.keyed.example"}
            }),
        )
        .await;
    assert!(status.is_success(), "{integration}");
    let (_, consumer) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Globex", "redirect_url": format!("{VENDOR}/done")}),
        )
        .await;
    let (_, link) = h
        .send(
            "POST",
            &format!(
                "/v1/consumers/{}/connections",
                consumer["id"].as_str().unwrap()
            ),
            json!({"name": "K", "integration_id": integration["id"]}),
        )
        .await;
    link["url"].as_str().unwrap().to_owned()
}

/// Opens `query` on a fresh link from the vendor's page, connects with a key, and waits
/// for the `last` step (the popup closing, or the browser sent to the vendor).
async fn connect_from_opener(h: &Harness, query: &str, last: Value, shots: &str) -> Value {
    let url = format!("{}?{query}", keyed_link(h).await);
    run(
        json!({"stub": VENDOR, "start": url, "opener": true, "steps": [
            {"fill": {"api_key": "k-1"}},
            {"click": "Connect"},
            last
        ]}),
        Some(shots),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_message_is_posted_to_the_opener_at_the_bare_host_target_origin() {
    let (h, base) = served().await;
    let report = connect_from_opener(
        &h,
        "targetOrigin=app.acme.test&callbackMessage=done",
        json!({"closed": true}),
        "cyclr-message",
    )
    .await;
    let messages = report["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{report}");
    assert_eq!(messages[0]["origin"], base.trim_end_matches('/'));
    let data = &messages[0]["data"];
    assert_eq!(data["callbackMessage"], "done");
    assert_eq!(data["connectionStatus"], "active");
    assert!(
        data["connectionId"].as_str().unwrap().starts_with("con_"),
        "{data}"
    );
    assert_eq!(
        report["snapshots"][3],
        json!({"closed": true}),
        "the popup closed itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_callback_message_the_popup_goes_to_the_target_origin() {
    let (h, _) = served().await;
    let report = connect_from_opener(
        &h,
        "targetOrigin=app.acme.test",
        json!({"sentTo": VENDOR}),
        "cyclr-redirect",
    )
    .await;
    assert_eq!(report["messages"], json!([]));
    let landed = report["snapshots"][3]["navigated"].as_str().unwrap();
    assert!(
        landed.starts_with(&format!("{VENDOR}/?connectionId=con_"))
            && landed.contains("connectionStatus=active"),
        "{landed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_origin_that_is_not_allowed_is_never_trusted() {
    for query in [
        "targetOrigin=evil.test&callbackMessage=done",
        "targetOrigin=app.acme.test.evil.test",
    ] {
        let (h, _) = served().await;
        let report =
            connect_from_opener(&h, query, json!({"sentTo": VENDOR}), "cyclr-refused").await;
        assert_eq!(report["messages"], json!([]), "{query}");
        let landed = report["snapshots"][3]["navigated"].as_str().unwrap();
        assert!(
            landed.starts_with(&format!("{VENDOR}/done?connectionId=con_")),
            "{query}: {landed}"
        );
    }
}
