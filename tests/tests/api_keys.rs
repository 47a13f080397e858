//! API keys have a lifecycle (docs/ARCHITECTURE.md §1): listed without the key, created with a
//! scope and an expiry, revoked effective on the next request, the last full-scope key kept
//! unless forced, and their use recorded without turning every request into a write. On
//! both stores.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use latchkey_api::Timestamp;
use latchkey_store::{Table, testing};
use latchkey_tests::oauth::keyed_connection;
use latchkey_tests::{Harness, on_both_stores};
use serde_json::{Value, json};

fn rfc3339(at: i64) -> Value {
    serde_json::to_value(Timestamp(at)).unwrap()
}

async fn keys(h: &Harness) -> Vec<Value> {
    let (status, listed) = h.get("/v1/api-keys").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    listed["data"].as_array().unwrap().clone()
}

async fn create(h: &Harness, body: Value) -> (String, String) {
    let (status, created) = h.send("POST", "/v1/api-keys", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    )
}

on_both_stores!(a_connect_key_lets_a_web_tier_connect_users_and_nothing_more);
async fn a_connect_key_lets_a_web_tier_connect_users_and_nothing_more(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    let connection = keyed_connection(&h).await;
    let (status, created) = h
        .send(
            "POST",
            "/v1/api-keys",
            json!({"label": "web tier", "scopes": ["connect"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (id, web) = (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    );
    assert!(web.starts_with("lk_"), "{created}");
    assert_eq!(created["scopes"], json!(["connect"]));
    assert_eq!(created["label"], "web tier");
    assert!(created.get("hash").is_none());

    // What a web tier does to let its users connect.
    let as_web = |method: &'static str, path: String, body: Option<Value>| {
        let web = web.clone();
        let h = &h;
        async move { h.call(method, &path, Some(&web), body).await }
    };
    let (status, _) = as_web("GET", "/v1/integrations".into(), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, consumer) = as_web(
        "POST",
        "/v1/consumers".into(),
        Some(json!({"name": "Initech"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{consumer}");
    let consumer = consumer["id"].as_str().unwrap();
    let (status, link) = as_web(
        "POST",
        format!("/v1/consumers/{consumer}/connections"),
        Some(json!({"name": "Books"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let (status, seen) = as_web("GET", format!("/v1/connections/{connection}"), None).await;
    assert_eq!(
        (status, seen["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );

    // Nothing that reads secrets, acts as the user, or manages the account.
    for (method, path) in [
        ("GET", format!("/v1/connections/{connection}/credentials")),
        ("GET", format!("/v1/connections/{connection}/proxy/v1/me")),
        ("DELETE", format!("/v1/connections/{connection}")),
        ("PATCH", "/v1/account".to_owned()),
        ("GET", "/v1/api-keys".to_owned()),
        ("POST", "/v1/api-keys".to_owned()),
    ] {
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let (status, problem) = as_web(method, path.clone(), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {problem}");
        assert_eq!(problem["code"], "insufficient_scope");
        assert_eq!(problem["required_scope"], "full", "{problem}");
    }

    // Listed without the key; revoked, refused on the very next request.
    let listed = keys(&h).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let text = Value::Array(listed.clone()).to_string();
    assert!(!text.contains(&web) && !text.contains(&h.key), "{text}");
    let (status, _) = h
        .call(
            "DELETE",
            &format!("/v1/api-keys/{id}"),
            Some(&h.other_key),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another account's key is not there"
    );
    let (status, _) = h.delete(&format!("/v1/api-keys/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, problem) = as_web("GET", "/v1/integrations".into(), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    assert_eq!(keys(&h).await.len(), 1);
}

on_both_stores!(the_last_full_key_is_kept_unless_forced_and_expired_keys_stop_working);
async fn the_last_full_key_is_kept_unless_forced_and_expired_keys_stop_working(
    table: Arc<dyn Table>,
) {
    let h = Harness::new(table).await;
    let initial = keys(&h).await[0]["id"].as_str().unwrap().to_owned();
    let (status, problem) = h.delete(&format!("/v1/api-keys/{initial}")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("last_full_key"))
    );
    let (status, problem) = h.delete(&format!("/v1/api-keys/{initial}?force=yes")).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("force"))
    );

    // Another full key (for an hour) makes the first one revocable.
    let (_, temporary) = create(&h, json!({"expires_at": rfc3339(h.app.now() + 3600)})).await;
    let (status, _) = h.delete(&format!("/v1/api-keys/{initial}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.get("/v1/account").await.0,
        StatusCode::UNAUTHORIZED,
        "revoked"
    );
    let (status, _) = h.call("GET", "/v1/account", Some(&temporary), None).await;
    assert_eq!(status, StatusCode::OK);
    h.clock.advance(3601);
    let (status, _) = h.call("GET", "/v1/account", Some(&temporary), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");

    // Forced, the last one goes too.
    let other = Harness::new(testing::sqlite_table().await).await;
    let only = keys(&other).await[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = other
        .delete(&format!("/v1/api-keys/{only}?force=true"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(other.get("/v1/account").await.0, StatusCode::UNAUTHORIZED);
}

on_both_stores!(bad_key_requests_name_the_field_and_create_nothing);
async fn bad_key_requests_name_the_field_and_create_nothing(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    for (body, status, field) in [
        (
            json!({"scopes": ["admin"]}),
            StatusCode::BAD_REQUEST,
            "scopes[0]",
        ),
        (
            json!({"scopes": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "scopes",
        ),
        (
            json!({"expires_at": rfc3339(h.app.now() - 1)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_at",
        ),
        (
            json!({"expires_at": "soon"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_at",
        ),
        (
            json!({"label": "x".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "label",
        ),
        (json!({"colour": "red"}), StatusCode::BAD_REQUEST, "colour"),
    ] {
        let (got, problem) = h.send("POST", "/v1/api-keys", body.clone()).await;
        assert_eq!(got, status, "{body}: {problem}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    assert_eq!(keys(&h).await.len(), 1);
}

on_both_stores!(a_keys_use_is_recorded_at_most_every_five_minutes);
async fn a_keys_use_is_recorded_at_most_every_five_minutes(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    let (id, key) = create(&h, json!({"label": "batch"})).await;
    let last_used = |listed: Vec<Value>| {
        listed.into_iter().find(|k| k["id"] == id.as_str()).unwrap()["last_used_at"].clone()
    };
    assert_eq!(last_used(keys(&h).await), Value::Null);
    let first = h.app.now();
    h.call("GET", "/v1/integrations", Some(&key), None).await;
    assert_eq!(last_used(keys(&h).await), rfc3339(first));
    h.clock.advance(60);
    h.call("GET", "/v1/integrations", Some(&key), None).await;
    assert_eq!(
        last_used(keys(&h).await),
        rfc3339(first),
        "not written again within five minutes"
    );
    h.clock.advance(300);
    h.call("GET", "/v1/integrations", Some(&key), None).await;
    assert_eq!(last_used(keys(&h).await), rfc3339(first + 360));
}
