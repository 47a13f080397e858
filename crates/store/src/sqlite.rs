//! The embedded store: one SQLite file (or memory), same semantics as DynamoDB.
//!
//! One connection behind a mutex, every call on the blocking pool; writes run in
//! `BEGIN IMMEDIATE` transactions so the CLI and a running gateway can share the file.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::cursor::IndexSort;
use crate::{
    Condition, Cursor, Key, Page, Query, Record, StoreError, StoreResult, Table, WriteOp,
    clamp_limit,
};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
-- Freed pages are zeroed: a sealed secret replaced by a re-sealing or a rotation leaves
-- no copy behind in the file (the vault rotate-key test reads the file's bytes).
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    lookup_pk TEXT,
    lookup_sk TEXT,
    sched_pk TEXT,
    sched_at INTEGER,
    inv_pk TEXT,
    inv_sk TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_lookup ON items (lookup_pk, lookup_sk, pk, sk)
    WHERE lookup_pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_schedule ON items (sched_pk, sched_at, pk, sk)
    WHERE sched_pk IS NOT NULL;
";

/// Applied after [`SCHEMA`]: what a file written by an earlier release lacks.
const INVENTORY_SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS items_inventory ON items (inv_pk, inv_sk, pk, sk)
    WHERE inv_pk IS NOT NULL;
";

const COLUMNS: &str = "pk, sk, kind, body, version, expires_at, lookup_pk, lookup_sk, \
     sched_pk, sched_at, inv_pk, inv_sk";

#[derive(Clone)]
pub struct SqliteTable {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteTable {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(Box::new(e)))?;
        }
        Self::init(Connection::open(path).map_err(backend)?)
    }

    /// A private in-memory database, for tests and throwaway runs.
    pub fn in_memory() -> StoreResult<Self> {
        Self::init(Connection::open_in_memory().map_err(backend)?)
    }

    fn init(conn: Connection) -> StoreResult<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        migrate(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?
    }

    /// The query plan SQLite chose for a `Due` query: tests use it to prove the refresh
    /// schedule is answered from its index, not by scanning the table.
    pub async fn explain_due(&self) -> StoreResult<String> {
        self.run(|conn| {
            let (sql, _) = due_sql();
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params!["s", 0i64, 0i64, "", "", 2i64], |r| {
                    r.get::<_, String>(3)
                })
                .map_err(backend)?;
            let plan: Result<Vec<String>, _> = rows.collect();
            Ok(plan.map_err(backend)?.join("\n"))
        })
        .await
    }
}

/// Adds what a file of an earlier release lacks, in one transaction (a second process
/// opening the same file waits, then finds it done).
fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
    let result = (|| {
        for column in ["inv_pk", "inv_sk"] {
            let present = conn
                .prepare(&format!("SELECT {column} FROM items LIMIT 0"))
                .is_ok();
            if !present {
                conn.execute_batch(&format!("ALTER TABLE items ADD COLUMN {column} TEXT"))?;
            }
        }
        conn.execute_batch(INVENTORY_SCHEMA)
    })();
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end).map_err(backend)?;
    result.map_err(backend)
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn read_record(row: &Row<'_>) -> rusqlite::Result<Record> {
    let lookup = match (
        row.get::<_, Option<String>>(6)?,
        row.get::<_, Option<String>>(7)?,
    ) {
        (Some(p), Some(s)) => Some((p, s)),
        _ => None,
    };
    let schedule = match (
        row.get::<_, Option<String>>(8)?,
        row.get::<_, Option<i64>>(9)?,
    ) {
        (Some(p), Some(at)) => Some((p, at)),
        _ => None,
    };
    let inventory = match (
        row.get::<_, Option<String>>(10)?,
        row.get::<_, Option<String>>(11)?,
    ) {
        (Some(p), Some(s)) => Some((p, s)),
        _ => None,
    };
    Ok(Record {
        key: Key::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
        kind: row.get(2)?,
        body: row.get(3)?,
        version: row.get::<_, i64>(4)? as u64,
        expires_at: row.get(5)?,
        lookup,
        schedule,
        inventory,
    })
}

