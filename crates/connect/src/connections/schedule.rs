//! The scheduled refresh run: every connection due within its margin, found through the
//! `schedule` index shard by shard (never a scan), refreshed with bounded concurrency.
//! Then the webhook outbox's due deliveries and the reminder emails that are due.

use latchkey_store::Connections;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::connections::{Need, Renewal, ensure_fresh};
use latchkey_core::App;
use latchkey_core::ConnectionError;
use latchkey_core::webhooks::DeliveryError;
use latchkey_domain::error::Chain;
use latchkey_domain::{Connection, SHORT_LIVED_SECONDS};
use latchkey_mail::Mailer;
use latchkey_store::{Cursor, Listing, SCHEDULE_SHARDS, StoreError, StoreResult, Versioned};

#[derive(Clone, Copy)]
pub struct RunOptions<'a> {
    /// Refreshes in flight at once.
    pub concurrency: usize,
    /// Stop starting refreshes after this instant (the Lambda's remaining time).
    pub stop_at: Option<Instant>,
    /// Sends the reminder emails that are due; without one they wait.
    pub mailer: Option<&'a Mailer>,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        Self {
            concurrency: 64,
            stop_at: None,
            mailer: None,
        }
    }
}

/// What a run did, for logs, the CLI and the benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// Connections the index returned as due.
    pub due: usize,
    /// Items the store examined to find them.
    pub read: usize,
    pub refreshed: usize,
    /// Already refreshed by another worker (or no longer due).
    pub already_fresh: usize,
    /// Another worker held the lease.
    pub busy: usize,
    /// Transient failures (retried later with backoff).
    pub failed: usize,
    pub needs_reauth: usize,
    /// Failed for good: now in `error`, out of the schedule.
    pub errors: usize,
    /// Refreshed tokens that live under five minutes.
    pub short_lived: usize,
    /// Gone (deleted) or unusable by the time their turn came.
    pub skipped: usize,
    pub webhooks_delivered: usize,
    /// Webhook attempts the receiver refused or did not answer.
    pub webhooks_failed: usize,
    /// Reminder emails accepted by the mail service.
    pub reminders_sent: usize,
    /// Expired items deleted (SQLite; DynamoDB's TTL deletes its own).
    pub purged: usize,
    /// Stopped early at `stop_at`.
    pub truncated: bool,
}

enum Item {
    Due(Box<Connection>),
    Read(usize),
    Failed(StoreError),
}

/// Connections a schedule query answers at once.
const PAGE: usize = 100;

/// Every shard's first page at once (one round trip answers the usual run), then the
/// shards in turn, starting from a random one so that two workers started together begin
/// apart; a shard's later pages are read as its turn comes, only as fast as refreshes
/// finish.
fn due_items(app: &App, until: i64) -> impl futures_util::Stream<Item = Item> + '_ {
    let first = u32::from(latchkey_domain::token::random_bytes::<1>()[0]) % SCHEDULE_SHARDS;
    let order: Vec<u32> = (0..SCHEDULE_SHARDS)
        .map(|i| (first + i) % SCHEDULE_SHARDS)
        .collect();
    stream::once(async move {
        let pages = futures_util::future::join_all(
            order
                .iter()
                .map(|&shard| app.store.due_connections(shard, until, PAGE, None)),
        )
        .await;
        stream::iter(order.into_iter().zip(pages))
            .flat_map(move |(shard, page)| shard_items(app, shard, until, page))
    })
    .flatten()
}

enum Step {
    Read(StoreResult<Listing<Versioned<Connection>>>),
    After(Cursor),
}

/// One shard's items: its first page (read already), then the rest page by page.
fn shard_items(
    app: &App,
    shard: u32,
    until: i64,
    first: StoreResult<Listing<Versioned<Connection>>>,
) -> impl futures_util::Stream<Item = Item> + '_ {
    stream::unfold(Some(Step::Read(first)), move |step| async move {
        let read = match step? {
            Step::Read(read) => read,
            Step::After(cursor) => {
                app.store
                    .due_connections(shard, until, PAGE, Some(&cursor))
                    .await
            }
        };
        Some(match read {
            Ok(page) => {
                let mut items = vec![Item::Read(page.read)];
                items.extend(page.items.into_iter().map(|c| Item::Due(Box::new(c.value))));
                (stream::iter(items), page.next.map(Step::After))
            }
            Err(e) => (stream::iter(vec![Item::Failed(e)]), None),
        })
    })
    .flatten()
}

