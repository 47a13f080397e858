//! Connections: one partition each, indexed by consumer (`lookup`) and by refresh due time
//! (the sparse `schedule` index, spread over [`keys::SCHEDULE_SHARDS`] shards).

use super::{Listing, Store, Versioned, encode};
use crate::{Condition, Cursor, Query, Record, StoreResult, WriteOp, keys};
use latchkey_domain::{
    ACTIVATION_TTL_SECONDS, AccountId, Connection, ConnectionId, ConnectionStatus, ConsumerId,
    IntegrationId,
};

pub trait Connections {
    fn create_connection(
        &self,
        connection: &Connection,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The connection, if it exists and belongs to `account_id` (another account's
    /// connection is indistinguishable from a missing one).
    fn connection(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
    ) -> impl Future<Output = StoreResult<Option<Versioned<Connection>>>> + Send;
    /// Replaces the connection if it is still at `current.version`; the schedule entry
    /// follows the new expiry.
    fn update_connection(
        &self,
        current: &Versioned<Connection>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn delete_connection(
        &self,
        connection: &Connection,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A consumer's connections, optionally to one integration, through `lookup`.
    fn consumer_connections(
        &self,
        account_id: &AccountId,
        consumer_id: &ConsumerId,
        integration_id: Option<&IntegrationId>,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<Connection>>>> + Send;
    /// One page of connections in schedule `shard` (0..SCHEDULE_SHARDS) due at or before
    /// `until`, read from the `schedule` index alone.
    fn due_connections(
        &self,
        shard: u32,
        until: i64,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<Connection>>>> + Send;
}

fn record(connection: &Connection) -> Record {
    let (pk, sk) = keys::connection_lookup(
        &connection.consumer_id,
        &connection.integration_id,
        &connection.id,
    );
    let mut record = Record::new(
        keys::connection(&connection.id),
        "connection",
        encode(connection),
    )
    .lookup(pk, sk);
    record.schedule = connection
        .refresh_due_at()
        .map(|at| (keys::schedule_shard(&connection.id), at));
    // A pending install lives as long as the activation link that completes it.
    if connection.status == ConnectionStatus::Pending {
        record = record.expires_at(connection.created_at + ACTIVATION_TTL_SECONDS);
    }
    record
}

impl Connections for Store {
    async fn create_connection(&self, connection: &Connection) -> StoreResult<()> {
        self.create(vec![record(connection)], "id").await
    }

    async fn connection(
        &self,
        account_id: &AccountId,
        id: &ConnectionId,
    ) -> StoreResult<Option<Versioned<Connection>>> {
        let found: Option<Versioned<Connection>> =
            self.get(keys::connection(id), "connection").await?;
        Ok(found.filter(|c| &c.value.account_id == account_id))
    }

    async fn update_connection(&self, current: &Versioned<Connection>) -> StoreResult<u64> {
        self.replace(record(&current.value), current.version, vec![])
            .await
    }

    async fn delete_connection(&self, connection: &Connection) -> StoreResult<()> {
        let key = keys::connection(&connection.id);
        self.remove(vec![WriteOp::Delete(key, Condition::Present)])
            .await
    }

    async fn consumer_connections(
        &self,
        account_id: &AccountId,
        consumer_id: &ConsumerId,
        integration_id: Option<&IntegrationId>,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Connection>>> {
        let query = Query::Lookup {
            pk: keys::consumer_connections(consumer_id),
            sk_prefix: integration_id
                .map(keys::integration_connections)
                .unwrap_or_default(),
        };
        let mut listing: Listing<Versioned<Connection>> =
            self.list(query, "connection", limit, cursor).await?;
        // Consumer ids are unguessable, but the account check is cheap and absolute.
        listing.items.retain(|c| &c.value.account_id == account_id);
        Ok(listing)
    }

    async fn due_connections(
        &self,
        shard: u32,
        until: i64,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Connection>>> {
        let query = Query::Due {
            shard: keys::due_shard(shard),
            until,
        };
        self.list(query, "connection", limit, cursor).await
    }
}
