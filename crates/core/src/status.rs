//! What an operator looks at first (`latchkey status`): an account's connections by status
//! and by integration, its webhook backlog, and when its next refresh is due; and the
//! one-off upgrade step that puts older connections in the inventory (`latchkey reindex`).

use std::collections::BTreeMap;

use serde::Serialize;

use latchkey_domain::{AccountId, Connection, ConnectionStatus};
use latchkey_store::{
    Accounts, Connections, Consumers, Integrations, Outbox, Store, StoreError, StoreResult,
};

/// Connections per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub active: usize,
    pub needs_reauth: usize,
    pub error: usize,
}

impl Counts {
    /// Counts a listed connection (the inventory lists no pending install).
    fn add(&mut self, status: ConnectionStatus) {
        let count = match status {
            ConnectionStatus::Active => &mut self.active,
            ConnectionStatus::NeedsReauth => &mut self.needs_reauth,
            ConnectionStatus::Error => &mut self.error,
            ConnectionStatus::Pending => return,
        };
        *count += 1;
        self.total += 1;
    }
}

/// One integration's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationCounts {
    pub key: String,
    pub name: String,
    #[serde(flatten)]
    pub connections: Counts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountStatus {
    pub connections: Counts,
    /// By integration id, only integrations with connections.
    pub integrations: BTreeMap<String, IntegrationCounts>,
    /// Webhooks not yet delivered (being retried), and when the oldest was due.
    pub webhook_backlog: usize,
    pub oldest_webhook_due_at: Option<i64>,
    /// The earliest scheduled refresh of the account's connections.
    pub next_refresh_due_at: Option<i64>,
}

/// Reads every listed connection of the account once (an operator's command, not a
/// request path) and the first [`BACKLOG_EXAMINED`] undelivered webhooks.
pub async fn account_status(store: &Store, account_id: &AccountId) -> StoreResult<AccountStatus> {
    let mut status = AccountStatus {
        connections: Counts::default(),
        integrations: BTreeMap::new(),
        webhook_backlog: 0,
        oldest_webhook_due_at: None,
        next_refresh_due_at: None,
    };
    let mut cursor = None;
    loop {
        let page = store
            .connection_inventory(account_id, &Default::default(), 1000, cursor.as_ref())
            .await?;
        for connection in &page.items {
            count(store, account_id, &mut status, &connection.value).await?;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let backlog = store.due_webhooks(i64::MAX, BACKLOG_EXAMINED).await?;
    let mine = backlog
        .items
        .iter()
        .filter(|d| &d.value.account_id == account_id);
    for delivery in mine {
        status.webhook_backlog += 1;
        let due = delivery.value.next_attempt_at;
        status.oldest_webhook_due_at =
            Some(status.oldest_webhook_due_at.map_or(due, |o| o.min(due)));
    }
    Ok(status)
}

/// Undelivered webhooks examined for the backlog (of every account: the outbox is shared).
pub const BACKLOG_EXAMINED: usize = 1000;

async fn count(
    store: &Store,
    account_id: &AccountId,
    status: &mut AccountStatus,
    connection: &Connection,
) -> StoreResult<()> {
    status.connections.add(connection.status);
    if let Some(due) = connection.refresh_due_at() {
        status.next_refresh_due_at = Some(status.next_refresh_due_at.map_or(due, |d| d.min(due)));
    }
    let id = connection.integration_id.as_str();
    if !status.integrations.contains_key(id) {
        let (key, name) = match store
            .integration(account_id, &connection.integration_id)
            .await?
        {
            Some(i) => (i.value.key, i.value.name),
            None => (String::new(), "(deleted)".to_owned()),
        };
        let line = IntegrationCounts {
            key,
            name,
            connections: Counts::default(),
        };
        status.integrations.insert(id.to_owned(), line);
    }
    if let Some(line) = status.integrations.get_mut(id) {
        line.connections.add(connection.status);
    }
    Ok(())
}

/// Puts every connection of the account in the inventory (`latchkey reindex`): needed once
/// for connections written by a release before it. The account item is rewritten too, so
/// an account of such a release is listed (`Accounts::accounts`). Answers how many
/// connections were rewritten.
pub async fn reindex(store: &Store, account_id: &AccountId) -> StoreResult<usize> {
    if let Some(account) = store.account(account_id).await? {
        store.update_account(&account).await?;
    }
    let mut count = 0;
    each_connection(store, account_id, async |connection| {
        count += usize::from(rewrite(store, account_id, connection).await?);
        Ok(())
    })
    .await?;
    Ok(count)
}

/// Calls `f` with every connection of the account, reached through its consumers, so
/// nothing scans the table.
pub(crate) async fn each_connection(
    store: &Store,
    account_id: &AccountId,
    mut f: impl AsyncFnMut(latchkey_store::Versioned<Connection>) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut consumers = None;
    loop {
        let page = store
            .list_consumers(account_id, 100, consumers.as_ref())
            .await?;
        for consumer in &page.items {
            let mut connections = None;
            loop {
                let owned = store
                    .consumer_connections(
                        account_id,
                        &consumer.value.id,
                        None,
                        100,
                        connections.as_ref(),
                    )
                    .await?;
                for connection in owned.items {
                    f(connection).await?;
                }
                match owned.next {
                    Some(next) => connections = Some(next),
                    None => break,
                }
            }
        }
        match page.next {
            Some(next) => consumers = Some(next),
            None => return Ok(()),
        }
    }
}

/// Rewrites one connection, reading it again when a refresh wrote it meanwhile.
async fn rewrite(
    store: &Store,
    account_id: &AccountId,
    mut current: latchkey_store::Versioned<Connection>,
) -> StoreResult<bool> {
    loop {
        match store.reindex_connection(&current).await {
            Ok(_) => return Ok(true),
            Err(StoreError::Stale) => {
                match store.connection(account_id, &current.value.id).await? {
                    Some(again) => current = again,
                    None => return Ok(false),
                }
            }
            Err(e) => return Err(e),
        }
    }
}
