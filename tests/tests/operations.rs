//! What an operator does to one connection (docs/ARCHITECTURE.md §5): refresh it now, rename
//! it, and keep their own data on it and on its consumer.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::StatusCode;
use latchkey_store::{Table, testing};
use latchkey_tests::loopback::Loopback;
use latchkey_tests::oauth::*;
use latchkey_tests::{Harness, on_both_stores};
use serde_json::{Value, json};

#[tokio::test]
async fn a_forced_refresh_renews_now_or_says_why_it_cannot() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", None).await;
    let (_, id) = connect(&h, &integration).await;
    let (_, before) = h.get(&format!("/v1/connections/{id}/credentials")).await;
    let requests = token_requests(&client).await;

    // Well inside its lifetime, a forced refresh still renews.
    h.clock.advance(60);
    let (status, refreshed) = h
        .send("POST", &format!("/v1/connections/{id}/refresh"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(token_requests(&client).await, requests + 1);
    assert_ne!(refreshed["access_issued_at"], Value::Null);
    assert!(refreshed["refresh"]["last_success_at"].is_string());
    let (_, after) = h.get(&format!("/v1/connections/{id}/credentials")).await;
    assert_ne!(after["access_token"], before["access_token"]);
    assert_eq!(after["refreshed"], false, "the new token is the stored one");

    // Only the full key may, and only on this account's connections.
    let (status, _) = h
        .call(
            "POST",
            &format!("/v1/connections/{id}/refresh"),
            Some(&h.other_key),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A provider that is down: the current token stays, the answer says what happened.
    let (books, _down) = books_answering(&h, (503, "down".into())).await;
    let (_, installed) = installed_with_tokens(&h, &books, json!({"name": "Initech"})).await;
    let (status, problem) = h
        .send(
            "POST",
            &format!("/v1/connections/{installed}/refresh"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{problem}");
    assert_eq!(problem["code"], "refresh_failed");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("provider_unavailable"),
        "{problem}"
    );
    let (status, _) = h
        .get(&format!("/v1/connections/{installed}/credentials"))
        .await;
    assert_eq!(status, StatusCode::OK, "the current token still works");

    // Credentials only the user can renew.
    let keyed = keyed_connection(&h).await;
    let (status, problem) = h
        .send(
            "POST",
            &format!("/v1/connections/{keyed}/refresh"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_refreshable"))
    );
    let (status, _) = h
        .send("POST", "/v1/connections/con_nope/refresh", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_both_stores!(connections_and_consumers_carry_the_vendors_name_and_metadata);
async fn connections_and_consumers_carry_the_vendors_name_and_metadata(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    let receiver = Loopback::start(|_| async { (204, String::new()) }).await;
    h.send(
        "PATCH",
        "/v1/account",
        json!({"webhook_url": format!("{}/hooks", receiver.url)}),
    )
    .await;
    h.send("POST", "/v1/account/webhook-secret", json!({}))
        .await;
    let id = keyed_connection(&h).await;
    let path = format!("/v1/connections/{id}");

    let (status, patched) = h
        .send(
            "PATCH",
            &path,
            json!({"name": " Books (EU) ", "metadata": {"region": "eu", "seats": 12}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Books (EU)");
    assert_eq!(patched["metadata"], json!({"region": "eu", "seats": 12}));
    let (_, read) = h.get(&path).await;
    assert_eq!(read["metadata"], json!({"region": "eu", "seats": 12}));
    // Webhooks carry it too.
    let mut updated = None;
    for _ in 0..100 {
        updated = receiver.recorded().into_iter().find_map(|r| {
            let v: Value = serde_json::from_str(&r.body).ok()?;
            (v["type"] == "connection.updated").then_some(v)
        });
        if updated.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let updated = updated.expect("connection.updated sent");
    assert_eq!(updated["data"]["connection"]["metadata"]["region"], "eu");

    // Bad input names the field and changes nothing.
    let big = "x".repeat(9 * 1024);
    for (body, status, field) in [
        (
            json!({"metadata": {"notes": big}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "metadata",
        ),
        (
            json!({"metadata": [1, 2]}),
            StatusCode::BAD_REQUEST,
            "metadata",
        ),
        (
            json!({"name": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            json!({"status": "active"}),
            StatusCode::BAD_REQUEST,
            "status",
        ),
    ] {
        let (got, problem) = h.send("PATCH", &path, body.clone()).await;
        assert_eq!(
            (got, problem["field"].as_str()),
            (status, Some(field)),
            "{body}: {problem}"
        );
    }
    let (_, unchanged) = h.get(&path).await;
    assert_eq!(
        (unchanged["name"].as_str(), &unchanged["metadata"]),
        (Some("Books (EU)"), &json!({"region": "eu", "seats": 12}))
    );
    // null clears.
    let (_, cleared) = h.send("PATCH", &path, json!({"metadata": null})).await;
    assert_eq!(cleared["metadata"], json!({}));

    // Consumers too.
    let (status, consumer) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Initech", "metadata": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{consumer}");
    assert_eq!(consumer["metadata"], json!({"plan": "pro"}));
    let consumer_path = format!("/v1/consumers/{}", consumer["id"].as_str().unwrap());
    let (_, patched) = h
        .send(
            "PATCH",
            &consumer_path,
            json!({"metadata": {"plan": "team"}}),
        )
        .await;
    assert_eq!(patched["metadata"], json!({"plan": "team"}));
    let (status, problem) = h
        .send(
            "PATCH",
            &consumer_path,
            json!({"metadata": {"notes": "x".repeat(9 * 1024)}}),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("metadata"))
    );
    let (_, read) = h.get(&consumer_path).await;
    assert_eq!(read["metadata"], json!({"plan": "team"}));
}

/// On Lambda the process is frozen once the answer is out, so a new webhook's first
/// attempt happens before the answer, within a budget; a receiver that does not answer in
/// time leaves the delivery in the outbox for the refresh run, and the request goes on.
#[tokio::test]
async fn on_lambda_a_webhook_is_attempted_before_the_answer() {
    use latchkey_core::FirstAttempt;
    use latchkey_store::Outbox;
    let inline = |h: Harness| {
        h.configured(|app| {
            app.webhook_first_attempt = FirstAttempt::Inline(Duration::from_millis(500))
        })
    };
    let h = inline(Harness::new(testing::sqlite_table().await).await);
    let (receiver, _) = latchkey_tests::webhooks::receiving(&h).await;
    let id = keyed_connection(&h).await;
    // No waiting: the delivery was made before the install answered.
    let created: Vec<Value> = receiver
        .recorded()
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
        .filter(|v| v["type"] == "connection.created" && v["data"]["connection"]["id"] == id)
        .collect();
    assert_eq!(created.len(), 1, "{:?}", receiver.recorded());
    let backlog = h.app.store.due_webhooks(i64::MAX, 10).await.unwrap();
    assert!(backlog.items.is_empty(), "delivered, so out of the outbox");

    // A receiver that holds every request: the install still answers, the event waits.
    let h = inline(Harness::new(testing::sqlite_table().await).await);
    let stuck = Loopback::start(|_| std::future::pending()).await;
    latchkey_tests::webhooks::pointed_at(&h, &stuck).await;
    let id = keyed_connection(&h).await;
    assert_eq!(stuck.recorded().len(), 1, "the attempt was made");
    let backlog = h.app.store.due_webhooks(i64::MAX, 10).await.unwrap();
    let waiting: Vec<_> = backlog
        .items
        .iter()
        .filter(|d| d.value.body.contains(&id))
        .collect();
    assert_eq!(waiting.len(), 1, "left for the refresh run to retry");
}

/// On Lambda every wait of a request ends before the invocation does: a token endpoint
/// that answers after the deadline gives the documented problem in time (not API
/// Gateway's bare 500 after the function's timeout), and nothing is half-written.
#[tokio::test]
async fn a_provider_slower_than_the_invocation_gets_a_problem_in_time() {
    let h = Harness::new(testing::sqlite_table().await).await;
    // A token endpoint that answers a valid token, 8 s late.
    let slow = Loopback::start(|_| async {
        tokio::time::sleep(Duration::from_secs(8)).await;
        (
            200,
            json!({"access_token": "late", "token_type": "Bearer", "expires_in": 3600}).to_string(),
        )
    })
    .await;
    let (status, books) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({"key": "books", "name": "Books", "auth_options": [{
                "key": "oauth", "type": "oauth2",
                "authorization_url": format!("{}/authorize", slow.url),
                "token_url": format!("{}/token", slow.url),
                "client": {"client_id": "app", "client_secret": "s3cret"}}],
                "api": {"base_url": "https://api.books.example"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{books}");
    let (_, id) = installed_with_tokens(
        &h,
        books["id"].as_str().unwrap(),
        json!({"name": "Initech"}),
    )
    .await;

    // An invocation with 3 s left: 1 s to wait, 2 s kept to answer.
    let path = format!("/v1/connections/{id}/refresh");
    let (status, problem) = h
        .call_on_lambda("POST", &path, Duration::from_secs(3))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{problem}");
    assert_eq!(problem["code"], "refresh_failed", "{problem}");
    // The current token is kept, the failure recorded for the schedule's backoff.
    let (_, after) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(after["status"], "active");
    assert!(after["refresh"]["retry_at"].is_string(), "{after}");
    match h.credentials(&id).await {
        latchkey_domain::Credentials::Oauth2 { access_token, .. } => {
            assert_eq!(access_token.expose(), "at")
        }
        other => panic!("{other:?}"),
    }
}

/// The account's recent webhook deliveries: every event stays listed, newest first, with
/// how the receiver answered; a test event goes out signed on request, and without a
/// receiver to send it to the request names `webhook_url`.
async fn recent_deliveries_and_a_test_event(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    let (status, problem) = h.send("POST", "/v1/account/webhooks/test", json!({})).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("webhook_url")),
        "{problem}"
    );
    let (_, none) = h.get("/v1/account/webhooks/deliveries").await;
    assert_eq!(none["data"], json!([]), "the refused test recorded nothing");

    // A receiver that takes the first request and refuses every later one.
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = taken.clone();
    let receiver = Loopback::start(move |_| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move { (if n == 0 { 204 } else { 503 }, String::new()) }
    })
    .await;
    latchkey_tests::webhooks::pointed_at(&h, &receiver).await;

    let (status, first) = h.send("POST", "/v1/account/webhooks/test", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (first["type"].as_str(), first["status"].as_str()),
        (Some("webhook.test"), Some("delivered"))
    );
    assert_eq!(first["last_response_status"], 204);
    let sent = &receiver.recorded()[0];
    let body: Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["account_id"], h.account_id.as_str());
    assert!(sent.headers["latchkey-signature"].starts_with("t="));

    h.clock.advance(1);
    let (_, second) = h.send("POST", "/v1/account/webhooks/test", json!({})).await;
    assert_eq!(
        (second["status"].as_str(), second["attempts"].as_u64()),
        (Some("pending"), Some(1)),
        "refused: left for a retry"
    );
    assert_eq!(second["last_response_status"], 503);
    assert!(second["next_attempt_at"].is_string());

    let (status, listed) = h.get("/v1/account/webhooks/deliveries").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["id"])
        .collect();
    assert_eq!(ids, [&second["id"], &first["id"]], "newest first");
    assert_eq!(listed["data"][1]["status"], "delivered");
    assert_eq!(listed["data"][0]["status"], "pending");

    // One per page, and the other account sees none of them.
    let (_, page) = h.get("/v1/account/webhooks/deliveries?limit=1").await;
    assert_eq!(page["data"][0]["id"], second["id"]);
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let (_, rest) = h
        .get(&format!(
            "/v1/account/webhooks/deliveries?limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["data"][0]["id"], first["id"]);
    assert_eq!(rest["next_cursor"], Value::Null);
    let (_, other) = h
        .call(
            "GET",
            "/v1/account/webhooks/deliveries",
            Some(&h.other_key),
            None,
        )
        .await;
    assert_eq!(other["data"], json!([]));
}
on_both_stores!(recent_deliveries_and_a_test_event);
