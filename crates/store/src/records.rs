//! The domain on top of a [`Table`]: key layout, uniqueness guards, index entries. Written
//! once for both backends.
//!
//! Key layout (pk / sk):
//! - `ACCOUNT#{id}` / `ACCOUNT`; its integrations `INTEGRATION#{id}` and consumers
//!   `CONSUMER#{id}` in the same partition, with guard items `INTEGRATION_KEY#{key}` and
//!   `CONSUMER_REF#{reference}` that make those fields unique per account;
//! - `APIKEY#{sha256}` / `APIKEY`;
//! - `ACTIVATION#{sha256}` / `ACTIVATION` and `FLOW#{sha256}` / `FLOW`, with `expires_at`;
//! - `CONNECTION#{id}` / `CONNECTION`, each in its own partition so refresh writes spread;
//!   indexed by consumer in `lookup` and by refresh due time in the sparse `schedule`;
//! - `LEASE#{connection}` / `LEASE`: the connection's refresh lease, expiring on its own;
//! - `WEBHOOK#{id}` / `WEBHOOK`: the webhook outbox, in `schedule` shard `webhooks` by
//!   next attempt time.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Condition, Cursor, Key, Query, Record, StoreError, StoreResult, Table, WriteOp};
use latchkey_domain::Clock;
use latchkey_domain::{
    Account, Activation, ApiKey, Connection, ConnectionFlow, Consumer, Integration, WebhookDelivery,
};

/// The refresh schedule is spread over this many index partitions, so no single
/// partition takes every refresh-time write.
pub const SCHEDULE_SHARDS: u32 = 8;

/// The schedule shard of the webhook outbox.
const WEBHOOK_SHARD: &str = "webhooks";

/// Undelivered webhooks disappear after this long, whatever their attempts.
const WEBHOOK_RETENTION_SECONDS: i64 = 3 * 24 * 3600;

/// A held refresh lease (see [`Store::take_lease`]).
#[derive(Debug)]
pub struct Lease {
    connection_id: String,
    /// Stored as the lease item's version, so only its holder can release it.
    nonce: u64,
}

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
    /// Items the backend examined (see [`super::Page::read`]).
    pub read: usize,
}