enum Done {
    Read(usize),
    Outcome(Result<Renewal, ConnectionError>, bool),
    Failed(StoreError),
    Stopped,
}

/// Why a refresh run stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the refresh schedule could not be read")]
    Schedule(#[from] StoreError),
    #[error("the webhook outbox could not be worked through")]
    Webhooks(#[from] DeliveryError),
    #[error("the reminder emails could not be worked through")]
    Reminders(#[source] StoreError),
}

/// One refresh run: every due connection, then the due webhooks and reminders.
pub async fn run(app: &App, options: RunOptions<'_>) -> Result<RunReport, RunError> {
    // Boxed: the run's future (a stream of refreshes, each a token call) is deep enough
    // that callers nesting it overflow the compiler's layout query.
    Box::pin(run_all(app, options)).await
}

#[tracing::instrument(name = "refresh_run", skip_all)]
async fn run_all(app: &App, options: RunOptions<'_>) -> Result<RunReport, RunError> {
    let until = app.now();
    let mut report = RunReport::default();
    let results = due_items(app, until)
        .map(|item| async move {
            match item {
                Item::Read(n) => Done::Read(n),
                Item::Failed(e) => Done::Failed(e),
                Item::Due(_) if options.stop_at.is_some_and(|t| Instant::now() >= t) => {
                    Done::Stopped
                }
                Item::Due(c) => {
                    let outcome =
                        ensure_fresh(app, &c.account_id, &c.id, Need::Scheduled, false).await;
                    let short = outcome.as_ref().is_ok_and(|f| {
                        f.renewal == Renewal::Refreshed
                            && f.connection
                                .token_lifetime()
                                .is_some_and(|l| l < SHORT_LIVED_SECONDS)
                    });
                    Done::Outcome(outcome.map(|f| f.renewal), short)
                }
            }
        })
        .buffer_unordered(options.concurrency.max(1));
    let mut results = std::pin::pin!(results);
    let mut failure = None;
    while let Some(done) = results.next().await {
        match done {
            Done::Read(n) => report.read += n,
            Done::Failed(e) => failure = Some(e),
            Done::Stopped => {
                report.due += 1;
                report.truncated = true;
            }
            Done::Outcome(outcome, short) => {
                report.due += 1;
                report.short_lived += usize::from(short);
                match outcome {
                    Ok(Renewal::Refreshed) => report.refreshed += 1,
                    Ok(Renewal::AlreadyFresh) => report.already_fresh += 1,
                    Ok(Renewal::KeptAfterFailure) | Err(ConnectionError::RefreshFailed(_)) => {
                        report.failed += 1
                    }
                    Err(ConnectionError::Busy) => report.busy += 1,
                    Err(ConnectionError::NeedsReauth) => report.needs_reauth += 1,
                    Err(ConnectionError::Errored(_)) => report.errors += 1,
                    Err(ConnectionError::NotFound | ConnectionError::Unusable(_)) => {
                        report.skipped += 1
                    }
                    Err(e) => {
                        tracing::warn!(error = %Chain(&e), "refresh could not run");
                        report.failed += 1;
                    }
                }
            }
        }
    }
    if let Some(e) = failure {
        return Err(e.into());
    }
    let deliveries = latchkey_core::webhooks::deliver_due(app).await?;
    report.webhooks_delivered = deliveries.delivered;
    report.webhooks_failed = deliveries.failed;
    if let Some(mailer) = options.mailer {
        report.reminders_sent = crate::reminders::deliver_due(app, mailer)
            .await
            .map_err(RunError::Reminders)?;
    }
    match app.store.purge_expired().await {
        Ok(purged) => report.purged = purged,
        Err(e) => tracing::warn!(error = %Chain(&e), "expired items not purged"),
    }
    tracing::info!(?report, "refresh run finished");
    Ok(report)
}
