//! Every key of the one table, in one place (docs/ARCHITECTURE.md §3):
//!
//! - `ACCOUNT#{id}` / `ACCOUNT`; its integrations `INTEGRATION#{id}` and consumers
//!   `CONSUMER#{id}` in the same partition, with guard items `INTEGRATION_KEY#{key}` and
//!   `CONSUMER_REF#{reference}` that make those fields unique per account;
//! - `APIKEY#{sha256}` / `APIKEY`, in `lookup` under `ACCOUNT#{id}#APIKEYS`;
//! - `ACTIVATION#{sha256}` / `ACTIVATION` and `FLOW#{sha256}` / `FLOW`, with `expires_at`;
//! - `JTI#{account}#{sha256(jti)}` / `JTI`: a used workspace token, until it expires;
//! - `SESSION#{sha256}` / `SESSION`: a console session, with `expires_at`;
//! - `CONNECTION#{id}` / `CONNECTION`, each in its own partition so refresh writes spread;
//!   in `lookup` under `CONSUMER#{consumer}` / `{integration}#{id}`, and in the sparse
//!   `schedule` index under `due#{0..8}` by refresh due time; once installed, in the
//!   `inventory` index under `CONNECTIONS#{account}#{status}` newest first, and named by a
//!   pointer item `ACCOUNT#{account}#INTEGRATION#{integration}#CONNECTIONS` / the same
//!   newest-first sort key, so an integration's connections are found without a scan;
//! - `LEASE#{connection}` / `LEASE`: the connection's refresh lease, expiring on its own;
//! - `WEBHOOK#{id}` / `WEBHOOK`: the webhook outbox, while pending in `schedule` shard
//!   `webhooks` by next attempt time, and in the `inventory` index under
//!   `WEBHOOKS#{account}` newest first (recent deliveries), with `expires_at`;
//! - `REMINDER#{connection}` / `REMINDER`: a broken connection's reminder emails, in
//!   `schedule` shard `reminders` by next send; `REMINDER_LINK#{sha256}` / `REMINDER_LINK`:
//!   what one email's links open, with `expires_at`.

use crate::Key;
use latchkey_domain::{
    AccountId, Connection, ConnectionId, ConnectionStatus, ConsumerId, IntegrationId,
    WebhookDelivery,
};

/// The refresh schedule is spread over this many index partitions, so no single
/// partition takes every refresh-time write.
pub const SCHEDULE_SHARDS: u32 = 8;

/// The schedule shard of the webhook outbox.
pub(crate) const WEBHOOK_SHARD: &str = "webhooks";

/// The schedule shard of reminder emails.
pub(crate) const REMINDER_SHARD: &str = "reminders";

pub(crate) const INTEGRATION_PREFIX: &str = "INTEGRATION#";
pub(crate) const CONSUMER_PREFIX: &str = "CONSUMER#";

/// The partition of an account and everything it owns directly.
pub(crate) fn account_partition(account_id: &AccountId) -> String {
    format!("ACCOUNT#{account_id}")
}

pub(crate) fn account(id: &AccountId) -> Key {
    Key::new(account_partition(id), "ACCOUNT")
}

pub(crate) fn api_key(hash: &str) -> Key {
    Key::new(format!("APIKEY#{hash}"), "APIKEY")
}

/// The `lookup` partition of an account's API keys.
/// The `lookup` partition every account is listed in (accounts are few: a deployment's
/// workspaces, not its end customers).
pub(crate) const ACCOUNTS_LOOKUP: &str = "ACCOUNTS";

pub(crate) fn api_keys_lookup(account_id: &AccountId) -> String {
    format!("{}#APIKEYS", account_partition(account_id))
}

pub(crate) fn integration(account_id: &AccountId, id: &IntegrationId) -> Key {
    Key::new(
        account_partition(account_id),
        format!("{INTEGRATION_PREFIX}{id}"),
    )
}

pub(crate) fn integration_key_guard(account_id: &AccountId, key: &str) -> Key {
    Key::new(
        account_partition(account_id),
        format!("INTEGRATION_KEY#{key}"),
    )
}

pub(crate) fn consumer(account_id: &AccountId, id: &ConsumerId) -> Key {
    Key::new(
        account_partition(account_id),
        format!("{CONSUMER_PREFIX}{id}"),
    )
}

pub(crate) fn consumer_reference_guard(account_id: &AccountId, reference: &str) -> Key {
    Key::new(
        account_partition(account_id),
        format!("CONSUMER_REF#{reference}"),
    )
}

pub(crate) fn activation(token_hash: &str) -> Key {
    Key::new(format!("ACTIVATION#{token_hash}"), "ACTIVATION")
}

/// A used workspace token's `jti`, per issuing account, until the token expires.
pub(crate) fn used_jti(account_id: &AccountId, jti_hash: &str) -> Key {
    Key::new(format!("JTI#{account_id}#{jti_hash}"), "JTI")
}