#[derive(Clone)]
pub struct Store {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

fn account_pk(id: &str) -> String {
    format!("ACCOUNT#{id}")
}

fn connection_key(id: &str) -> Key {
    Key::new(format!("CONNECTION#{id}"), "CONNECTION")
}

fn schedule_shard(connection_id: &str) -> String {
    // FNV-1a: stable across processes and releases, unlike the std hasher.
    let hash = connection_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("due#{}", hash % SCHEDULE_SHARDS)
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

fn guard(pk: String, sk: String, owner: &str) -> Record {
    Record::new(
        Key::new(pk, sk),
        "guard",
        encode(&Guard {
            owner: owner.to_owned(),
        }),
    )
}

impl Store {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        Self { table, clock }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
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

    // Accounts and API keys.

    pub async fn create_account(&self, account: &Account) -> StoreResult<()> {
        let record = Record::new(
            Key::new(account_pk(&account.id), "ACCOUNT"),
            "account",
            encode(account),
        );
        self.table
            .write(vec![WriteOp::Put(record, Condition::Absent)], self.now())
            .await
            .map_err(|e| duplicate(e, "id"))
    }

    pub async fn account(&self, id: &str) -> StoreResult<Option<Versioned<Account>>> {
        self.get(Key::new(account_pk(id), "ACCOUNT"), "account")
            .await
    }

    /// Replaces the account if it is still at `current.version`.
    pub async fn update_account(&self, current: &Versioned<Account>) -> StoreResult<u64> {
        let value = &current.value;
        let mut record = Record::new(
            Key::new(account_pk(&value.id), "ACCOUNT"),
            "account",
            encode(value),
        );
        record.version = current.version + 1;
        self.table
            .write(
                vec![WriteOp::Put(record, Condition::Version(current.version))],
                self.now(),
            )
            .await
            .map_err(stale)?;
        Ok(current.version + 1)
    }

    pub async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let record = Record::new(
            Key::new(format!("APIKEY#{}", key.hash), "APIKEY"),
            "api_key",
            encode(key),
        )
        .lookup(format!("{}#APIKEYS", account_pk(&key.account_id)), &key.id);
        self.table
            .write(vec![WriteOp::Put(record, Condition::Absent)], self.now())
            .await
            .map_err(|e| duplicate(e, "key"))
    }

    /// The API key with this SHA-256 hash.
    pub async fn api_key(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        Ok(self
            .get(Key::new(format!("APIKEY#{hash}"), "APIKEY"), "api_key")
            .await?
            .map(|v: Versioned<ApiKey>| v.value))
    }

    // Integrations.

    fn integration_key(account_id: &str, id: &str) -> Key {
        Key::new(account_pk(account_id), format!("INTEGRATION#{id}"))
    }

    pub async fn create_integration(&self, integration: &Integration) -> StoreResult<()> {
        let pk = account_pk(&integration.account_id);
        let record = Record::new(
            Self::integration_key(&integration.account_id, &integration.id),
            "integration",
            encode(integration),
        );
        let key_guard = guard(
            pk,
            format!("INTEGRATION_KEY#{}", integration.key),
            &integration.id,
        );
        self.table
            .write(
                vec![
                    WriteOp::Put(key_guard, Condition::Absent),
                    WriteOp::Put(record, Condition::Absent),
                ],
                self.now(),
            )
            .await
            .map_err(|e| duplicate(e, "key"))
    }

    pub async fn integration(
        &self,
        account_id: &str,
        id: &str,
    ) -> StoreResult<Option<Versioned<Integration>>> {
        self.get(Self::integration_key(account_id, id), "integration")
            .await
    }

    /// The integration with this key, through its uniqueness guard.
    pub async fn integration_by_key(
        &self,
        account_id: &str,
        key: &str,
    ) -> StoreResult<Option<Versioned<Integration>>> {
        match self
            .guard_owner(account_id, &format!("INTEGRATION_KEY#{key}"))
            .await?
        {
            Some(owner) => self.integration(account_id, &owner).await,
            None => Ok(None),
        }
    }

    /// The id a uniqueness guard item names, if the guard exists.
    async fn guard_owner(&self, account_id: &str, sk: &str) -> StoreResult<Option<String>> {
        let key = Key::new(account_pk(account_id), sk);
        let Some(g) = self.table.get(&key, self.now()).await? else {
            return Ok(None);
        };
        Ok(Some(decode::<Guard>(g, "guard")?.value.owner))
    }

    /// Replaces an integration at `current.version`; its `key` cannot change.
    pub async fn update_integration(&self, current: &Versioned<Integration>) -> StoreResult<u64> {
        let value = &current.value;
        let mut record = Record::new(
            Self::integration_key(&value.account_id, &value.id),
            "integration",
            encode(value),
        );
        record.version = current.version + 1;
        let key_guard = Key::new(
            account_pk(&value.account_id),
            format!("INTEGRATION_KEY#{}", value.key),
        );
        self.table
            .write(
                vec![
                    WriteOp::Put(record, Condition::Version(current.version)),
                    // The guard must still be there: a changed key would leave it stale.
                    WriteOp::Put(
                        guard(key_guard.pk, key_guard.sk, &value.id),
                        Condition::Present,
                    ),
                ],
                self.now(),
            )
            .await
            .map_err(stale)?;
        Ok(current.version + 1)
    }

    pub async fn delete_integration(&self, integration: &Integration) -> StoreResult<()> {
        let pk = account_pk(&integration.account_id);
        self.table
            .write(
                vec![
                    WriteOp::Delete(
                        Self::integration_key(&integration.account_id, &integration.id),
                        Condition::Present,
                    ),
                    WriteOp::Delete(
                        Key::new(pk, format!("INTEGRATION_KEY#{}", integration.key)),
                        Condition::Always,
                    ),
                ],
                self.now(),
            )
            .await
            .map_err(stale)
    }

    pub async fn list_integrations(
        &self,
        account_id: &str,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Integration>>> {
        let query = Query::Partition {
            pk: account_pk(account_id),
            sk_prefix: "INTEGRATION#".into(),
        };
        self.list(query, "integration", limit, cursor).await
    }

    // Consumers.

    fn consumer_key(account_id: &str, id: &str) -> Key {
        Key::new(account_pk(account_id), format!("CONSUMER#{id}"))
    }

    fn reference_guard(consumer: &Consumer) -> Option<Record> {
        consumer.internal_reference.as_ref().map(|r| {
            guard(
                account_pk(&consumer.account_id),
                format!("CONSUMER_REF#{r}"),
                &consumer.id,
            )
        })
    }

    pub async fn create_consumer(&self, consumer: &Consumer) -> StoreResult<()> {
        let record = Record::new(
            Self::consumer_key(&consumer.account_id, &consumer.id),
            "consumer",
            encode(consumer),
        );
        let mut ops = vec![WriteOp::Put(record, Condition::Absent)];
        if let Some(g) = Self::reference_guard(consumer) {
            ops.push(WriteOp::Put(g, Condition::Absent));
        }
        self.table
            .write(ops, self.now())
            .await
            .map_err(|e| duplicate(e, "internal_reference"))
    }

    pub async fn consumer(
        &self,
        account_id: &str,
        id: &str,
    ) -> StoreResult<Option<Versioned<Consumer>>> {
        self.get(Self::consumer_key(account_id, id), "consumer")
            .await
    }

    /// The consumer with this internal reference, through its guard item.
    pub async fn consumer_by_reference(
        &self,
        account_id: &str,
        reference: &str,
    ) -> StoreResult<Option<Versioned<Consumer>>> {
        match self
            .guard_owner(account_id, &format!("CONSUMER_REF#{reference}"))
            .await?
        {
            Some(owner) => self.consumer(account_id, &owner).await,
            None => Ok(None),
        }
    }

    /// Replaces a consumer read at `previous.version` with `next`, moving the
    /// internal-reference guard when the reference changes.
    pub async fn update_consumer(
        &self,
        previous: &Versioned<Consumer>,
        next: &Consumer,
    ) -> StoreResult<u64> {
        let mut record = Record::new(
            Self::consumer_key(&next.account_id, &next.id),
            "consumer",
            encode(next),
        );
        record.version = previous.version + 1;
        let mut ops = vec![WriteOp::Put(record, Condition::Version(previous.version))];
        if previous.value.internal_reference != next.internal_reference {
            if let Some(old) = Self::reference_guard(&previous.value) {
                ops.push(WriteOp::Delete(old.key, Condition::Always));
            }
            if let Some(new) = Self::reference_guard(next) {
                ops.push(WriteOp::Put(new, Condition::Absent));
            }
        }
        let changes_reference = ops.len() > 1;
        match self.table.write(ops, self.now()).await {
            Ok(()) => Ok(previous.version + 1),
            Err(StoreError::ConditionFailed) if changes_reference => {
                // Either the consumer changed under us or the new reference is taken.
                match self.consumer(&next.account_id, &next.id).await? {
                    Some(now) if now.version == previous.version => {
                        Err(StoreError::Duplicate("internal_reference"))
                    }
                    _ => Err(StoreError::Stale),
                }
            }
            Err(e) => Err(stale(e)),
        }
    }

    pub async fn delete_consumer(&self, consumer: &Consumer) -> StoreResult<()> {
        let mut ops = vec![WriteOp::Delete(
            Self::consumer_key(&consumer.account_id, &consumer.id),
            Condition::Present,
        )];
        if let Some(g) = Self::reference_guard(consumer) {
            ops.push(WriteOp::Delete(g.key, Condition::Always));
        }
        self.table.write(ops, self.now()).await.map_err(stale)
    }

    pub async fn list_consumers(
        &self,
        account_id: &str,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Consumer>>> {
        let query = Query::Partition {
            pk: account_pk(account_id),
            sk_prefix: "CONSUMER#".into(),
        };
        self.list(query, "consumer", limit, cursor).await
    }

    // Activations and connection flows: short-lived, single-use.

    fn activation_key(token_hash: &str) -> Key {
        Key::new(format!("ACTIVATION#{token_hash}"), "ACTIVATION")
    }

    pub async fn create_activation(&self, activation: &Activation) -> StoreResult<()> {
        let record = Record::new(
            Self::activation_key(&activation.token_hash),
            "activation",
            encode(activation),
        )
        .expires_at(activation.expires_at);
        self.table
            .write(vec![WriteOp::Put(record, Condition::Absent)], self.now())
            .await
            .map_err(|e| duplicate(e, "token"))
    }

    /// The unexpired activation for this token hash, left in place.
    pub async fn activation(&self, token_hash: &str) -> StoreResult<Option<Activation>> {
        Ok(self
            .get(Self::activation_key(token_hash), "activation")
            .await?
            .map(|v: Versioned<Activation>| v.value))
    }

    /// Consumes the activation: of concurrent callers exactly one gets it.
    pub async fn consume_activation(&self, token_hash: &str) -> StoreResult<Option<Activation>> {
        match self
            .table
            .take(&Self::activation_key(token_hash), self.now())
            .await?
        {
            Some(record) => Ok(Some(decode(record, "activation")?.value)),
            None => Ok(None),
        }
    }

    fn flow_key(state_hash: &str) -> Key {
        Key::new(format!("FLOW#{state_hash}"), "FLOW")
    }

    pub async fn create_flow(&self, flow: &ConnectionFlow) -> StoreResult<()> {
        let record = Record::new(Self::flow_key(&flow.state_hash), "flow", encode(flow))
            .expires_at(flow.expires_at);
        self.table
            .write(vec![WriteOp::Put(record, Condition::Absent)], self.now())
            .await
            .map_err(|e| duplicate(e, "state"))
    }

    /// The unexpired flow for this `state` hash, left in place (checked before consuming).
    pub async fn flow(&self, state_hash: &str) -> StoreResult<Option<ConnectionFlow>> {
        Ok(self
            .get(Self::flow_key(state_hash), "flow")
            .await?
            .map(|v: Versioned<ConnectionFlow>| v.value))
    }

    /// Consumes the flow for this `state` hash: a replayed callback finds nothing.
    pub async fn consume_flow(&self, state_hash: &str) -> StoreResult<Option<ConnectionFlow>> {
        match self
            .table
            .take(&Self::flow_key(state_hash), self.now())
            .await?
        {
            Some(record) => Ok(Some(decode(record, "flow")?.value)),
            None => Ok(None),
        }
    }

    // Connections.

    fn connection_record(connection: &Connection, version: u64) -> Record {
        let mut record = Record::new(
            connection_key(&connection.id),
            "connection",
            encode(connection),
        )
        .lookup(
            format!("CONSUMER#{}", connection.consumer_id),
            format!("{}#{}", connection.integration_id, connection.id),
        );
        record.version = version;
        record.schedule = connection
            .refresh_due_at()
            .map(|at| (schedule_shard(&connection.id), at));
        record
    }

    pub async fn create_connection(&self, connection: &Connection) -> StoreResult<()> {
        self.table
            .write(
                vec![WriteOp::Put(
                    Self::connection_record(connection, 1),
                    Condition::Absent,
                )],
                self.now(),
            )
            .await
            .map_err(|e| duplicate(e, "id"))
    }

    /// The connection, if it exists and belongs to `account_id` (another account's
    /// connection is indistinguishable from a missing one).
    pub async fn connection(
        &self,
        account_id: &str,
        id: &str,
    ) -> StoreResult<Option<Versioned<Connection>>> {
        let found: Option<Versioned<Connection>> =
            self.get(connection_key(id), "connection").await?;
        Ok(found.filter(|c| c.value.account_id == account_id))
    }

    /// Replaces the connection if it is still at `current.version`; the schedule entry
    /// follows the new expiry.
    pub async fn update_connection(&self, current: &Versioned<Connection>) -> StoreResult<u64> {
        let record = Self::connection_record(&current.value, current.version + 1);
        self.table
            .write(
                vec![WriteOp::Put(record, Condition::Version(current.version))],
                self.now(),
            )
            .await
            .map_err(stale)?;
        Ok(current.version + 1)
    }

    pub async fn delete_connection(&self, connection: &Connection) -> StoreResult<()> {
        self.table
            .write(
                vec![WriteOp::Delete(
                    connection_key(&connection.id),
                    Condition::Present,
                )],
                self.now(),
            )
            .await
            .map_err(stale)
    }

    /// A consumer's connections, optionally to one integration, through the `lookup` index.
    pub async fn consumer_connections(
        &self,
        account_id: &str,
        consumer_id: &str,
        integration_id: Option<&str>,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Connection>>> {
        let query = Query::Lookup {
            pk: format!("CONSUMER#{consumer_id}"),
            sk_prefix: integration_id.map(|i| format!("{i}#")).unwrap_or_default(),
        };
        let mut listing: Listing<Versioned<Connection>> =
            self.list(query, "connection", limit, cursor).await?;
        // Consumer ids are unguessable, but the account check is cheap and absolute.
        listing.items.retain(|c| c.value.account_id == account_id);
        Ok(listing)
    }

    /// One page of connections in schedule `shard` (0..SCHEDULE_SHARDS) due at or before
    /// `until`, read from the `schedule` index alone.
    pub async fn due_connections(
        &self,
        shard: u32,
        until: i64,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Connection>>> {
        let query = Query::Due {
            shard: format!("due#{shard}"),
            until,
        };
        self.list(query, "connection", limit, cursor).await
    }
}

impl Store {
    // Refresh leases.

    /// Takes the connection's refresh lease for `seconds`, unless another holder has a
    /// live one (`None`). An expired lease counts as absent, so a crashed holder blocks
    /// nobody for longer than its lease.
    pub async fn take_lease(
        &self,
        connection_id: &str,
        seconds: i64,
    ) -> StoreResult<Option<Lease>> {
        let now = self.now();
        // 52 bits: a positive integer in every backend's number type.
        let nonce = u64::from_le_bytes(latchkey_domain::token::random_bytes::<8>()) >> 12 | 1;
        let mut record =
            Record::new(lease_key(connection_id), "lease", "{}").expires_at(now + seconds);
        record.version = nonce;
        match self
            .table
            .write(vec![WriteOp::Put(record, Condition::Absent)], now)
            .await
        {
            Ok(()) => Ok(Some(Lease {
                connection_id: connection_id.to_owned(),
                nonce,
            })),
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease back; a lease that expired and was taken by another stays theirs.
    pub async fn release_lease(&self, lease: Lease) -> StoreResult<()> {
        let op = WriteOp::Delete(
            lease_key(&lease.connection_id),
            Condition::Version(lease.nonce),
        );
        match self.table.write(vec![op], self.now()).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    // The webhook outbox.

    fn webhook_record(delivery: &WebhookDelivery, version: u64) -> Record {
        let mut record = Record::new(webhook_key(&delivery.id), "webhook", encode(delivery))
            .expires_at(delivery.created_at + WEBHOOK_RETENTION_SECONDS);
        record.version = version;
        record.schedule = Some((WEBHOOK_SHARD.to_owned(), delivery.next_attempt_at));
        record
    }

    pub async fn enqueue_webhook(&self, delivery: &WebhookDelivery) -> StoreResult<()> {
        self.table
            .write(
                vec![WriteOp::Put(
                    Self::webhook_record(delivery, 1),
                    Condition::Absent,
                )],
                self.now(),
            )
            .await
    }

    /// Deliveries whose next attempt is due at or before `until`, oldest first.
    pub async fn due_webhooks(
        &self,
        until: i64,
        limit: usize,
    ) -> StoreResult<Listing<Versioned<WebhookDelivery>>> {
        let query = Query::Due {
            shard: WEBHOOK_SHARD.to_owned(),
            until,
        };
        self.list(query, "webhook", limit, None).await
    }

    /// Records a failed attempt, if nobody else handled the delivery meanwhile.
    pub async fn update_webhook(&self, current: &Versioned<WebhookDelivery>) -> StoreResult<()> {
        let record = Self::webhook_record(&current.value, current.version + 1);
        self.table
            .write(
                vec![WriteOp::Put(record, Condition::Version(current.version))],
                self.now(),
            )
            .await
            .map_err(stale)
    }

    /// Removes a delivered (or abandoned) delivery, if nobody else handled it meanwhile.
    pub async fn delete_webhook(&self, current: &Versioned<WebhookDelivery>) -> StoreResult<()> {
        self.table
            .write(
                vec![WriteOp::Delete(
                    webhook_key(&current.value.id),
                    Condition::Version(current.version),
                )],
                self.now(),
            )
            .await
            .map_err(stale)
    }
}

fn lease_key(connection_id: &str) -> Key {
    Key::new(format!("LEASE#{connection_id}"), "LEASE")
}

fn webhook_key(id: &str) -> Key {
    Key::new(format!("WEBHOOK#{id}"), "WEBHOOK")
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
