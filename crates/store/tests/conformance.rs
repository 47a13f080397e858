//! One conformance suite, run against both stores: the embedded SQLite store and DynamoDB
//! (through moto). Every case is generated twice, as `sqlite::<case>` and `dynamodb::<case>`.

use latchkey_domain::{AccountId, ConnectionId, ConsumerId, IntegrationId};
use latchkey_store::{Accounts, Connections, Consumers, Integrations, InventoryFilter, Links};
use std::collections::BTreeSet;
use std::sync::Arc;

use latchkey_domain::token::{new_id, new_token, token_hash};
use latchkey_domain::{
    Account, Activation, Connection, ConnectionStatus, Consumer, NewActivation,
    REFRESH_MARGIN_SECONDS, RefreshState,
};
use latchkey_store::testing as support;
use latchkey_store::testing::T0;
use latchkey_store::{
    Condition, Cursor, Key, Query, Record, SCHEDULE_SHARDS, Store, StoreError, Table, WriteOp,
};

fn consumer(account: &str, name: &str, reference: Option<&str>) -> Consumer {
    Consumer {
        id: ConsumerId::generate(),
        account_id: account.into(),
        name: name.into(),
        redirect_url: None,
        internal_reference: reference.map(Into::into),
        email: None,
        metadata: Default::default(),
        reminders_opted_out_at: None,
        created_at: T0,
        updated_at: T0,
    }
}

fn connection(
    account: &str,
    consumer: &str,
    integration: &str,
    expires: Option<i64>,
    refreshable: bool,
) -> Connection {
    Connection {
        id: ConnectionId::generate(),
        account_id: account.into(),
        consumer_id: consumer.into(),
        integration_id: integration.into(),
        auth_option_key: "oauth".into(),
        name: "Books".into(),
        description: None,
        parameters: Default::default(),
        status: ConnectionStatus::Active,
        access_expires_at: expires,
        access_issued_at: Some(T0),
        refreshable,
        metadata: Default::default(),
        refresh: RefreshState::default(),
        credentials: None,
        created_at: T0,
        updated_at: T0,
    }
}

fn activation(account: &str, consumer: &str, now: i64) -> (String, Activation) {
    let token = new_token("lka");
    let a = NewActivation {
        name: "QuickBooks".into(),
        ..Default::default()
    }
    .into_activation(
        token_hash(token.expose()),
        account.into(),
        consumer.into(),
        now,
    )
    .unwrap();
    (token.expose().to_owned(), a)
}

async fn duplicate_create_is_refused(table: Arc<dyn Table>) {
    let (store, _) = support::store(table.clone());
    let account = Account::new(AccountId::generate(), "Acme".into(), T0);
    store.create_account(&account).await.unwrap();
    let mut renamed = account.clone();
    renamed.name = "Impostor".into();
    assert!(matches!(
        store.create_account(&renamed).await,
        Err(StoreError::Duplicate("id"))
    ));
    assert_eq!(
        store
            .account(&account.id)
            .await
            .unwrap()
            .unwrap()
            .value
            .name,
        "Acme"
    );

    // Unique per account: the same reference twice in one account is refused and
    // leaves nothing behind; in another account it is fine.
    let first = consumer(&account.id, "First", Some("crm-42"));
    store.create_consumer(&first).await.unwrap();
    let second = consumer(&account.id, "Second", Some("crm-42"));
    assert!(matches!(
        store.create_consumer(&second).await,
        Err(StoreError::Duplicate("internal_reference"))
    ));
    assert!(
        store
            .consumer(&account.id, &second.id)
            .await
            .unwrap()
            .is_none()
    );
    store
        .create_consumer(&consumer("acc_other", "Other", Some("crm-42")))
        .await
        .unwrap();
    let found = store
        .consumer_by_reference(&account.id, "crm-42")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.value.id, first.id);

    // Moving a reference onto a taken one is refused too, and changes nothing.
    let third = consumer(&account.id, "Third", Some("crm-43"));
    store.create_consumer(&third).await.unwrap();
    let read = store
        .consumer(&account.id, &third.id)
        .await
        .unwrap()
        .unwrap();
    let mut moved = read.value.clone();
    moved.internal_reference = Some("crm-42".into());
    assert!(matches!(
        store.update_consumer(&read, &moved).await,
        Err(StoreError::Duplicate("internal_reference"))
    ));
    assert_eq!(
        store
            .consumer_by_reference(&account.id, "crm-43")
            .await
            .unwrap()
            .unwrap()
            .value
            .id,
        third.id
    );
    // Freeing a reference makes it available again.
    let mut freed = read.value.clone();
    freed.internal_reference = Some("crm-44".into());
    store.update_consumer(&read, &freed).await.unwrap();
    assert!(
        store
            .consumer_by_reference(&account.id, "crm-43")
            .await
            .unwrap()
            .is_none()
    );
    store
        .create_consumer(&consumer(&account.id, "Fourth", Some("crm-43")))
        .await
        .unwrap();
}

