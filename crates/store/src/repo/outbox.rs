//! The webhook outbox: one item per event, in the `schedule` index by next attempt time,
//! gone after its retention whatever its attempts.

use super::{Listing, Store, Versioned, encode};
use crate::{Condition, Query, Record, StoreResult, WriteOp, keys};
use latchkey_domain::WebhookDelivery;

/// Undelivered webhooks disappear after this long, whatever their attempts.
const WEBHOOK_RETENTION_SECONDS: i64 = 3 * 24 * 3600;

pub trait Outbox {
    fn enqueue_webhook(
        &self,
        delivery: &WebhookDelivery,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deliveries whose next attempt is due at or before `until`, oldest first.
    fn due_webhooks(
        &self,
        until: i64,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<WebhookDelivery>>>> + Send;
    /// Records a failed attempt, if nobody else handled the delivery meanwhile.
    fn update_webhook(
        &self,
        current: &Versioned<WebhookDelivery>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Removes a delivered (or abandoned) delivery, if nobody else handled it meanwhile.
    fn delete_webhook(
        &self,
        current: &Versioned<WebhookDelivery>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

fn record(delivery: &WebhookDelivery) -> Record {
    let mut record = Record::new(keys::webhook(&delivery.id), "webhook", encode(delivery))
        .expires_at(delivery.created_at + WEBHOOK_RETENTION_SECONDS);
    record.schedule = Some((keys::WEBHOOK_SHARD.to_owned(), delivery.next_attempt_at));
    record
}

impl Outbox for Store {
    async fn enqueue_webhook(&self, delivery: &WebhookDelivery) -> StoreResult<()> {
        // Ids are fresh: a clash is a failed condition, not a field taken.
        self.write(vec![WriteOp::Put(record(delivery), Condition::Absent)])
            .await
    }

    async fn due_webhooks(
        &self,
        until: i64,
        limit: usize,
    ) -> StoreResult<Listing<Versioned<WebhookDelivery>>> {
        let query = Query::Due {
            shard: keys::WEBHOOK_SHARD.to_owned(),
            until,
        };
        self.list(query, "webhook", limit, None).await
    }

    async fn update_webhook(&self, current: &Versioned<WebhookDelivery>) -> StoreResult<()> {
        self.replace(record(&current.value), current.version, vec![])
            .await
            .map(drop)
    }

    async fn delete_webhook(&self, current: &Versioned<WebhookDelivery>) -> StoreResult<()> {
        let key = keys::webhook(&current.value.id);
        self.remove(vec![WriteOp::Delete(
            key,
            Condition::Version(current.version),
        )])
        .await
    }
}