fn get_any(conn: &Connection, key: &Key) -> StoreResult<Option<Record>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2"),
        params![key.pk, key.sk],
        read_record,
    )
    .optional()
    .map_err(backend)
}

fn condition_holds(current: Option<&Record>, condition: Condition, now: i64) -> bool {
    let live = current.filter(|r| r.is_live(now));
    match condition {
        Condition::Always => true,
        Condition::Absent => live.is_none(),
        Condition::Present => live.is_some(),
        Condition::Version(v) => live.is_some_and(|r| r.version == v),
    }
}

fn due_sql() -> (String, usize) {
    // Parameters: shard, until, now, after_at/after_pk/after_sk (may be unbounded), limit.
    (
        format!(
            "SELECT {COLUMNS} FROM items WHERE sched_pk = ?1 AND sched_at <= ?2 \
             AND (sched_at, pk, sk) > (?3, ?4, ?5) ORDER BY sched_at, pk, sk LIMIT ?6"
        ),
        6,
    )
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key, now: i64) -> StoreResult<Option<Record>> {
        let key = key.clone();
        self.run(move |conn| Ok(get_any(conn, &key)?.filter(|r| r.is_live(now))))
            .await
    }

    async fn write(&self, ops: Vec<WriteOp>, now: i64) -> StoreResult<()> {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            for op in &ops {
                let (key, condition) = match op {
                    WriteOp::Put(r, c) => (&r.key, *c),
                    WriteOp::Delete(k, c) => (k, *c),
                };
                if !condition_holds(get_any(&tx, key)?.as_ref(), condition, now) {
                    return Err(StoreError::ConditionFailed);
                }
                match op {
                    WriteOp::Put(r, _) => {
                        tx.execute(
                            &format!("INSERT OR REPLACE INTO items ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                            params![
                                r.key.pk,
                                r.key.sk,
                                r.kind,
                                r.body,
                                r.version as i64,
                                r.expires_at,
                                r.lookup.as_ref().map(|l| &l.0),
                                r.lookup.as_ref().map(|l| &l.1),
                                r.schedule.as_ref().map(|s| &s.0),
                                r.schedule.as_ref().map(|s| s.1),
                                r.inventory.as_ref().map(|i| &i.0),
                                r.inventory.as_ref().map(|i| &i.1),
                            ],
                        )
                        .map_err(backend)?;
                    }
                    WriteOp::Delete(k, _) => {
                        tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![k.pk, k.sk])
                            .map_err(backend)?;
                    }
                }
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    /// Expired items (flows, activation links, leases, used token ids) would stay in the
    /// file for good: SQLite has no TTL.
    async fn purge_expired(&self, now: i64) -> StoreResult<usize> {
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                params![now],
            )
            .map_err(backend)
        })
        .await
    }

    async fn take(&self, key: &Key, now: i64) -> StoreResult<Option<Record>> {
        let key = key.clone();
        self.run(move |conn| {
            conn.query_row(
                &format!(
                    "DELETE FROM items WHERE pk = ?1 AND sk = ?2 \
                     AND (expires_at IS NULL OR expires_at > ?3) RETURNING {COLUMNS}"
                ),
                params![key.pk, key.sk, now],
                read_record,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn query(
        &self,
        query: &Query,
        limit: usize,
        cursor: Option<&Cursor>,
        now: i64,
    ) -> StoreResult<Page> {
        let limit = clamp_limit(limit);
        let start = cursor.map(|c| c.start_for(query)).transpose()?;
        let owned = query.clone();
        let rows = self
            .run(move |conn| {
                let query = owned;
                // Fetch one extra live item to know whether another page follows; expired
                // items are skipped here, so keep reading until enough live ones are found.
                let mut live = Vec::new();
                let mut read = 0usize;
                let mut after = start;
                loop {
                    let batch = fetch(conn, &query, after.as_ref(), limit + 1 - live.len())?;
                    let exhausted = batch.len() < limit + 1 - live.len();
                    read += batch.len();
                    if let Some(last) = batch.last() {
                        after = Some(position_of(last, &query));
                    }
                    live.extend(batch.into_iter().filter(|r| r.is_live(now)));
                    if exhausted || live.len() > limit {
                        return Ok((live, read));
                    }
                }
            })
            .await?;
        let (mut items, read) = rows;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|r| Cursor::after(r, query))
        } else {
            None
        };
        Ok(Page { items, next, read })
    }
}

fn position_of(record: &Record, query: &Query) -> (Key, Option<IndexSort>) {
    let isk = match query {
        Query::Partition { .. } => None,
        Query::Lookup { .. } => record.lookup.as_ref().map(|l| IndexSort::Text(l.1.clone())),
        Query::Due { .. } => record.schedule.as_ref().map(|s| IndexSort::Number(s.1)),
        Query::Inventory { .. } => record
            .inventory
            .as_ref()
            .map(|i| IndexSort::Text(i.1.clone())),
    };
    (record.key.clone(), isk)
}

/// SQL `LIKE` has wildcards; a prefix match on text is a range instead.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn fetch(
    conn: &Connection,
    query: &Query,
    after: Option<&(Key, Option<IndexSort>)>,
    n: usize,
) -> StoreResult<Vec<Record>> {
    let n = n as i64;
    Ok(match query {
        Query::Partition { pk, sk_prefix } => {
            let after_sk = after.map_or("", |(k, _)| k.sk.as_str());
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk >= ?2 AND sk < ?3 \
                     AND sk > ?4 ORDER BY sk LIMIT ?5"
                ))
                .map_err(backend)?;
            stmt.query_map(
                params![pk, sk_prefix, prefix_end(sk_prefix), after_sk, n],
                read_record,
            )
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?
        }
        Query::Lookup { pk, sk_prefix } => {
            let (a_isk, a_pk, a_sk) = match after {
                Some((k, Some(IndexSort::Text(isk)))) => {
                    (isk.as_str(), k.pk.as_str(), k.sk.as_str())
                }
                _ => ("", "", ""),
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM items WHERE lookup_pk = ?1 AND lookup_sk >= ?2 \
                     AND lookup_sk < ?3 AND (lookup_sk, pk, sk) > (?4, ?5, ?6) \
                     ORDER BY lookup_sk, pk, sk LIMIT ?7"
                ))
                .map_err(backend)?;
            stmt.query_map(
                params![pk, sk_prefix, prefix_end(sk_prefix), a_isk, a_pk, a_sk, n],
                read_record,
            )
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?
        }
        Query::Inventory { pk, after: bound } => {
            let (a_isk, a_pk, a_sk) = match after {
                Some((k, Some(IndexSort::Text(isk)))) => {
                    (isk.as_str(), k.pk.as_str(), k.sk.as_str())
                }
                // Past every item whose sort key is `bound` (pk and sk sort after "").
                _ => (bound.as_deref().unwrap_or(""), "\u{10FFFF}", ""),
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM items WHERE inv_pk = ?1 \
                     AND (inv_sk, pk, sk) > (?2, ?3, ?4) ORDER BY inv_sk, pk, sk LIMIT ?5"
                ))
                .map_err(backend)?;
            stmt.query_map(params![pk, a_isk, a_pk, a_sk, n], read_record)
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?
        }
        Query::Due { shard, until } => {
            let (a_at, a_pk, a_sk) = match after {
                Some((k, Some(IndexSort::Number(at)))) => (*at, k.pk.as_str(), k.sk.as_str()),
                _ => (i64::MIN, "", ""),
            };
            let (sql, _) = due_sql();
            let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
            stmt.query_map(params![shard, until, a_at, a_pk, a_sk, n], read_record)
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?
        }
    })
}