pub(crate) fn console_session(token_hash: &str) -> Key {
    Key::new(format!("SESSION#{token_hash}"), "SESSION")
}

pub(crate) fn flow(state_hash: &str) -> Key {
    Key::new(format!("FLOW#{state_hash}"), "FLOW")
}

pub(crate) fn reminder(connection_id: &ConnectionId) -> Key {
    Key::new(format!("REMINDER#{connection_id}"), "REMINDER")
}

pub(crate) fn reminder_link(token_hash: &str) -> Key {
    Key::new(format!("REMINDER_LINK#{token_hash}"), "REMINDER_LINK")
}

pub(crate) fn connection(id: &ConnectionId) -> Key {
    Key::new(format!("CONNECTION#{id}"), "CONNECTION")
}

/// A connection's `lookup` entry: under its consumer, sorted by integration.
pub(crate) fn connection_lookup(
    consumer_id: &ConsumerId,
    integration_id: &IntegrationId,
    id: &ConnectionId,
) -> (String, String) {
    (
        consumer_connections(consumer_id),
        format!("{integration_id}#{id}"),
    )
}

/// The `lookup` partition of a consumer's connections.
pub(crate) fn consumer_connections(consumer_id: &ConsumerId) -> String {
    format!("{CONSUMER_PREFIX}{consumer_id}")
}

/// The `lookup` sort-key prefix of a consumer's connections to one integration.
pub(crate) fn lookup_integration_prefix(integration_id: &IntegrationId) -> String {
    format!("{integration_id}#")
}

/// The statuses the inventory lists (pending installs are not connections yet).
pub(crate) const LISTED_STATUSES: [ConnectionStatus; 3] = [
    ConnectionStatus::Active,
    ConnectionStatus::NeedsReauth,
    ConnectionStatus::Error,
];

/// The `inventory` partition of an account's connections in one status.
pub(crate) fn inventory_partition(account_id: &AccountId, status: ConnectionStatus) -> String {
    format!("CONNECTIONS#{account_id}#{}", status.as_str())
}

/// Sorts newest first in ascending order: the inverted creation second, then the id.
/// Fixed width, so text order is time order.
pub(crate) fn newest_first(connection: &Connection) -> String {
    newest_first_at(connection.created_at, &connection.id)
}

fn newest_first_at(created_at: i64, id: &str) -> String {
    const LAST_SECOND: i64 = 99_999_999_999;
    let inverted = (LAST_SECOND - created_at).clamp(0, LAST_SECOND);
    format!("{inverted:011}#{id}")
}

/// The partition of the pointers to an integration's connections.
pub(crate) fn integration_connections_partition(
    account_id: &AccountId,
    integration_id: &IntegrationId,
) -> String {
    format!(
        "{}#INTEGRATION#{integration_id}#CONNECTIONS",
        account_partition(account_id)
    )
}

pub(crate) fn integration_connection_pointer(connection: &Connection) -> Key {
    Key::new(
        integration_connections_partition(&connection.account_id, &connection.integration_id),
        newest_first(connection),
    )
}

/// The `schedule` shard a connection's refresh entry goes to.
pub(crate) fn schedule_shard(connection_id: &ConnectionId) -> String {
    // FNV-1a: stable across processes and releases, unlike the std hasher.
    let hash = connection_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    due_shard(hash % SCHEDULE_SHARDS)
}

pub(crate) fn due_shard(shard: u32) -> String {
    format!("due#{shard}")
}

pub(crate) fn lease(connection_id: &ConnectionId) -> Key {
    Key::new(format!("LEASE#{connection_id}"), "LEASE")
}

pub(crate) fn webhook(id: &str) -> Key {
    Key::new(format!("WEBHOOK#{id}"), "WEBHOOK")
}

/// A webhook delivery's `inventory` entry: under its account, newest first.
pub(crate) fn webhook_inventory(delivery: &WebhookDelivery) -> (String, String) {
    (
        webhook_inventory_partition(&delivery.account_id),
        webhook_newest_first(delivery),
    )
}

pub(crate) fn webhook_inventory_partition(account_id: &AccountId) -> String {
    format!("WEBHOOKS#{account_id}")
}

pub(crate) fn webhook_newest_first(delivery: &WebhookDelivery) -> String {
    newest_first_at(delivery.created_at, &delivery.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_spread_over_every_schedule_shard() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200 {
            seen.insert(schedule_shard(&ConnectionId::from(format!("con_{i}"))));
        }
        assert_eq!(seen.len(), SCHEDULE_SHARDS as usize);
        // Stable across releases: a stored entry must keep its shard. FNV-1a of
        // "con_abc" is 0x88fd3034 (computed independently), 4 modulo 8.
        assert_eq!(schedule_shard(&"con_abc".into()), "due#4");
    }
}
