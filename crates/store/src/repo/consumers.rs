//! Consumers, with their `internal_reference` unique per account through a guard item.

use super::{Listing, Store, Versioned, encode, guard, stale};
use crate::{Condition, Cursor, Query, Record, StoreError, StoreResult, WriteOp, keys};
use latchkey_domain::{AccountId, Consumer, ConsumerId};

pub trait Consumers {
    fn create_consumer(&self, consumer: &Consumer) -> impl Future<Output = StoreResult<()>> + Send;
    fn consumer(
        &self,
        account_id: &AccountId,
        id: &ConsumerId,
    ) -> impl Future<Output = StoreResult<Option<Versioned<Consumer>>>> + Send;
    /// The consumer with this internal reference, through its guard item.
    fn consumer_by_reference(
        &self,
        account_id: &AccountId,
        reference: &str,
    ) -> impl Future<Output = StoreResult<Option<Versioned<Consumer>>>> + Send;
    /// Replaces a consumer read at `previous.version` with `next`, moving the
    /// internal-reference guard when the reference changes.
    fn update_consumer(
        &self,
        previous: &Versioned<Consumer>,
        next: &Consumer,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn delete_consumer(&self, consumer: &Consumer) -> impl Future<Output = StoreResult<()>> + Send;
    fn list_consumers(
        &self,
        account_id: &AccountId,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<Consumer>>>> + Send;
}

fn record(consumer: &Consumer) -> Record {
    Record::new(
        keys::consumer(&consumer.account_id, &consumer.id),
        "consumer",
        encode(consumer),
    )
}

fn reference_guard(consumer: &Consumer) -> Option<Record> {
    consumer.internal_reference.as_ref().map(|r| {
        guard(
            keys::consumer_reference_guard(&consumer.account_id, r),
            &consumer.id,
        )
    })
}

impl Consumers for Store {
    async fn create_consumer(&self, consumer: &Consumer) -> StoreResult<()> {
        let mut records = vec![record(consumer)];
        records.extend(reference_guard(consumer));
        self.create(records, "internal_reference").await
    }

    async fn consumer(
        &self,
        account_id: &AccountId,
        id: &ConsumerId,
    ) -> StoreResult<Option<Versioned<Consumer>>> {
        self.get(keys::consumer(account_id, id), "consumer").await
    }

    async fn consumer_by_reference(
        &self,
        account_id: &AccountId,
        reference: &str,
    ) -> StoreResult<Option<Versioned<Consumer>>> {
        match self
            .guard_owner(keys::consumer_reference_guard(account_id, reference))
            .await?
        {
            Some(owner) => self.consumer(account_id, &owner.into()).await,
            None => Ok(None),
        }
    }

    async fn update_consumer(
        &self,
        previous: &Versioned<Consumer>,
        next: &Consumer,
    ) -> StoreResult<u64> {
        let mut also = Vec::new();
        if previous.value.internal_reference != next.internal_reference {
            if let Some(old) = reference_guard(&previous.value) {
                also.push(WriteOp::Delete(old.key, Condition::Always));
            }
            if let Some(new) = reference_guard(next) {
                also.push(WriteOp::Put(new, Condition::Absent));
            }
        }
        let changes_reference = !also.is_empty();
        match self.replace_at(record(next), previous.version, also).await {
            Err(StoreError::ConditionFailed) if changes_reference => {
                // Either the consumer changed under us or the new reference is taken.
                match self.consumer(&next.account_id, &next.id).await? {
                    Some(now) if now.version == previous.version => {
                        Err(StoreError::Duplicate("internal_reference"))
                    }
                    _ => Err(StoreError::Stale),
                }
            }
            other => other.map_err(stale),
        }
    }

    async fn delete_consumer(&self, consumer: &Consumer) -> StoreResult<()> {
        let mut ops = vec![WriteOp::Delete(
            keys::consumer(&consumer.account_id, &consumer.id),
            Condition::Present,
        )];
        if let Some(g) = reference_guard(consumer) {
            ops.push(WriteOp::Delete(g.key, Condition::Always));
        }
        self.remove(ops).await
    }

    async fn list_consumers(
        &self,
        account_id: &AccountId,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<Consumer>>> {
        let query = Query::Partition {
            pk: keys::account_partition(account_id),
            sk_prefix: keys::CONSUMER_PREFIX.into(),
        };
        self.list(query, "consumer", limit, cursor).await
    }
}