async fn concurrent_consumers_of_one_activation_exactly_one_wins(table: Arc<dyn Table>) {
    let (store, _) = support::store(table);
    let (token, a) = activation("acc_1", "csm_1", T0);
    store.create_activation(&a).await.unwrap();
    let hash = token_hash(&token);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let hash = hash.clone();
            tokio::spawn(async move { store.consume_activation(&hash).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if let Some(won) = t.await.unwrap() {
            assert_eq!(won.consumer_id, "csm_1");
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert!(store.activation(&hash).await.unwrap().is_none());
    assert!(
        store.consume_activation(&hash).await.unwrap().is_none(),
        "a used token stays used"
    );
}

async fn concurrent_updates_of_one_version_exactly_one_wins(table: Arc<dyn Table>) {
    let (store, _) = support::store(table);
    let c = connection("acc_1", "csm_1", "int_1", Some(T0 + 3600), true);
    store.create_connection(&c).await.unwrap();
    let read = store
        .connection(&AccountId::from("acc_1"), &c.id)
        .await
        .unwrap()
        .unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            let mut next = read.clone();
            next.value.name = format!("writer {i}");
            tokio::spawn(async move { store.update_connection(&next).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(v) => {
                assert_eq!(v, read.version + 1);
                ok += 1;
            }
            Err(StoreError::Stale) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 1);
    let now = store
        .connection(&AccountId::from("acc_1"), &c.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.version, read.version + 1);
    assert!(now.value.name.starts_with("writer "));
}

async fn expired_items_are_invisible_but_still_stored(table: Arc<dyn Table>) {
    let (store, clock) = support::store(table.clone());
    let (token, a) = activation("acc_1", "csm_1", T0);
    store.create_activation(&a).await.unwrap();
    let hash = token_hash(&token);
    clock.advance(29 * 60);
    assert!(
        store.activation(&hash).await.unwrap().is_some(),
        "valid for 30 minutes"
    );
    clock.advance(60);
    assert!(
        store.activation(&hash).await.unwrap().is_none(),
        "expired at 30 minutes"
    );
    assert!(
        store.consume_activation(&hash).await.unwrap().is_none(),
        "an expired token cannot be used"
    );

    // Still physically there: read at an earlier instant, the same item is visible.
    let key = Key::new(format!("ACTIVATION#{hash}"), "ACTIVATION");
    assert!(table.get(&key, T0).await.unwrap().is_some());
    assert!(
        table.get(&key, a.expires_at).await.unwrap().is_none(),
        "expiry is inclusive"
    );

    // Queries skip expired items; an expired item counts as absent for create-if-absent.
    let live = Record::new(Key::new("P#q", "A"), "t", "1").expires_at(T0 + 100);
    let dead = Record::new(Key::new("P#q", "B"), "t", "2").expires_at(T0 + 10);
    let forever = Record::new(Key::new("P#q", "C"), "t", "3");
    let ops = [live, dead.clone(), forever].map(|r| WriteOp::Put(r, Condition::Absent));
    table.write(ops.to_vec(), T0).await.unwrap();
    let q = Query::Partition {
        pk: "P#q".into(),
        sk_prefix: String::new(),
    };
    let page = table.query(&q, 10, None, T0 + 50).await.unwrap();
    let sks: Vec<_> = page.items.iter().map(|r| r.key.sk.as_str()).collect();
    assert_eq!(sks, ["A", "C"]);
    let mut reborn = dead;
    reborn.body = r#""new""#.into();
    reborn.expires_at = None;
    table
        .write(
            vec![WriteOp::Put(reborn.clone(), Condition::Absent)],
            T0 + 50,
        )
        .await
        .unwrap();
    assert_eq!(
        table.get(&reborn.key, T0 + 50).await.unwrap().unwrap().body,
        r#""new""#
    );
}

async fn pagination_returns_every_item_once(table: Arc<dyn Table>) {
    let (store, _) = support::store(table);
    let account = new_id("acc");
    let mut expected = BTreeSet::new();
    for i in 0..23 {
        let c = consumer(&account, &format!("Consumer {i}"), None);
        expected.insert(c.id.clone());
        store.create_consumer(&c).await.unwrap();
    }
    // Another account's consumers never show up.
    store
        .create_consumer(&consumer("acc_other", "Other", None))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_consumers(&AccountId::from(account.as_str()), 5, cursor.as_ref())
            .await
            .unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.into_iter().map(|c| c.value.id));
        pages += 1;
        // Cursors survive a round trip through a client.
        match page.next {
            Some(next) => cursor = Some(Cursor::parse(next.as_str()).unwrap()),
            None => break,
        }
    }
    assert_eq!(pages, 5, "23 items in pages of 5, and no empty last page");
    assert_eq!(seen.len(), 23);
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), expected);

    // A cursor is bound to its query: another account's listing refuses it.
    let first = store
        .list_consumers(&AccountId::from(account.as_str()), 5, None)
        .await
        .unwrap();
    let err = store
        .list_consumers(&AccountId::from("acc_other"), 5, first.next.as_ref())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BadCursor));
    assert!(matches!(
        Cursor::parse("not a cursor"),
        Err(StoreError::BadCursor)
    ));
}

