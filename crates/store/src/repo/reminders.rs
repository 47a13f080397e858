//! Reminder emails: one outbox item per broken connection, in the `schedule` index by its
//! next send, and the links each email carries (expiring on read).

use super::{Listing, Store, Versioned, encode};
use crate::{Condition, Query, Record, StoreResult, WriteOp, keys};
use latchkey_domain::{Reminder, ReminderLink};

pub trait Reminders {
    /// Starts a connection's reminders, replacing any earlier series for it.
    fn schedule_reminder(
        &self,
        reminder: &Reminder,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Reminders due at or before `until`, oldest first.
    fn due_reminders(
        &self,
        until: i64,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Listing<Versioned<Reminder>>>> + Send;
    /// Records a send or a failed attempt, if nobody else handled the reminder meanwhile.
    fn update_reminder(
        &self,
        current: &Versioned<Reminder>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Ends a series, if nobody else handled it meanwhile.
    fn delete_reminder(
        &self,
        current: &Versioned<Reminder>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn create_reminder_link(
        &self,
        link: &ReminderLink,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The unexpired link for this token hash (links stay usable until they expire).
    fn reminder_link(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<ReminderLink>>> + Send;
}

fn record(reminder: &Reminder) -> Record {
    let mut record = Record::new(
        keys::reminder(&reminder.connection_id),
        "reminder",
        encode(reminder),
    )
    .expires_at(reminder.expires_at());
    record.schedule = Some((keys::REMINDER_SHARD.to_owned(), reminder.next_attempt_at));
    record
}

impl Reminders for Store {
    async fn schedule_reminder(&self, reminder: &Reminder) -> StoreResult<()> {
        self.write(vec![WriteOp::Put(record(reminder), Condition::Always)])
            .await
    }

    async fn due_reminders(
        &self,
        until: i64,
        limit: usize,
    ) -> StoreResult<Listing<Versioned<Reminder>>> {
        let query = Query::Due {
            shard: keys::REMINDER_SHARD.to_owned(),
            until,
        };
        self.list(query, "reminder", limit, None).await
    }

    async fn update_reminder(&self, current: &Versioned<Reminder>) -> StoreResult<()> {
        self.replace(record(&current.value), current.version, vec![])
            .await
            .map(drop)
    }

    async fn delete_reminder(&self, current: &Versioned<Reminder>) -> StoreResult<()> {
        let key = keys::reminder(&current.value.connection_id);
        self.remove(vec![WriteOp::Delete(
            key,
            Condition::Version(current.version),
        )])
        .await
    }

    async fn create_reminder_link(&self, link: &ReminderLink) -> StoreResult<()> {
        let record = Record::new(
            keys::reminder_link(&link.token_hash),
            "reminder_link",
            encode(link),
        )
        .expires_at(link.expires_at);
        self.create(vec![record], "token").await
    }

    async fn reminder_link(&self, token_hash: &str) -> StoreResult<Option<ReminderLink>> {
        let found: Option<Versioned<ReminderLink>> = self
            .get(keys::reminder_link(token_hash), "reminder_link")
            .await?;
        Ok(found.map(|v| v.value))
    }
}
