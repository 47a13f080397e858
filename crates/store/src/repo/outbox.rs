//! The webhook outbox: one item per event, in the `schedule` index by next attempt time
//! while it is pending, listed per account newest first (recent deliveries), gone after
//! its retention whatever its attempts.

use super::{Listing, Store, Versioned, encode};
use crate::{Condition, Cursor, Query, Record, StoreResult, WriteOp, keys};
use latchkey_domain::{AccountId, DeliveryState, WebhookDelivery};

/// Deliveries disappear after this long, delivered or not.
pub const WEBHOOK_RETENTION_SECONDS: i64 = 3 * 24 * 3600;

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
    /// One page of the account's deliveries, newest first, in any state.
    fn account_webhooks(
        &self,
        account_id: &AccountId,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<WebhookDelivery>>>> + Send;
    /// Records an attempt (or a put-off), if nobody else handled the delivery meanwhile.
    fn update_webhook(
        &self,
        current: &Versioned<WebhookDelivery>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Removes a delivery that has nowhere to go, if nobody else handled it meanwhile.
    fn delete_webhook(
        &self,
        current: &Versioned<WebhookDelivery>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

fn record(delivery: &WebhookDelivery) -> Record {
    let mut record = Record::new(keys::webhook(&delivery.id), "webhook", encode(delivery))
        .expires_at(delivery.created_at + WEBHOOK_RETENTION_SECONDS);
    if delivery.state() == DeliveryState::Pending {
        record.schedule = Some((keys::WEBHOOK_SHARD.to_owned(), delivery.next_attempt_at));
    }
    record.inventory = Some(keys::webhook_inventory(delivery));
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

    async fn account_webhooks(
        &self,
        account_id: &AccountId,
        limit: usize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<Listing<Versioned<WebhookDelivery>>> {
        let limit = crate::clamp_limit(limit).min(crate::MAX_PAGE - 1);
        let query = Query::Inventory {
            pk: keys::webhook_inventory_partition(account_id),
            after: cursor.map(Cursor::sort_after).transpose()?,
        };
        // One past the page, where there is one, says a page follows.
        let mut listing: Listing<Versioned<WebhookDelivery>> =
            self.list(query, "webhook", limit + 1, None).await?;
        listing.next = None;
        if listing.items.len() > limit {
            listing.items.truncate(limit);
            listing.next = listing
                .items
                .last()
                .map(|d| Cursor::after_sort(&keys::webhook_newest_first(&d.value)));
        }
        Ok(listing)
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
