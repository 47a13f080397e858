//! The domain on top of a [`Table`]: one small trait per entity kind, each implemented once
//! for [`Store`] and so for both backends. Key formats live in [`crate::keys`]. The traits
//! return `impl Future + Send` and are used with the concrete `Store`: calls are statically
//! dispatched and no future is boxed (as `async_trait` would box one per call).

mod accounts;
mod connections;
mod consumers;
mod integrations;
mod leases;
mod links;
mod outbox;
mod reminders;
mod sessions;

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Condition, Cursor, Key, Query, Record, StoreError, StoreResult, Table, WriteOp};
use latchkey_domain::Clock;

pub use accounts::Accounts;
#[cfg(feature = "testing")]
pub(crate) use connections::created as created_connection;
pub use connections::{Connections, InventoryFilter};
pub use consumers::Consumers;
pub use integrations::Integrations;
pub use leases::{Lease, Leases};
pub use links::Links;
pub use outbox::Outbox;
pub use reminders::Reminders;
pub use sessions::Sessions;

/// A value with the version it was read at, for optimistic updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// One page of domain values.
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
    /// Items the backend examined (see [`crate::Page::read`]).
    pub read: usize,
}

/// The repositories over one table. The clock is the composition root's: expiry is
/// checked against it on every read.
#[derive(Clone)]
pub struct Store {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain values serialize")
}

fn decode<T: DeserializeOwned>(record: Record, kind: &str) -> StoreResult<Versioned<T>> {
    let name = || format!("{}/{}", record.key.pk, record.key.sk);
    if record.kind != kind {
        return Err(StoreError::Corrupt(
            name(),
            format!("expected {kind}, found {}", record.kind),
        ));
    }
    let version = record.version;
    let value = serde_json::from_str(&record.body)
        .map_err(|e| StoreError::Corrupt(name(), e.to_string()))?;
    Ok(Versioned { value, version })
}

/// An item that exists only to make a field unique; it names its owner.
#[derive(Serialize, serde::Deserialize)]
struct Guard {
    owner: String,
}

fn guard(key: Key, owner: &str) -> Record {
    Record::new(
        key,
        "guard",
        encode(&Guard {
            owner: owner.to_owned(),
        }),
    )
}

/// A failed create-if-absent means the unique `field` is taken.
fn duplicate(e: StoreError, field: &'static str) -> StoreError {
    match e {
        StoreError::ConditionFailed => StoreError::Duplicate(field),
        other => other,
    }
}

/// A failed version or presence check means someone else changed or deleted it first.
fn stale(e: StoreError) -> StoreError {
    match e {
        StoreError::ConditionFailed => StoreError::Stale,
        other => other,
    }
}

impl Store {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        Self { table, clock }
    }

    /// The time expiry is checked against, epoch seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Deletes what has expired where the table does not do it itself (SQLite).
    pub async fn purge_expired(&self) -> StoreResult<usize> {
        self.table.purge_expired(self.now()).await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        key: Key,
        kind: &str,
    ) -> StoreResult<Option<Versioned<T>>> {
        match self.table.get(&key, self.now()).await? {
            Some(record) => decode(record, kind).map(Some),
            None => Ok(None),
        }
    }

    /// Deletes the live item and answers it: of concurrent takers exactly one gets it.
    async fn take<T: DeserializeOwned>(&self, key: Key, kind: &str) -> StoreResult<Option<T>> {
        match self.table.take(&key, self.now()).await? {
            Some(record) => Ok(Some(decode(record, kind)?.value)),
            None => Ok(None),
        }
    }

    async fn list<T: DeserializeOwned>(
        &self,
        query: Query,
        kind: &str,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<T>>> {
        let page = self.table.query(&query, limit, cursor, self.now()).await?;
        let items = page
            .items
            .into_iter()
            .map(|r| decode(r, kind))
            .collect::<StoreResult<_>>()?;
        Ok(Listing {
            items,
            next: page.next,
            read: page.read,
        })
    }

    async fn write(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        self.table.write(ops, self.now()).await
    }

    pub(crate) async fn put_new(&self, records: Vec<Record>) -> StoreResult<()> {
        self.table.put_new(records, self.now()).await
    }

    /// Creates `records` together, none of which may exist; a clash is `field` taken.
    async fn create(&self, records: Vec<Record>, field: &'static str) -> StoreResult<()> {
        let ops = records
            .into_iter()
            .map(|r| WriteOp::Put(r, Condition::Absent))
            .collect();
        self.write(ops).await.map_err(|e| duplicate(e, field))
    }

    /// The one optimistic update: `record` replaces the item read at version `read`
    /// (with `also` in the same transaction), or nothing changes and the answer is
    /// `ConditionFailed`. Answers the new version.
    async fn replace_at(
        &self,
        mut record: Record,
        read: u64,
        also: Vec<WriteOp>,
    ) -> StoreResult<u64> {
        record.version = read + 1;
        let mut ops = vec![WriteOp::Put(record, Condition::Version(read))];
        ops.extend(also);
        self.write(ops).await?;
        Ok(read + 1)
    }

    /// [`Store::replace_at`] where any failed condition means the item changed: `Stale`.
    async fn replace(&self, record: Record, read: u64, also: Vec<WriteOp>) -> StoreResult<u64> {
        self.replace_at(record, read, also).await.map_err(stale)
    }

    /// Deletes items that must still be there; `Stale` when one is gone or changed.
    async fn remove(&self, ops: Vec<WriteOp>) -> StoreResult<()> {
        self.write(ops).await.map_err(stale)
    }

    /// The id a uniqueness guard item names, if the guard exists.
    async fn guard_owner(&self, key: Key) -> StoreResult<Option<String>> {
        let found: Option<Versioned<Guard>> = self.get(key, "guard").await?;
        Ok(found.map(|g| g.value.owner))
    }
}
