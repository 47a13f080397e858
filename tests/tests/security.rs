//! Findings of the security review (issue 15), each with the test that shows it closed.

use std::time::Duration;

use lambda_http::http::StatusCode;
use latchkey_core::webhooks::deliver_due;
use latchkey_store::{Accounts, testing};
use latchkey_tests::Harness;
use latchkey_tests::loopback::Loopback;
use latchkey_tests::oauth::{ROTATED, keyed_connection};
use serde_json::{Value, json};

/// M4: `webhook_url` follows the integrations' egress policy. In a deployment a receiver on
/// loopback (on Lambda: the Runtime API), a private network or the metadata service is
/// refused when it is set, and again when a delivery is attempted.
#[tokio::test]
async fn webhooks_never_reach_internal_addresses_in_a_deployment() {
    let h = Harness::deployed(testing::sqlite_table().await).await;
    for url in [
        "http://127.0.0.1:9000/hooks",
        "http://localhost:9000/hooks",
        "https://10.0.0.5/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
    ] {
        let (status, problem) = h
            .send("PATCH", "/v1/account", json!({"webhook_url": url}))
            .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("webhook_url")),
            "{url}: {problem}"
        );
    }
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(
        account["webhook_url"],
        serde_json::Value::Null,
        "nothing changed"
    );
    let (status, _) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"webhook_url": "https://hooks.acme.example/latchkey"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A URL that got into the table some other way is still not called.
    let receiver = Loopback::start(|_| async { (204, String::new()) }).await;
    for (harness, delivered) in [
        (h, false),
        // The control: in test mode the same event does arrive.
        (Harness::new(testing::sqlite_table().await).await, true),
    ] {
        let mut account = harness
            .app
            .store
            .account(&harness.account_id)
            .await
            .unwrap()
            .unwrap();
        account.value.webhook_url = Some(format!("{}/hooks", receiver.url));
        harness.app.store.update_account(&account).await.unwrap();
        harness
            .send("POST", "/v1/account/webhook-secret", json!({}))
            .await;
        let before = receiver.recorded().len();
        let (status, _) = harness
            .send("POST", "/v1/consumers", json!({"name": "Globex"}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        keyed_connection(&harness).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        deliver_due(&harness.app).await.unwrap();
        let arrived = receiver.recorded().len() > before;
        assert_eq!(arrived, delivered, "delivered: {delivered}");
        if !delivered {
            // Dropped, not retried forever.
            harness.clock.advance(24 * 3600);
            assert_eq!(deliver_due(&harness.app).await.unwrap().delivered, 0);
            assert_eq!(receiver.recorded().len(), before);
        }
    }
}

/// L1: a lifetime no arithmetic can hold. An import beyond ten years is refused naming the
/// field (it used to overflow: a panic in debug builds, an always-expired token in
/// release); a provider saying `1e300` or `"inf"` means the token does not expire.
#[tokio::test]
async fn absurd_token_lifetimes_neither_overflow_nor_expire_at_once() {
    use latchkey_tests::oauth::{installed_with_tokens, integration_answering};
    let h = Harness::new(testing::sqlite_table().await).await;
    let answer = json!({"access_token": "forever", "token_type": "Bearer", "expires_in": 1e300});
    let (books, _provider) = integration_answering(&h, "books", (200, answer.to_string())).await;
    let (consumer, id) = installed_with_tokens(&h, &books, json!({"name": "Initech"})).await;

    let (status, problem) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer}/connections/install"),
            json!({"integration_id": books, "allow_multiple_connections": true, "tokens": {
                "access_token": "at", "expires_in": i64::MAX}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "tokens.expires_in");

    let (status, refreshed) = h
        .send("POST", &format!("/v1/connections/{id}/refresh"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["access_expires_at"], Value::Null, "{refreshed}");
    assert_eq!(refreshed["status"], "active");
}

/// L6: the popup's `name`, `customState` and `callbackMessage` are bounded and printable;
/// anything else ends the attempt as `invalid_parameters` naming the field, and nothing
/// is created.
#[tokio::test]
async fn popup_texts_are_bounded_and_printable() {
    use latchkey_tests::oauth::{browse, consumer, keyed_connection, link, location};
    let h = Harness::new(testing::sqlite_table().await).await;
    let keyed = keyed_connection(&h).await;
    let (_, connection) = h.get(&format!("/v1/connections/{keyed}")).await;
    let integration = connection["integration_id"].as_str().unwrap().to_owned();
    let customer = consumer(&h, Some("https://app.acme.test/done")).await;
    let long = "x".repeat(60_000);
    for (query, field) in [
        ("customState=a%01b".to_owned(), "customState"),
        (format!("customState={long}"), "customState"),
        (format!("name={}", "n".repeat(201)), "name"),
        ("callbackMessage=%0Ahi".to_owned(), "callbackMessage"),
    ] {
        let path = link(
            &h,
            &customer,
            json!({"name": "Keyed", "integration_id": integration}),
        )
        .await;
        let response = browse(&h, &format!("{path}?{query}"), None).await;
        let to = location(&response);
        assert!(to.starts_with("https://app.acme.test/done?"), "{to}");
        let url = url::Url::parse(&to).unwrap();
        let q: std::collections::BTreeMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["error"], "invalid_parameters", "{to}");
        let data: Value = serde_json::from_str(&q["errorData"]).unwrap();
        assert_eq!(data["field"], field, "{to}");
        assert!(
            !q.contains_key("customState"),
            "the bad value is echoed nowhere: {to}"
        );
    }
    let (_, listed) = h
        .get(&format!("/v1/connections?consumer_id={customer}"))
        .await;
    assert_eq!(listed["data"], json!([]), "nothing was created");
}

/// A `PUT` may leave the client secret out to keep it, but not while moving an endpoint:
/// the kept secret would be sent to the new URL, where whoever edits the integration could
/// read it.
#[tokio::test]
async fn a_kept_client_secret_does_not_follow_a_moved_endpoint() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let body = |token_url: &str, secret: Option<&str>| {
        let mut client = json!({"client_id": "app"});
        if let Some(secret) = secret {
            client["client_secret"] = json!(secret);
        }
        json!({"key": "books", "name": "Books", "auth_options": [{
            "key": "oauth", "type": "oauth2",
            "authorization_url": "https://books.example/authorize",
            "token_url": token_url, "client": client}],
            "api": {"base_url": "https://api.books.example"}})
    };
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            body("https://books.example/token", Some("s3cret")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/v1/integrations/{}", created["id"].as_str().unwrap());

    let (status, problem) = h
        .send("PUT", &path, body("https://collector.example/token", None))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "auth_options[0].client.client_secret");
    let (_, unchanged) = h.get(&path).await;
    assert_eq!(
        unchanged["auth_options"][0]["token_url"],
        "https://books.example/token"
    );

    // Same endpoints: the secret is kept; a moved endpoint with the secret given is fine.
    let (status, kept) = h
        .send("PUT", &path, body("https://books.example/token", None))
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(
        kept["auth_options"][0]["client"]["client_secret"],
        "********"
    );
    let (status, _) = h
        .send(
            "PUT",
            &path,
            body("https://books.example/v2/token", Some("n3w")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// L5: a link for a new connection stays one. A `connectionId` added to its query used to
/// turn it into re-authorising that connection; only the link's own `connection_id` may.
#[tokio::test]
async fn a_new_connection_link_cannot_be_turned_into_a_reauthorisation() {
    use latchkey_tests::oauth::{link, location, post_form};
    let h = Harness::new(testing::sqlite_table().await).await;
    let existing = keyed_connection(&h).await;
    let (_, connection) = h.get(&format!("/v1/connections/{existing}")).await;
    let consumer = connection["consumer_id"].as_str().unwrap().to_owned();
    let back = json!({"redirect_url": "https://app.acme.test/done"});
    let (status, _) = h
        .send("PATCH", &format!("/v1/consumers/{consumer}"), back)
        .await;
    assert_eq!(status, StatusCode::OK);
    let path = link(
        &h,
        &consumer,
        json!({"name": "Second", "integration_id": connection["integration_id"]}),
    )
    .await;
    let done = post_form(
        &h,
        &format!("{path}?connectionId={existing}"),
        &[("api_key", "k-2")],
    )
    .await;
    let to = url::Url::parse(&location(&done)).unwrap();
    let q: std::collections::BTreeMap<_, _> = to.query_pairs().into_owned().collect();
    let made = q.get("connectionId").expect("connected");
    assert_ne!(
        made, &existing,
        "a new connection, not the existing one re-authorised"
    );
    let (_, made) = h.get(&format!("/v1/connections/{made}")).await;
    assert_eq!(made["name"], "Second");
}

/// M6: every integration has its own redirect URI, and an answer finishes only a flow of
/// the integration whose URI it arrived at. An authorization response delivered to another
/// integration's redirect URI (a mix-up: the code was issued for that provider) is
/// refused without exchanging the code anywhere, and the flow is used up.
#[tokio::test]
async fn an_answer_at_another_integrations_redirect_uri_is_refused() {
    use latchkey_tests::oauth::{
        browse, consumer, flow_cookie, integration_answering, link, location, redirect_path,
        sent_state,
    };
    let h = Harness::new(testing::sqlite_table().await).await;
    let tokens = (
        200,
        r#"{"access_token":"a","token_type":"bearer"}"#.to_owned(),
    );
    let (books, books_provider) = integration_answering(&h, "books", tokens.clone()).await;
    let (ledger, ledger_provider) = integration_answering(&h, "ledger", tokens).await;
    let (_, view) = h.get(&format!("/v1/integrations/{books}")).await;
    assert_eq!(
        view["redirect_uri"],
        format!("{}oauth/callback/{books}", latchkey_tests::PUBLIC_URL)
    );
    let keyed = latchkey_tests::oauth::keyed_integration(&h).await;
    assert_eq!(keyed["redirect_uri"], Value::Null, "nothing to register");
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(&h, &consumer, json!({"name": "B", "integration_id": books})).await;
    let landing = browse(&h, &path, None).await;
    assert_eq!(redirect_path(&landing), format!("/oauth/callback/{books}"));
    let cookie = flow_cookie(&landing);
    let state = sent_state(&landing);

    let answer = format!("code=c&state={state}");
    let mixed = browse(
        &h,
        &format!("oauth/callback/{ledger}?{answer}"),
        Some(&cookie),
    )
    .await;
    let to = url::Url::parse(&location(&mixed)).unwrap();
    let q: std::collections::BTreeMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("issuer_mismatch"),
        "{to}"
    );
    assert!(books_provider.recorded().is_empty() && ledger_provider.recorded().is_empty());
    // Used up: the same answer at the right URI finds no flow.
    let replay = browse(
        &h,
        &format!("oauth/callback/{books}?{answer}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(books_provider.recorded().is_empty());
    let (_, listed) = h.get("/v1/connections").await;
    assert_eq!(listed["data"], json!([]), "nothing was connected");
}

/// L5: mail and chat link scanners open links. A GET of an activation link whose
/// connection needs nothing typed shows a Connect button and makes nothing (the link stays
/// usable); the click (a POST) connects. (The vendor's own popup, opened with a
/// single-use workspace token, still connects at once: `integration_app.rs`.)
#[tokio::test]
async fn opening_a_link_does_not_connect_until_the_consumer_confirms() {
    use latchkey_tests::oauth::{body_text, browse, consumer, link, location, post_form};
    let h = Harness::new(testing::sqlite_table().await).await;
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({"key": "public", "name": "Public data", "auth_options": [{"key": "open", "type": "none"}],
                   "api": {"base_url": "https://api.public.example"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let path = link(
        &h,
        &consumer,
        json!({"name": "P", "integration_id": created["id"]}),
    )
    .await;
    for _ in 0..2 {
        let scanned = browse(&h, &path, None).await;
        assert_eq!(scanned.status(), StatusCode::OK);
        let page = body_text(&scanned);
        assert!(
            page.contains(r#"<form method="post""#)
                && page.contains("Acme will connect to your Public data account"),
            "{page}"
        );
    }
    let (_, listed) = h.get("/v1/connections").await;
    assert_eq!(
        listed["data"],
        json!([]),
        "opening the link connected nothing"
    );

    let done = post_form(&h, &path, &[]).await;
    let to = url::Url::parse(&location(&done)).unwrap();
    assert!(
        to.query_pairs().any(|(k, _)| k == "connectionId"),
        "the click connects: {to}"
    );
}

/// A token endpoint (Books) answering 200 with an endless JSON body, streamed; returns it
/// and the bytes it managed to send.
async fn endless_token_endpoint() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head).await;
                let start = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(start.as_bytes()).await.is_err() {
                    return;
                }
                let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
                chunk.extend(std::iter::repeat_n(b'a', 64 * 1024));
                chunk.extend(b"\r\n");
                // 100 MB, unless the reader hangs up first.
                for _ in 0..1600 {
                    if stream.write_all(&chunk).await.is_err() {
                        return;
                    }
                    counter.fetch_add(64 * 1024, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    (url, sent)
}

/// The process's peak resident memory so far, in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// M3: a token endpoint streaming 100 MB is read to 64 KiB and dropped: the refresh fails
/// `response_too_large` (retried later with backoff), memory stays flat, and the other
/// refreshes of the same run succeed.
#[tokio::test]
async fn a_100_mb_token_answer_fails_one_refresh_and_not_the_run() {
    use latchkey_connect::connections::{self, RunOptions};
    use latchkey_store::Connections;
    use latchkey_tests::oauth::{installed_with_tokens, integration_answering};
    let h = Harness::new(testing::sqlite_table().await).await;
    let (endless, sent) = endless_token_endpoint().await;
    let (status, huge) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({"key": "huge", "name": "Huge", "auth_options": [{
                "key": "oauth", "type": "oauth2",
                "authorization_url": format!("{endless}/authorize"),
                "token_url": format!("{endless}/token"),
                "client": {"client_id": "app", "client_secret": "s3cret"}}],
                "api": {"base_url": "https://api.huge.example"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{huge}");
    let tokens = (200, ROTATED.to_owned());
    let (books, _provider) = integration_answering(&h, "books", tokens).await;
    let (_, flooded) =
        installed_with_tokens(&h, huge["id"].as_str().unwrap(), json!({"name": "A"})).await;
    for name in ["B", "C"] {
        installed_with_tokens(&h, &books, json!({ "name": name })).await;
    }
    h.clock.advance(3600 - 60);

    let before = peak_rss();
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    let grown = peak_rss().saturating_sub(before);
    assert_eq!(
        (report.due, report.refreshed, report.failed),
        (3, 2, 1),
        "{report:?}"
    );
    assert!(
        sent.load(std::sync::atomic::Ordering::SeqCst) < 100 * 1024 * 1024,
        "the reader hung up early"
    );
    assert!(grown < 32 * 1024 * 1024, "peak memory grew {grown} bytes");
    let c = h
        .app
        .store
        .connection(&h.account_id, &flooded.as_str().into())
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(c.refresh.last_error.as_deref(), Some("response_too_large"));
    assert!(c.refresh.retry_at.is_some_and(|t| t > h.app.now()));
}

/// M3: the scheduled run writes its attempt before calling the provider, so a run that
/// dies during the call (here: dropped, as a Lambda killed at its timeout) leaves the
/// connection waiting out a backoff, not first in line again five minutes later to take
/// the next run down with it.
#[tokio::test]
async fn a_run_that_dies_mid_refresh_leaves_the_connection_backing_off() {
    use latchkey_connect::connections::{self, RunOptions};
    use latchkey_store::Connections;
    use latchkey_tests::oauth::installed_with_tokens;
    use std::sync::atomic::{AtomicBool, Ordering};
    let h = Harness::new(testing::sqlite_table().await).await;
    let stall = std::sync::Arc::new(AtomicBool::new(true));
    let stalling = stall.clone();
    let provider = Loopback::start(move |_| {
        let stalling = stalling.clone();
        async move {
            if stalling.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            (200, ROTATED.to_owned())
        }
    })
    .await;
    let books = latchkey_tests::oauth::integration_at(&h, "books", &provider.url).await;
    let (_, id) = installed_with_tokens(&h, &books, json!({"name": "A"})).await;
    h.clock.advance(3600 - 60);

    let died = tokio::time::timeout(
        Duration::from_millis(500),
        connections::run(&h.app, RunOptions::default()),
    )
    .await;
    assert!(died.is_err(), "the run was still in the token call");
    assert_eq!(provider.recorded().len(), 1);
    let stored = |h: &Harness| {
        let (app, account, id) = (h.app.clone(), h.account_id.clone(), id.clone());
        async move {
            app.store
                .connection(&account, &id.as_str().into())
                .await
                .unwrap()
                .unwrap()
                .value
        }
    };
    let c = stored(&h).await;
    assert_eq!(c.refresh.last_error.as_deref(), Some("interrupted"));
    let retry_at = c.refresh.attempt_backoff_until.expect("backing off");

    // The next run leaves it alone until its backoff is over...
    stall.store(false, Ordering::SeqCst);
    let died_at = h.app.now();
    h.clock.advance(retry_at - died_at - 1);
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(report.due, 0, "{report:?}");
    // ...then (its lease gone too) the outcome replaces the attempt.
    let lease_gone = died_at + latchkey_connect::connections::LEASE_SECONDS + 1;
    h.clock.advance(retry_at.max(lease_gone) - h.app.now());
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert_eq!((report.due, report.refreshed), (1, 1), "{report:?}");
    let c = stored(&h).await;
    assert_eq!(
        (c.refresh.last_error, c.refresh.consecutive_failures),
        (None, 0)
    );
}

/// L10: one account's receiver that never answers (a tarpit) used to hold up every
/// delivery queued behind it, run after run. Accounts are now delivered side by side,
/// each within its own budget: the other account's events go out at once.
#[tokio::test]
async fn a_tarpit_receiver_delays_only_its_own_accounts_webhooks() {
    use latchkey_domain::{AccountId, EventType, WebhookDelivery};
    use latchkey_store::Outbox;
    let h = Harness::new(testing::sqlite_table().await).await;
    let tarpit = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tarpit_url = format!("http://{}/hooks", tarpit.local_addr().unwrap());
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let holding = held.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = tarpit.accept().await {
            holding.lock().unwrap().push(stream);
        }
    });
    let receiver = Loopback::start(|_| async { (204, String::new()) }).await;
    let point = |key: String, url: String| {
        let h = &h;
        async move {
            let (status, _) = h
                .call(
                    "PATCH",
                    "/v1/account",
                    Some(&key),
                    Some(json!({"webhook_url": url})),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let (status, _) = h
                .call(
                    "POST",
                    "/v1/account/webhook-secret",
                    Some(&key),
                    Some(json!({})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
            let (_, account) = h.call("GET", "/v1/account", Some(&key), None).await;
            AccountId::from(account["id"].as_str().unwrap())
        }
    };
    let slow = point(h.key.clone(), tarpit_url).await;
    let fine = point(h.other_key.clone(), format!("{}/hooks", receiver.url)).await;
    // The tarpit's account's events are the oldest: first in line.
    let now = h.app.now();
    for (n, account) in [&slow, &slow, &slow, &fine, &fine, &fine]
        .into_iter()
        .enumerate()
    {
        let mut delivery = WebhookDelivery::new(
            format!("evt_{n}"),
            account.clone(),
            EventType::ConnectionCreated,
            json!({"id": format!("evt_{n}")}).to_string(),
            now - 60,
        );
        delivery.next_attempt_at = now - 60 + n as i64;
        h.app.store.enqueue_webhook(&delivery).await.unwrap();
    }

    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let done =
        latchkey_domain::deadline::within(deadline, latchkey_core::webhooks::deliver_due(&h.app))
            .await
            .unwrap();
    assert_eq!((done.delivered, done.failed), (3, 1), "{done:?}");
    assert_eq!(
        receiver.recorded().len(),
        3,
        "the other account's events went out"
    );
    assert_eq!(held.lock().unwrap().len(), 1, "one attempt at the tarpit");
}

/// L7: a stored flow keeps its PKCE verifier and secret parameters sealed under the
/// flow cookie's binding (the table alone opens nothing), the callback opens them, and
/// abandoned flows leave a local (SQLite) table at the next scheduled run.
#[tokio::test]
async fn flow_items_keep_no_readable_secret_and_expired_ones_are_purged() {
    use latchkey_connect::connections::{self, RunOptions};
    use latchkey_domain::token::token_hash;
    use latchkey_store::Links as _;
    use latchkey_tests::oauth::{consumer, link, location, post_form};
    let h = Harness::new(testing::sqlite_table().await).await;
    let provider = Loopback::start(|_| async {
        (
            200,
            r#"{"access_token":"a","token_type":"bearer","expires_in":3600}"#.to_owned(),
        )
    })
    .await;
    let (status, created) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({"key": "books", "name": "Books",
                "parameters": [{"name": "tenant_key", "label": "Tenant key", "required": true,
                                "secret": true, "pattern": "^[a-z0-9-]+$"}],
                "auth_options": [{"key": "oauth", "type": "oauth2",
                    "authorization_url": format!("{}/authorize", provider.url),
                    "token_url": format!("{}/token", provider.url),
                    "client": {"client_id": "app", "client_secret": "s3cret"}}],
                "api": {"base_url": "https://api.books.example"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let consumer = consumer(&h, Some("https://app.acme.test/done")).await;
    let start = || async {
        let path = link(
            &h,
            &consumer,
            json!({"name": "B", "integration_id": created["id"]}),
        )
        .await;
        let landing = post_form(&h, &path, &[("param.tenant_key", "tk-hidden-42")]).await;
        let state = latchkey_tests::oauth::sent_state(&landing);
        (landing, state)
    };
    let (_abandoned, abandoned_state) = start().await;
    let (landing, state) = start().await;
    let stored = h
        .app
        .store
        .flow(&token_hash(&state))
        .await
        .unwrap()
        .expect("stored");
    let text = serde_json::to_string(&stored).unwrap();
    assert!(stored.sealed.is_some(), "{text}");
    for hidden in ["pkce_verifier", "tk-hidden-42", "tenant_key"] {
        assert!(!text.contains(hidden), "{hidden} readable in {text}");
    }

    // The callback opens them: the verifier reaches the token endpoint.
    let cookie = latchkey_tests::oauth::flow_cookie(&landing);
    let path = latchkey_tests::oauth::redirect_path(&landing);
    let done =
        latchkey_tests::oauth::browse(&h, &format!("{path}?code=c&state={state}"), Some(&cookie))
            .await;
    assert!(
        location(&done).contains("connectionId="),
        "{}",
        location(&done)
    );
    assert!(provider.recorded()[0].body.contains("code_verifier="));

    // The abandoned flow is purged once expired.
    h.clock.advance(11 * 60);
    let report = connections::run(&h.app, RunOptions::default())
        .await
        .unwrap();
    assert!(report.purged >= 1, "{report:?}");
    assert!(
        h.app
            .store
            .flow(&token_hash(&abandoned_state))
            .await
            .unwrap()
            .is_none()
    );
}
