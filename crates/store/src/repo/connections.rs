//! Connections: one partition each, indexed by consumer (`lookup`), by refresh due time
//! (the sparse `schedule` index, spread over [`keys::SCHEDULE_SHARDS`] shards), by account
//! and status (the sparse `inventory` index), and named by a pointer item per integration.

use futures_util::future::try_join_all;

use super::{Guard, Listing, Store, Versioned, decode, encode, guard};
use crate::{Condition, Cursor, Key, Query, Record, StoreResult, WriteOp, keys};
use latchkey_domain::{
    ACTIVATION_TTL_SECONDS, AccountId, Connection, ConnectionId, ConnectionStatus, ConsumerId,
    IntegrationId,
};

/// What the account-wide inventory is narrowed to; every field set must match. Pending
/// installs are never listed: they are not connections until completed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFilter {
    pub status: Option<ConnectionStatus>,
    pub integration_id: Option<IntegrationId>,
    pub consumer_id: Option<ConsumerId>,
}

impl InventoryFilter {
    fn admits(&self, c: &Connection) -> bool {
        c.status != ConnectionStatus::Pending
            && self.status.is_none_or(|s| c.status == s)
            && self
                .integration_id
                .as_ref()
                .is_none_or(|i| &c.integration_id == i)
            && self
                .consumer_id
                .as_ref()
                .is_none_or(|i| &c.consumer_id == i)
    }
}

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
    /// Rewrites the connection as it is (at `current.version`) with every index entry and
    /// its integration pointer: for connections written before the inventory existed.
    fn reindex_connection(
        &self,
        current: &Versioned<Connection>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// A consumer's connections, optionally to one integration, through `lookup`.
    fn consumer_connections(
        &self,
        account_id: &AccountId,
        consumer_id: &ConsumerId,
        integration_id: Option<&IntegrationId>,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<Connection>>>> + Send;
    /// One page of the account's connections, newest first, narrowed by `filter`. Every
    /// page but the last holds `limit` items. Served by the `inventory` index (status),
    /// the integration's pointers (integration; with a status too, its connections are
    /// read until `limit` match) or the consumer's `lookup` partition (consumer), never by
    /// reading the account and dropping what does not match.
    fn connection_inventory(
        &self,
        account_id: &AccountId,
        filter: &InventoryFilter,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<Connection>>>> + Send;
    /// Up to `limit` connections of an integration in any status, pending installs
    /// included (what deleting the integration must take with it).
    fn integration_connections(
        &self,
        account_id: &AccountId,
        integration_id: &IntegrationId,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Versioned<Connection>>>> + Send;
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

/// The items a new connection is: itself and its pointer under its integration.
pub(crate) fn created(connection: &Connection) -> [Record; 2] {
    [record(connection), pointer(connection)]
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
    } else {
        record.inventory = Some((
            keys::inventory_partition(&connection.account_id, connection.status),
            keys::newest_first(connection),
        ));
    }
    record
}

/// The pointer naming a connection under its integration. It never expires: a pending
/// install that expires leaves it dangling, and the first reader to notice deletes it.
fn pointer(connection: &Connection) -> Record {
    guard(
        keys::integration_connection_pointer(connection),
        &connection.id,
    )
}

impl Connections for Store {
    async fn create_connection(&self, connection: &Connection) -> StoreResult<()> {
        self.create(created(connection).into(), "id").await
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
        let pointer = keys::integration_connection_pointer(connection);
        self.remove(vec![
            WriteOp::Delete(key, Condition::Present),
            WriteOp::Delete(pointer, Condition::Always),
        ])
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
                .map(keys::lookup_integration_prefix)
                .unwrap_or_default(),
        };
        let mut listing: Listing<Versioned<Connection>> =
            self.list(query, "connection", limit, cursor).await?;
        // Consumer ids are unguessable, but the account check is cheap and absolute.
        listing.items.retain(|c| &c.value.account_id == account_id);
        Ok(listing)
    }

    async fn reindex_connection(&self, current: &Versioned<Connection>) -> StoreResult<u64> {
        let pointer = WriteOp::Put(pointer(&current.value), Condition::Always);
        self.replace(record(&current.value), current.version, vec![pointer])
            .await
    }

    async fn connection_inventory(
        &self,
        account_id: &AccountId,
        filter: &InventoryFilter,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Connection>>> {
        // One below the backend's page size: each partition is read `limit + 1`.
        let limit = crate::clamp_limit(limit).min(crate::MAX_PAGE - 1);
        let after = cursor.map(Cursor::sort_after).transpose()?;
        let (mut items, read) = if let Some(consumer_id) = &filter.consumer_id {
            self.consumer_inventory(account_id, consumer_id, filter, after, limit)
                .await?
        } else if let Some(integration_id) = &filter.integration_id {
            self.pointed_connections(account_id, integration_id, after, limit + 1, |c| {
                filter.admits(c)
            })
            .await?
        } else {
            self.status_inventory(account_id, filter.status, after, limit)
                .await?
        };
        // One item past the page was read where there is one: it says a page follows.
        let next = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|c| Cursor::after_sort(&keys::newest_first(&c.value)))
        } else {
            None
        };
        Ok(Listing { items, next, read })
    }

    async fn integration_connections(
        &self,
        account_id: &AccountId,
        integration_id: &IntegrationId,
        limit: usize,
    ) -> StoreResult<Vec<Versioned<Connection>>> {
        let (items, _) = self
            .pointed_connections(account_id, integration_id, None, limit, |_| true)
            .await?;
        Ok(items)
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

impl Store {
    /// Up to `limit + 1` connections from the `inventory` index: one status partition, or
    /// every listed status merged (each partition is already newest first).
    async fn status_inventory(
        &self,
        account_id: &AccountId,
        status: Option<ConnectionStatus>,
        after: Option<String>,
        limit: usize,
    ) -> StoreResult<(Vec<Versioned<Connection>>, usize)> {
        let statuses = status.map_or(keys::LISTED_STATUSES.to_vec(), |s| vec![s]);
        let pages = try_join_all(statuses.into_iter().map(|status| {
            let query = Query::Inventory {
                pk: keys::inventory_partition(account_id, status),
                after: after.clone(),
            };
            // `limit + 1` from each: more than `limit` merged means a page follows.
            self.list::<Connection>(query, "connection", limit + 1, None)
        }))
        .await?;
        let read = pages.iter().map(|p| p.read).sum();
        let mut items: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
        items.sort_by_cached_key(|c| keys::newest_first(&c.value));
        items.retain(|c| &c.value.account_id == account_id);
        Ok((items, read))
    }

    /// Up to `limit` connections of an integration that `keep` admits, newest first, after
    /// the sort key `after`, through the integration's pointer items.
    async fn pointed_connections(
        &self,
        account_id: &AccountId,
        integration_id: &IntegrationId,
        after: Option<String>,
        limit: usize,
        keep: impl Fn(&Connection) -> bool + Send,
    ) -> StoreResult<(Vec<Versioned<Connection>>, usize)> {
        let pk = keys::integration_connections_partition(account_id, integration_id);
        let query = Query::Partition {
            pk: pk.clone(),
            sk_prefix: String::new(),
        };
        let mut cursor = after.map(|sort| Cursor::at(&Key::new(pk, sort)));
        let (mut items, mut read) = (Vec::new(), 0);
        loop {
            let page = self
                .table
                .query(&query, limit, cursor.as_ref(), self.now())
                .await?;
            read += page.read;
            let pointers = page
                .items
                .into_iter()
                .map(|record| {
                    let key = record.key.clone();
                    decode::<Guard>(record, "guard")
                        .map(|g| (key, ConnectionId::from(g.value.owner)))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let found = try_join_all(
                pointers
                    .iter()
                    .map(|(_, owner)| self.connection(account_id, owner)),
            )
            .await?;
            for ((pointer, _), found) in pointers.iter().zip(found) {
                match found {
                    Some(c) if keep(&c.value) => items.push(c),
                    Some(_) => {}
                    None => {
                        self.write(vec![WriteOp::Delete(pointer.clone(), Condition::Always)])
                            .await?
                    }
                }
                if items.len() == limit {
                    return Ok((items, read));
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok((items, read)),
            }
        }
    }

    /// Up to `limit + 1` of a consumer's connections that `filter` admits, newest first,
    /// after `after`. A consumer has a handful: all of them are read and ordered here.
    async fn consumer_inventory(
        &self,
        account_id: &AccountId,
        consumer_id: &ConsumerId,
        filter: &InventoryFilter,
        after: Option<String>,
        limit: usize,
    ) -> StoreResult<(Vec<Versioned<Connection>>, usize)> {
        let (mut all, mut read, mut cursor) = (Vec::new(), 0, None);
        loop {
            let page = self
                .consumer_connections(account_id, consumer_id, None, 1000, cursor.as_ref())
                .await?;
            read += page.read;
            all.extend(page.items.into_iter().filter(|c| filter.admits(&c.value)));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut keyed: Vec<_> = all
            .into_iter()
            .map(|c| (keys::newest_first(&c.value), c))
            .filter(|(sort, _)| after.as_ref().is_none_or(|a| sort > a))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.truncate(limit + 1);
        Ok((keyed.into_iter().map(|(_, c)| c).collect(), read))
    }
}
