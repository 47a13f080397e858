//! The account-wide connection inventory and how integrations end (docs/ARCHITECTURE.md
//! §5): every page but the last is full, newest first, each filter served by an index;
//! an integration with connections is deleted only with `cascade=true`, which disconnects
//! them the way deleting a consumer does.

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::http::StatusCode;
use latchkey_core::status::{Counts, account_status};
use latchkey_domain::ConnectionStatus;
use latchkey_store::{Connections, InventoryFilter, Table};
use latchkey_tests::loopback::Loopback;
use latchkey_tests::oauth::{installed_with_tokens, integration_answering, keyed_connection};
use latchkey_tests::{Harness, on_both_stores, webhooks};
use serde_json::json;

/// Every page of `GET {path}` at `limit`, asserting each but the last is full.
async fn pages(h: &Harness, path: &str, limit: usize) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (mut ids, mut cursor) = (Vec::new(), String::new());
    loop {
        let url = format!("{path}{sep}limit={limit}{cursor}");
        let (status, page) = h.get(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let data = page["data"].as_array().unwrap();
        ids.extend(data.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(data.len(), limit, "{url}: a page before the last is full");
                cursor = format!("&cursor={next}");
            }
            None => return ids,
        }
    }
}

/// Twelve connections, one per consumer, created a second apart: `i % 3 == 0` to
/// "ledger" (whose token endpoint refuses the app: a forced refresh puts them in
/// `error`), the rest to "books" (refusing the grant: `needs_reauth`). Numbers 0 and 6
/// go to error, 1, 4 and 7 to needs_reauth, the others stay active.
struct Fleet {
    books: String,
    ledger: String,
    /// (consumer, connection) by creation order.
    made: Vec<(String, String)>,
}

async fn fleet(h: &Harness) -> Fleet {
    let refuse = |error: &str| (400, json!({"error": error}).to_string());
    let (books, _books_endpoint) = integration_answering(h, "books", refuse("invalid_grant")).await;
    let (ledger, _ledger_endpoint) =
        integration_answering(h, "ledger", refuse("invalid_client")).await;
    let mut made = Vec::new();
    for i in 0..12 {
        h.clock.advance(1);
        let integration = if i % 3 == 0 { &ledger } else { &books };
        let body = json!({"name": format!("Customer {i}")});
        made.push(installed_with_tokens(h, integration, body).await);
    }
    for (i, expected) in [
        (0, "error"),
        (6, "error"),
        (1, "needs_reauth"),
        (4, "needs_reauth"),
        (7, "needs_reauth"),
    ] {
        let path = format!("/v1/connections/{}", made[i].1);
        let (status, problem) = h.send("POST", &format!("{path}/refresh"), json!({})).await;
        assert!(!status.is_success(), "{problem}");
        assert_eq!(h.get(&path).await.1["status"], expected);
    }
    Fleet {
        books,
        ledger,
        made,
    }
}

impl Fleet {
    /// The connections numbered `which`, newest first.
    fn newest_first(&self, which: &[usize]) -> Vec<String> {
        let mut which = which.to_vec();
        which.sort_unstable_by(|a, b| b.cmp(a));
        which.iter().map(|&i| self.made[i].1.clone()).collect()
    }
}

