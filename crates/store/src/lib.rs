//! Persistence. [`Table`] is the single-table contract both backends implement with the
//! same semantics (conditional writes, expiry-checked reads, cursor pagination, two
//! secondary indexes); [`Store`] maps the domain onto it once, for both.
//!
//! Expiry: an item whose `expires_at` is at or before `now` is invisible to every read and
//! counts as absent for conditions, even while it is still physically stored (DynamoDB's
//! TTL deletion is lazy, up to days late; SQLite never deletes on its own).

mod cursor;
pub mod dynamo;
pub mod keys;
mod repo;
pub mod sdk;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;

pub use cursor::Cursor;
pub use keys::SCHEDULE_SHARDS;
pub use repo::{
    Accounts, Connections, Consumers, Integrations, InventoryFilter, Lease, Leases, Links, Listing,
    Outbox, Reminders, Sessions, Store, Versioned,
};

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// One stored item: its key, a JSON body, and the attributes the indexes and the TTL use.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub key: Key,
    /// What the body is (`account`, `consumer`, …), so a key mix-up fails loudly.
    pub kind: String,
    /// JSON text, kept as text: backends store it as it is and only the domain layer
    /// parses it, once, straight into its type.
    pub body: String,
    /// Bumped by every update; `Condition::Version` compares against it.
    pub version: u64,
    /// Epoch seconds after which the item no longer exists for readers.
    pub expires_at: Option<i64>,
    /// Entry in the `lookup` index (partition, sort).
    pub lookup: Option<(String, String)>,
    /// Entry in the `schedule` index (shard, epoch seconds when due).
    pub schedule: Option<(String, i64)>,
    /// Entry in the `inventory` index (partition, sort).
    pub inventory: Option<(String, String)>,
}

/// The version of an item just created; each update adds one.
pub const FIRST_VERSION: u64 = 1;

impl Record {
    pub fn new(key: Key, kind: &str, body: impl Into<String>) -> Self {
        Self {
            key,
            kind: kind.to_owned(),
            body: body.into(),
            version: FIRST_VERSION,
            expires_at: None,
            lookup: None,
            schedule: None,
            inventory: None,
        }
    }

    pub fn expires_at(mut self, at: i64) -> Self {
        self.expires_at = Some(at);
        self
    }

    pub fn lookup(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.lookup = Some((pk.into(), sk.into()));
        self
    }

    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// When a write may happen. Expired items count as absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// No live item with this key (create-if-absent).
    Absent,
    /// A live item with this key exists.
    Present,
    /// A live item with exactly this version exists (optimistic update).
    Version(u64),
}

#[derive(Debug, Clone)]
pub enum WriteOp {
    Put(Record, Condition),
    Delete(Key, Condition),
}

/// What to read. Every query returns live items only, in sort-key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Items of one partition whose sort key starts with `sk_prefix`.
    Partition { pk: String, sk_prefix: String },
    /// Items whose `lookup` partition is `pk` and whose lookup sort key starts with `sk_prefix`.
    Lookup { pk: String, sk_prefix: String },
    /// Items in one `schedule` shard due at or before `until`.
    Due { shard: String, until: i64 },
    /// Items whose `inventory` partition is `pk` and whose inventory sort key is after
    /// `after` (every one when `None`), in inventory sort-key order.
    Inventory { pk: String, after: Option<String> },
}

#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Record>,
    /// Set exactly when more items follow.
    pub next: Option<Cursor>,
    /// How many stored items the backend examined to answer (live or not), so callers
    /// and tests can see that a query read only what it had to.
    pub read: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a write condition did not hold")]
    ConditionFailed,
    /// A field that must be unique (per account) is taken.
    #[error("{0} is already in use")]
    Duplicate(&'static str),
    /// The item changed or disappeared since it was read.
    #[error("the item was changed or removed concurrently")]
    Stale,
    #[error("the pagination cursor is not valid for this query")]
    BadCursor,
    #[error("stored item {0} is malformed: {1}")]
    Corrupt(String, String),
    #[error("storage backend error")]
    Backend(#[source] latchkey_domain::error::Cause),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The single-table contract. `now` is passed in (not read from a clock) so that the
/// expiry rules are the caller's, and testable.
#[async_trait]
pub trait Table: Send + Sync {
    /// The live item with this key.
    async fn get(&self, key: &Key, now: i64) -> StoreResult<Option<Record>>;

    /// All operations, atomically: either every condition holds and every write lands,
    /// or nothing changes and the answer is `ConditionFailed`.
    async fn write(&self, ops: Vec<WriteOp>, now: i64) -> StoreResult<()>;

    /// Puts items nobody else can know of yet (a new account's built-ins) without
    /// conditions, in as few calls as the backend allows. Not atomic everywhere: a failure
    /// may leave some written, and putting them again is harmless.
    async fn put_new(&self, records: Vec<Record>, now: i64) -> StoreResult<()> {
        let ops = records
            .into_iter()
            .map(|r| WriteOp::Put(r, Condition::Always))
            .collect();
        self.write(ops, now).await
    }

    /// Deletes the live item with this key and returns it; `None` when there was none.
    /// Of concurrent takers of one item exactly one gets it (single-use tokens).
    async fn take(&self, key: &Key, now: i64) -> StoreResult<Option<Record>>;

    /// One page of at most `limit` live items (limit is clamped to 1..=1000).
    async fn query(
        &self,
        query: &Query,
        limit: usize,
        cursor: Option<&Cursor>,
        now: i64,
    ) -> StoreResult<Page>;

    /// Deletes the items expired by `now`; answers how many. DynamoDB's TTL does this on
    /// its own (reads never see them either way).
    async fn purge_expired(&self, _now: i64) -> StoreResult<usize> {
        Ok(0)
    }
}

pub(crate) const MAX_PAGE: usize = 1000;

pub(crate) fn clamp_limit(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

impl From<StoreError> for latchkey_domain::FlowError {
    fn from(e: StoreError) -> Self {
        latchkey_domain::FlowError::internal(e)
    }
}
