//! Cyclr's popup ending (seed `002_…txt`): `targetOrigin` ("Specifies what the origin of
//! the other window must be for the javascript callback event to be dispatched. If the
//! callback message is null we will redirect to the targetOrigin") and `callbackMessage`,
//! in Chromium with a real opener window.

use latchkey_connect::connections;
use latchkey_connect::connections::RunOptions;
use latchkey_store::testing;
use latchkey_tests::chromium::{run, served};
use latchkey_tests::loopback::{Loopback, Recorded};
use latchkey_tests::oauth::{
    body_text, browse, callback_path, consumer, oauth_integration, register, start_and_authorize,
};
use latchkey_tests::{Harness, PUBLIC_URL};
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

/// Cyclr's connector `Description`, `Version` and `AuthDescription`, and an install's
/// `Description`: kept, shown by the API and in the popup, and validated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptions_and_version_show_in_the_api_and_the_popup() {
    let (h, _) = served().await;
    let body = json!({
        "key": "described", "name": "Described",
        "description": "Invoices and contacts of your ledger.", "version": "1.0",
        "auth_options": [{"key": "key", "type": "api_key",
            "description": "Find the key under Settings → API in Described."}],
        "api": {"base_url": "https://api.described.example"}
    });
    for (field, bad) in [
        ("version", json!("1.0 beta")),
        ("description", json!("two\nlines")),
    ] {
        let mut wrong = body.clone();
        wrong[field] = bad;
        let (status, problem) = h.send("POST", "/v1/integrations", wrong).await;
        assert_eq!(status.as_u16(), 422, "{problem}");
        assert_eq!(problem["field"], field);
    }
    let (status, created) = h.send("POST", "/v1/integrations", body).await;
    assert!(status.is_success(), "{created}");
    let (_, shown) = h
        .get(&format!(
            "/v1/integrations/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        shown["description"],
        "Invoices and contacts of your ledger."
    );
    assert_eq!(shown["version"], "1.0");
    assert_eq!(
        shown["auth_options"][0]["description"],
        "Find the key under Settings → API in Described."
    );

    let (_, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Globex"}))
        .await;
    let consumer = consumer["id"].as_str().unwrap();
    let (status, installed) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer}/connections/install"),
            json!({"integration_id": created["id"], "auth_value": "k", "description": "Globex's ledger"}),
        )
        .await;
    assert!(status.is_success(), "{installed}");
    assert_eq!(installed["description"], "Globex's ledger");

    let (_, link) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer}/connections"),
            json!({"name": "D"}),
        )
        .await;
    let report = run(
        json!({"stub": VENDOR, "start": link["url"], "steps": [{"click": "Described"}]}),
        Some("cyclr-described"),
    )
    .await;
    let text = |i: usize| report["snapshots"][i]["text"].as_str().unwrap().to_owned();
    assert!(
        text(0).contains("Invoices and contacts of your ledger."),
        "{}",
        text(0)
    );
    assert!(
        text(1).contains("Find the key under Settings → API in Described."),
        "{}",
        text(1)
    );
}