async fn lookup_index_finds_a_consumers_connections(table: Arc<dyn Table>) {
    let (store, _) = support::store(table);
    let consumer_id = ConsumerId::generate();
    let books = connection("acc_1", &consumer_id, "int_books", None, false);
    let crm1 = connection("acc_1", &consumer_id, "int_crm", None, false);
    let crm2 = connection("acc_1", &consumer_id, "int_crm", None, false);
    let elsewhere = connection("acc_1", &new_id("csm"), "int_crm", None, false);
    for c in [&books, &crm1, &crm2, &elsewhere] {
        store.create_connection(c).await.unwrap();
    }
    let all = store
        .consumer_connections(&AccountId::from("acc_1"), &consumer_id, None, 10, None)
        .await
        .unwrap();
    let ids: BTreeSet<_> = all.items.iter().map(|c| c.value.id.clone()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([books.id.clone(), crm1.id.clone(), crm2.id.clone()])
    );
    let crm = store
        .consumer_connections(
            &AccountId::from("acc_1"),
            &consumer_id,
            Some(&IntegrationId::from("int_crm")),
            1,
            None,
        )
        .await
        .unwrap();
    assert_eq!(crm.items.len(), 1);
    let rest = store
        .consumer_connections(
            &AccountId::from("acc_1"),
            &consumer_id,
            Some(&IntegrationId::from("int_crm")),
            1,
            crm.next.as_ref(),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next.is_none());
    let both: BTreeSet<_> = crm
        .items
        .iter()
        .chain(&rest.items)
        .map(|c| c.value.id.clone())
        .collect();
    assert_eq!(both, BTreeSet::from([crm1.id.clone(), crm2.id.clone()]));
    // Another account sees none of them, by id or by consumer.
    assert!(
        store
            .connection(&AccountId::from("acc_2"), &books.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .consumer_connections(&AccountId::from("acc_2"), &consumer_id, None, 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn refresh_schedule_returns_exactly_the_due_connections(table: Arc<dyn Table>) {
    let (store, _) = support::store(table);
    let now = T0;
    let until = now + REFRESH_MARGIN_SECONDS;
    let account = new_id("acc");
    let mut due = BTreeSet::new();
    for i in 0..60i64 {
        // Expiries spread from already expired to two hours out, every 2.5 minutes.
        let expires = now - 600 + i * 150;
        let refreshable = i % 5 != 0;
        let c = connection(&account, "csm_1", "int_1", Some(expires), refreshable);
        store.create_connection(&c).await.unwrap();
        if refreshable && expires - REFRESH_MARGIN_SECONDS <= until {
            due.insert(c.id.clone());
        }
    }
    // Connections that are not active, or never expire, are never scheduled.
    let mut broken = connection(&account, "csm_1", "int_1", Some(now), true);
    broken.status = ConnectionStatus::NeedsReauth;
    store.create_connection(&broken).await.unwrap();
    store
        .create_connection(&connection(&account, "csm_1", "int_1", None, true))
        .await
        .unwrap();

    let mut found = BTreeSet::new();
    let mut read = 0;
    for shard in 0..SCHEDULE_SHARDS {
        let page = store
            .due_connections(shard, until, 1000, None)
            .await
            .unwrap();
        assert!(page.next.is_none());
        read += page.read;
        for c in page.items {
            assert!(c.value.refresh_due_at().unwrap() <= until);
            found.insert(c.value.id);
        }
    }
    assert!(
        due.len() > 10 && due.len() < 40,
        "the window splits the set: {}",
        due.len()
    );
    assert_eq!(found, due);
    assert_eq!(
        read,
        due.len(),
        "the schedule query read only due connections"
    );

    // After a refresh moves the expiry out, the connection leaves the window.
    let one = due.iter().next().unwrap().clone();
    let mut read_back = store
        .connection(&AccountId::from(account.as_str()), &one)
        .await
        .unwrap()
        .unwrap();
    read_back.value.access_expires_at = Some(now + 7200);
    store.update_connection(&read_back).await.unwrap();
    let mut after = BTreeSet::new();
    for shard in 0..SCHEDULE_SHARDS {
        after.extend(
            store
                .due_connections(shard, until, 1000, None)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| c.value.id),
        );
    }
    assert_eq!(after.len(), due.len() - 1);
    assert!(!after.contains(&one));
}

async fn deleting_a_missing_item_is_stale(table: Arc<dyn Table>) {
    let (store, _) = support::store(table);
    let c = connection("acc_1", "csm_1", "int_1", None, false);
    store.create_connection(&c).await.unwrap();
    store.delete_connection(&c).await.unwrap();
    assert!(
        store
            .connection(&AccountId::from("acc_1"), &c.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.delete_connection(&c).await,
        Err(StoreError::Stale)
    ));
}

/// A new account's built-ins arrive in bulk (`BatchWriteItem` on DynamoDB, 25 items a
/// call): every one is there once, its key guarded like any other.
async fn bulk_created_integrations_are_listed_and_their_keys_guarded(table: Arc<dyn Table>) {
    let (store, _) = support::store(table);
    let account = Account::new(AccountId::generate(), "Acme".into(), T0);
    store.create_account(&account).await.unwrap();
    let integration = |key: String| {
        let input: latchkey_domain::IntegrationInput = serde_json::from_value(serde_json::json!({
            "key": key, "name": key, "status": "inactive",
            "auth_options": [{"key": "k", "type": "api_key"}],
            "api": {"base_url": "https://api.example.com"}
        }))
        .unwrap();
        input
            .into_integration(IntegrationId::generate(), account.id.clone(), Some(key), T0)
            .unwrap()
    };
    let many: Vec<_> = (0..60).map(|n| integration(format!("tool{n}"))).collect();
    store.create_integrations(&many).await.unwrap();
    let mut listed = BTreeSet::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_integrations(&account.id, None, 25, cursor.as_ref())
            .await
            .unwrap();
        listed.extend(page.items.into_iter().map(|i| i.value.key));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(listed.len(), 60);
    let found = store
        .integration_by_key(&account.id, "tool59")
        .await
        .unwrap();
    assert_eq!(found.unwrap().value.id, many[59].id);
    assert!(matches!(
        store.create_integration(&integration("tool7".into())).await,
        Err(StoreError::Duplicate("key"))
    ));
}

macro_rules! conformance {
    ($backend:ident, $make:path) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn duplicate_create_is_refused() {
                super::duplicate_create_is_refused($make().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_consumers_of_one_activation_exactly_one_wins() {
                super::concurrent_consumers_of_one_activation_exactly_one_wins($make().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_updates_of_one_version_exactly_one_wins() {
                super::concurrent_updates_of_one_version_exactly_one_wins($make().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn expired_items_are_invisible_but_still_stored() {
                super::expired_items_are_invisible_but_still_stored($make().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn reindexing_puts_an_older_connection_in_the_inventory() {
                super::reindexing_puts_an_older_connection_in_the_inventory($make().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn pagination_returns_every_item_once() {
                super::pagination_returns_every_item_once($make().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn lookup_index_finds_a_consumers_connections() {
                super::lookup_index_finds_a_consumers_connections($make().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn refresh_schedule_returns_exactly_the_due_connections() {
                super::refresh_schedule_returns_exactly_the_due_connections($make().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn bulk_created_integrations_are_listed_and_their_keys_guarded() {
                super::bulk_created_integrations_are_listed_and_their_keys_guarded($make().await)
                    .await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn deleting_a_missing_item_is_stale() {
                super::deleting_a_missing_item_is_stale($make().await).await
            }
        }
    };
}

conformance!(sqlite, support::sqlite_table);
conformance!(dynamodb, support::dynamo_table);

#[tokio::test]
async fn sqlite_answers_the_schedule_from_its_index() {
    let table = latchkey_store::sqlite::SqliteTable::in_memory().unwrap();
    let plan = table.explain_due().await.unwrap();
    assert!(plan.contains("USING INDEX items_schedule"), "{plan}");
    assert!(!plan.contains("SCAN"), "{plan}");
}

#[tokio::test]
async fn sqlite_file_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/latchkey.db");
    let account = Account::new(AccountId::generate(), "Acme".into(), T0);
    {
        let table = latchkey_store::sqlite::SqliteTable::open(&path).unwrap();
        let (store, _) = support::store(Arc::new(table));
        store.create_account(&account).await.unwrap();
    }
    let table = latchkey_store::sqlite::SqliteTable::open(&path).unwrap();
    let (store, _): (Store, _) = support::store(Arc::new(table));
    assert_eq!(
        store.account(&account.id).await.unwrap().unwrap().value,
        account
    );
}

/// A database file written before the `inventory` index existed opens, keeps its items,
/// and lists connections written after the upgrade.
#[tokio::test]
async fn sqlite_file_of_an_earlier_release_gains_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, kind TEXT NOT NULL,
                 body TEXT NOT NULL, version INTEGER NOT NULL, expires_at INTEGER,
                 lookup_pk TEXT, lookup_sk TEXT, sched_pk TEXT, sched_at INTEGER,
                 PRIMARY KEY (pk, sk)) WITHOUT ROWID;
             INSERT INTO items (pk, sk, kind, body, version) VALUES ('OLD', 'ITEM', 'x', '{}', 1);",
        )
        .unwrap();
    }
    let table = Arc::new(latchkey_store::sqlite::SqliteTable::open(&path).unwrap());
    let old = table.get(&Key::new("OLD", "ITEM"), T0).await.unwrap();
    assert_eq!(old.map(|r| r.kind), Some("x".to_owned()));
    let (store, _) = support::store(table);
    let c = connection("acc_1", "csm_1", "int_1", None, false);
    store.create_connection(&c).await.unwrap();
    let listed = store
        .connection_inventory(&c.account_id, &Default::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].value, c);
}

/// A connection written before the inventory existed (no index entry, no pointer) is
/// listed once reindexed, by status and by integration.
async fn reindexing_puts_an_older_connection_in_the_inventory(table: Arc<dyn Table>) {
    let (store, _) = support::store(table.clone());
    let account = AccountId::generate();
    let c = connection(account.as_str(), "csm_1", "int_1", None, false);
    store.create_connection(&c).await.unwrap();
    // Make it look like an earlier release wrote it.
    let key = Key::new(format!("CONNECTION#{}", c.id), "CONNECTION");
    let mut old = table.get(&key, T0).await.unwrap().unwrap();
    old.inventory = None;
    table
        .write(vec![WriteOp::Put(old, Condition::Always)], T0)
        .await
        .unwrap();
    let pointers = Query::Partition {
        pk: format!("ACCOUNT#{account}#INTEGRATION#int_1#CONNECTIONS"),
        sk_prefix: String::new(),
    };
    for pointer in table.query(&pointers, 10, None, T0).await.unwrap().items {
        let gone = WriteOp::Delete(pointer.key, Condition::Always);
        table.write(vec![gone], T0).await.unwrap();
    }
    let by_integration = InventoryFilter {
        integration_id: Some("int_1".into()),
        ..Default::default()
    };
    let listed = |filter: InventoryFilter| {
        let store = store.clone();
        let account = account.clone();
        async move {
            let page = store
                .connection_inventory(&account, &filter, 10, None)
                .await;
            page.unwrap().items.len()
        }
    };
    assert_eq!(listed(Default::default()).await, 0);
    assert_eq!(listed(by_integration.clone()).await, 0);

    let current = store.connection(&account, &c.id).await.unwrap().unwrap();
    store.reindex_connection(&current).await.unwrap();
    assert_eq!(listed(Default::default()).await, 1);
    assert_eq!(listed(by_integration).await, 1);
    // Reindexing what moved on since it was read is refused, as any stale write.
    assert!(matches!(
        store.reindex_connection(&current).await,
        Err(StoreError::Stale)
    ));
}

/// Bodies are binary attributes in DynamoDB now; items an older release wrote with string
/// bodies read the same, and are written back binary.
#[tokio::test]
async fn dynamodb_reads_string_bodies_of_older_releases() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = aws_sdk_dynamodb::Client::new(&support::sdk_config().await);
    let name = new_id("lk-test").replace('_', "-");
    let table = latchkey_store::dynamo::DynamoTable::new(client.clone(), &name);
    table.create_table().await.unwrap();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    client
        .put_item()
        .table_name(&name)
        .item("pk", s("OLD"))
        .item("sk", s("ITEM"))
        .item("kind", s("guard"))
        .item("body", s(r#"{"owner":"int_old"}"#))
        .item("version", AttributeValue::N("3".into()))
        .send()
        .await
        .unwrap();
    let key = Key::new("OLD", "ITEM");
    let old = table.get(&key, T0).await.unwrap().expect("the older item");
    assert_eq!(
        (old.body.as_str(), old.kind.as_str(), old.version),
        (r#"{"owner":"int_old"}"#, "guard", 3)
    );
    let mut next = old.clone();
    next.version = 4;
    table
        .write(vec![WriteOp::Put(next, Condition::Version(3))], T0)
        .await
        .unwrap();
    let raw = client
        .get_item()
        .table_name(&name)
        .key("pk", s("OLD"))
        .key("sk", s("ITEM"))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(
            raw.item().and_then(|i| i.get("body")),
            Some(AttributeValue::B(_))
        ),
        "{raw:?}"
    );
    assert_eq!(table.get(&key, T0).await.unwrap().unwrap().body, old.body);
}
