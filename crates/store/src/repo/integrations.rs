//! Integrations, with their `key` unique per account through a guard item.

use super::{Listing, Store, Versioned, decode, encode, guard};
use crate::{Condition, Cursor, Query, Record, StoreResult, WriteOp, keys};
use latchkey_domain::{AccountId, Integration, IntegrationId, IntegrationStatus};

pub trait Integrations {
    fn create_integration(
        &self,
        integration: &Integration,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Creates a new account's built-ins in as few calls as the table allows, without
    /// conditions: nobody else knows the account yet (see `Table::put_new`).
    fn create_integrations(
        &self,
        integrations: &[Integration],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn integration(
        &self,
        account_id: &AccountId,
        id: &IntegrationId,
    ) -> impl Future<Output = StoreResult<Option<Versioned<Integration>>>> + Send;
    /// The integration with this key, through its uniqueness guard.
    fn integration_by_key(
        &self,
        account_id: &AccountId,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<Versioned<Integration>>>> + Send;
    /// Replaces an integration at `current.version`; its `key` cannot change.
    fn update_integration(
        &self,
        current: &Versioned<Integration>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn delete_integration(
        &self,
        integration: &Integration,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// One page of the account's integrations, in `status` when given. Every page but the
    /// last holds `limit` items.
    fn list_integrations(
        &self,
        account_id: &AccountId,
        status: Option<IntegrationStatus>,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<Integration>>>> + Send;
}

fn record(integration: &Integration) -> Record {
    Record::new(
        keys::integration(&integration.account_id, &integration.id),
        "integration",
        encode(integration),
    )
}

fn key_guard(integration: &Integration) -> Record {
    guard(
        keys::integration_key_guard(&integration.account_id, &integration.key),
        &integration.id,
    )
}

impl Integrations for Store {
    async fn create_integration(&self, integration: &Integration) -> StoreResult<()> {
        self.create(vec![key_guard(integration), record(integration)], "key")
            .await
    }

    async fn create_integrations(&self, integrations: &[Integration]) -> StoreResult<()> {
        let records = integrations
            .iter()
            .flat_map(|i| [key_guard(i), record(i)])
            .collect();
        self.put_new(records).await
    }

    async fn integration(
        &self,
        account_id: &AccountId,
        id: &IntegrationId,
    ) -> StoreResult<Option<Versioned<Integration>>> {
        self.get(keys::integration(account_id, id), "integration")
            .await
    }

    async fn integration_by_key(
        &self,
        account_id: &AccountId,
        key: &str,
    ) -> StoreResult<Option<Versioned<Integration>>> {
        match self
            .guard_owner(keys::integration_key_guard(account_id, key))
            .await?
        {
            Some(owner) => self.integration(account_id, &owner.into()).await,
            None => Ok(None),
        }
    }

    async fn update_integration(&self, current: &Versioned<Integration>) -> StoreResult<u64> {
        let value = &current.value;
        // The guard must still be there: a changed key would leave it stale.
        let guard_kept = WriteOp::Put(key_guard(value), Condition::Present);
        self.replace(record(value), current.version, vec![guard_kept])
            .await
    }

    async fn delete_integration(&self, integration: &Integration) -> StoreResult<()> {
        let guard = keys::integration_key_guard(&integration.account_id, &integration.key);
        self.remove(vec![
            WriteOp::Delete(
                keys::integration(&integration.account_id, &integration.id),
                Condition::Present,
            ),
            WriteOp::Delete(guard, Condition::Always),
        ])
        .await
    }

    async fn list_integrations(
        &self,
        account_id: &AccountId,
        status: Option<IntegrationStatus>,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Integration>>> {
        let query = Query::Partition {
            pk: keys::account_partition(account_id),
            sk_prefix: keys::INTEGRATION_PREFIX.into(),
        };
        // An account has at most a few hundred integrations, all in its partition: with
        // a status, pages are read until `limit` match, so only the last page is short.
        let (mut items, mut read, mut cursor) = (Vec::new(), 0, cursor.cloned());
        loop {
            let page = self
                .table
                .query(&query, limit, cursor.as_ref(), self.now())
                .await?;
            read += page.read;
            let mut records = page.items.into_iter();
            for record in records.by_ref() {
                let key = record.key.clone();
                let integration: Versioned<Integration> = decode(record, "integration")?;
                if status.is_none_or(|s| integration.value.status == s) {
                    items.push(integration);
                    if items.len() == limit {
                        let more = records.len() > 0 || page.next.is_some();
                        let next = more.then(|| Cursor::at(&key));
                        return Ok(Listing { items, next, read });
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => {
                    return Ok(Listing {
                        items,
                        next: None,
                        read,
                    });
                }
            }
        }
    }
}