async fn the_inventory_lists_full_pages_newest_first_by_any_filter(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    // Webhooks to a receiver that is down: they wait in the backlog.
    let down = Loopback::start(|_| async { (503, String::new()) }).await;
    webhooks::pointed_at(&h, &down).await;
    let fleet = fleet(&h).await;
    let all: Vec<usize> = (0..12).collect();

    assert_eq!(
        pages(&h, "/v1/connections", 5).await,
        fleet.newest_first(&all)
    );
    let by_status = [
        ("active", vec![2, 3, 5, 8, 9, 10, 11]),
        ("needs_reauth", vec![1, 4, 7]),
        ("error", vec![0, 6]),
    ];
    for (status, which) in &by_status {
        let path = format!("/v1/connections?status={status}");
        assert_eq!(
            pages(&h, &path, 2).await,
            fleet.newest_first(which),
            "{status}"
        );
    }
    let books = format!("/v1/connections?integration_id={}", fleet.books);
    assert_eq!(
        pages(&h, &books, 3).await,
        fleet.newest_first(&[1, 2, 4, 5, 7, 8, 10, 11])
    );
    let books_active = format!("{books}&status=active");
    assert_eq!(
        pages(&h, &books_active, 2).await,
        fleet.newest_first(&[2, 5, 8, 10, 11])
    );
    let ledger_error = format!(
        "/v1/connections?integration_id={}&status=error",
        fleet.ledger
    );
    assert_eq!(
        pages(&h, &ledger_error, 1).await,
        fleet.newest_first(&[0, 6])
    );
    let (consumer, _) = &fleet.made[7];
    let mine = format!("/v1/connections?consumer_id={consumer}");
    assert_eq!(pages(&h, &mine, 1).await, fleet.newest_first(&[7]));
    assert!(
        pages(&h, &format!("{mine}&status=active"), 1)
            .await
            .is_empty()
    );

    // What the filters are served by reads what the page needs, not the account.
    let statuses: BTreeMap<&str, ConnectionStatus> = [
        ("active", ConnectionStatus::Active),
        ("needs_reauth", ConnectionStatus::NeedsReauth),
    ]
    .into();
    for (name, status) in statuses {
        let filter = InventoryFilter {
            status: Some(status),
            ..Default::default()
        };
        let page = h
            .app
            .store
            .connection_inventory(&h.account_id, &filter, 2, None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2, "{name}");
        // Two for the page, one to know another follows, one the backend looks ahead.
        assert!(page.read <= 4, "{name}: read {} of 12", page.read);
    }

    // Nothing of another account, a cursor of no listing, a status that is not listed.
    let (status, other) = h
        .call("GET", "/v1/connections", Some(&h.other_key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(other["data"], json!([]));
    // A well-formed cursor whose sort key is not one Latchkey wrote.
    let forged = {
        use base64::Engine;
        let position = json!({"pk": "", "sk": "", "isk": ""});
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(position.to_string());
        format!("cursor={raw}")
    };
    for (query, field) in [
        ("status=pending", "status"),
        ("status=ACTIVE", "status"),
        ("cursor=not-a-cursor", "cursor"),
        (forged.as_str(), "cursor"),
        ("limit=0", "limit"),
    ] {
        let (status, problem) = h.get(&format!("/v1/connections?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (status, _) = h.call("GET", "/v1/connections", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // `latchkey status` counts the same connections.
    let report = account_status(&h.app.store, &h.account_id).await.unwrap();
    let counts = |total, active, needs_reauth, error| Counts {
        total,
        active,
        needs_reauth,
        error,
    };
    assert_eq!(report.connections, counts(12, 7, 3, 2));
    assert_eq!(
        report.integrations[&fleet.books].connections,
        counts(8, 5, 3, 0)
    );
    assert_eq!(
        report.integrations[&fleet.ledger].connections,
        counts(4, 2, 0, 2)
    );
    assert_eq!(report.integrations[&fleet.ledger].key, "ledger");
    // One-hour tokens installed a second apart: the oldest active one is due first.
    let (_, oldest_active) = h.get(&format!("/v1/connections/{}", fleet.made[2].1)).await;
    let expires = oldest_active["access_expires_at"].as_str().unwrap();
    let expires = latchkey_api::Timestamp::parse(expires).unwrap().0;
    let due = report
        .next_refresh_due_at
        .expect("active connections are scheduled");
    assert!(due < expires && due > h.app.now(), "{due} vs {expires}");
    assert!(report.webhook_backlog >= 12, "{report:?}");
    assert!(report.oldest_webhook_due_at.is_some());
}
on_both_stores!(the_inventory_lists_full_pages_newest_first_by_any_filter);

/// Deleting an integration that has connections is refused until the caller says what
/// happens to them; `cascade=true` disconnects each as a consumer's deletion does.
async fn an_integration_with_connections_is_deleted_only_with_cascade(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    let (receiver, _) = webhooks::receiving(&h).await;
    let first = keyed_connection(&h).await;
    let (_, connection) = h.get(&format!("/v1/connections/{first}")).await;
    let integration = connection["integration_id"].as_str().unwrap().to_owned();
    let (status, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Pied Piper"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, second) = h
        .send(
            "POST",
            &format!(
                "/v1/consumers/{}/connections/install",
                consumer["id"].as_str().unwrap()
            ),
            json!({"integration_id": integration, "auth_value": "k-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second = second["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/integrations/{integration}");

    let (status, problem) = h.delete(&path).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "has_connections");
    // Another account's key finds nothing to delete, cascading or not.
    let other = h
        .call(
            "DELETE",
            &format!("{path}?cascade=true"),
            Some(&h.other_key),
            None,
        )
        .await;
    assert_eq!(other.0, StatusCode::NOT_FOUND, "{}", other.1);
    assert_eq!(
        h.call("DELETE", &path, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, problem) = h.delete(&format!("{path}?cascade=yes")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "cascade");
    for id in [&first, &second] {
        let (status, _) = h.get(&format!("/v1/connections/{id}/credentials")).await;
        assert_eq!(status, StatusCode::OK, "a refused delete changes nothing");
    }
    assert_eq!(h.get(&path).await.0, StatusCode::OK);

    // Too little of the invocation left to finish one disconnect: nothing is started.
    let cascade = format!("{path}?cascade=true");
    let (status, problem) = h
        .call_on_lambda("DELETE", &cascade, std::time::Duration::from_secs(5))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "unfinished");
    for id in [&first, &second] {
        let (status, _) = h.get(&format!("/v1/connections/{id}/credentials")).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "an unfinished cascade started nothing"
        );
    }

    let (status, body) = h.delete(&cascade).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(h.get(&path).await.0, StatusCode::NOT_FOUND);
    for id in [&first, &second] {
        assert_eq!(
            h.get(&format!("/v1/connections/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        let deleted = webhooks::events(&receiver, "connection.deleted", id).await;
        assert_eq!(deleted.len(), 1, "{id}");
    }
    let listed = format!("/v1/connections?integration_id={integration}");
    assert!(pages(&h, &listed, 10).await.is_empty());
    assert!(pages(&h, "/v1/connections", 10).await.is_empty());

    // With nothing connected, no cascade is needed.
    let (status, unused) = h
        .send(
            "POST",
            "/v1/integrations",
            json!({"key": "unused", "name": "Unused", "auth_options": [{"key": "key", "type": "api_key"}],
                   "api": {"base_url": "https://api.unused.example"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let unused = format!("/v1/integrations/{}", unused["id"].as_str().unwrap());
    assert_eq!(h.delete(&unused).await.0, StatusCode::NO_CONTENT);
}
on_both_stores!(an_integration_with_connections_is_deleted_only_with_cascade);

/// `GET /v1/integrations?status=` fills its pages too (it used to filter each page after
/// reading it: short or empty pages with a cursor).
async fn integration_pages_by_status_are_full(table: Arc<dyn Table>) {
    let h = Harness::new(table).await;
    for n in 0..6 {
        let (status, created) = h
            .send(
                "POST",
                "/v1/integrations",
                json!({"key": format!("tool{n}"), "name": format!("Tool {n}"),
                       "auth_options": [{"key": "key", "type": "api_key"}],
                       "api": {"base_url": format!("https://api.tool{n}.example")}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        if n % 3 != 0 {
            let path = format!("/v1/integrations/{}", created["id"].as_str().unwrap());
            let (status, _) = h.send("PATCH", &path, json!({"status": "inactive"})).await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let (_, page) = h.get(&format!("/v1/integrations?limit=100{cursor}")).await;
        all.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    // Two active among ~180 (the built-ins start inactive): sparse pages both ways.
    for (status, sizes) in [("active", [1, 3]), ("inactive", [7, 50])] {
        let expected: Vec<String> = all
            .iter()
            .filter(|i| i["status"] == status)
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(expected.len() >= 2, "{status}: {expected:?}");
        let path = format!("/v1/integrations?status={status}");
        for size in sizes {
            assert_eq!(pages(&h, &path, size).await, expected, "{status} by {size}");
        }
    }
}
on_both_stores!(integration_pages_by_status_are_full);