/// A key typed in the popup is tried at the integration's `verify_path` before it is
/// kept; a refused one brings the form back with a message, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_typed_in_the_popup_is_verified_and_a_refused_one_is_asked_again() {
    let (h, _) = served().await;
    let upstream = Loopback::start(|r: Recorded| async move {
        match (
            r.target.as_str(),
            r.headers.get("x-api-key").map(String::as_str),
        ) {
            ("/me", Some("good-key")) => (200, r#"{"me":"globex"}"#.to_owned()),
            _ => (401, "{}".to_owned()),
        }
    })
    .await;
    let (status, integration) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "checked", "name": "Checked",
                "auth_options": [{"key": "key", "type": "api_key"}],
                "api": {"base_url": upstream.url, "token_param_name": "X-Api-Key",
                    "value_template": "{token}", "verify_path": "/me"}
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
    let consumer = consumer["id"].as_str().unwrap();
    let (_, link) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer}/connections"),
            json!({"name": "C", "integration_id": integration["id"]}),
        )
        .await;
    let report = run(
        json!({"stub": VENDOR, "start": link["url"], "steps": [
            {"fill": {"api_key": "typo-key"}},
            {"click": "Connect"},
            {"fill": {"api_key": "good-key"}},
            {"click": "Connect"},
            {"sentTo": VENDOR}
        ]}),
        Some("cyclr-verified"),
    )
    .await;
    let shots = report["snapshots"].as_array().unwrap();
    let asked_again = &shots[2];
    assert_eq!(asked_again["heading"], "Connect Checked", "{asked_again}");
    assert!(
        asked_again["text"]
            .as_str()
            .unwrap()
            .contains("API key was not accepted by Checked; check it and try again"),
        "{asked_again}"
    );
    let landed = shots[5]["navigated"].as_str().unwrap();
    assert!(
        landed.starts_with(&format!("{VENDOR}/done?connectionId=con_")),
        "{landed}"
    );
    let (_, listed) = h
        .get(&format!("/v1/consumers/{consumer}/connections"))
        .await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "only the good key was kept"
    );
    let keys: Vec<_> = upstream
        .recorded()
        .iter()
        .map(|r| r.headers.get("x-api-key").cloned().unwrap_or_default())
        .collect();
    assert_eq!(keys, ["typo-key", "good-key"]);
}

/// Cyclr's order: install the connector, then authenticate it in a popup. An install
/// without credentials waits as `pending` (unusable, never refreshed) with the activation
/// link that completes exactly it — `targetOrigin` and `callbackMessage` honoured — and
/// disappears with that link when nobody completes it.
#[tokio::test]
async fn an_oauth_install_waits_pending_for_its_popup_and_expires_with_its_link() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", None).await;
    let consumer = consumer(&h, Some(&format!("{VENDOR}/done"))).await;
    let install = format!("/v1/consumers/{consumer}/connections/install");
    let (status, installed) = h
        .send(
            "POST",
            &install,
            json!({"integration_id": integration, "name": "Books"}),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{installed}");
    assert_eq!(
        (&installed["status"], &installed["authenticated"]),
        (&json!("pending"), &json!(false))
    );
    let id = installed["id"].as_str().unwrap().to_owned();
    for path in ["credentials", "proxy/userinfo"] {
        let (status, problem) = h.get(&format!("/v1/connections/{id}/{path}")).await;
        assert_eq!(
            (status.as_u16(), &problem["code"]),
            (409, &json!("pending")),
            "{path}"
        );
    }
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(report.due, 0, "a pending connection is never refreshed");

    let link = installed["activation_link"]["url"].as_str().unwrap();
    let path = format!(
        "{}?targetOrigin=app.acme.test&callbackMessage=installed",
        link.strip_prefix(PUBLIC_URL).unwrap()
    );
    let (callback, cookie) = start_and_authorize(&h, &path).await;
    let done = browse(&h, &callback_path(&callback), Some(&cookie)).await;
    let page = body_text(&done);
    assert!(
        page.contains(r#""callbackMessage":"installed""#)
            && page.contains(&format!(r#""connectionId":"{id}""#)),
        "{page}"
    );
    let (_, completed) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(completed["status"], "active", "{completed}");
    let (status, _) = h.get(&format!("/v1/connections/{id}/credentials")).await;
    assert_eq!(status.as_u16(), 200);

    // Another install nobody completes is gone with its link.
    let (_, abandoned) = h
        .send("POST", &install, json!({"integration_id": integration}))
        .await;
    let abandoned = abandoned["id"].as_str().unwrap();
    h.clock.advance(31 * 60);
    let (status, _) = h.get(&format!("/v1/connections/{abandoned}")).await;
    assert_eq!(status.as_u16(), 404);
    let (_, listed) = h
        .get(&format!("/v1/consumers/{consumer}/connections"))
        .await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
}
