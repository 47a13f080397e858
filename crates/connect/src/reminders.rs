//! Reminder emails (docs/ARCHITECTURE.md §5; Chift: a consumer's `email` is "used for
//! automated reminders"). When a connection breaks, an outbox item is written; the
//! scheduled run sends it to the consumer (if the account enabled reminders and the
//! consumer has an email and did not opt out), then again after the account's delay
//! while the connection stays broken, up to its maximum.
//!
//! Each email carries a token (stored as its hash, 30 days) for two links:
//! `/reminders/{token}` mints a fresh 30-minute activation link for exactly that
//! connection at the moment it is opened, so a link read days later still works and a
//! mail scanner that follows it burns nothing the user needs; `/reminders/{token}/opt-out`
//! stops reminders for that consumer (one click, RFC 8058 `List-Unsubscribe-Post`).

use latchkey_store::{Accounts, Connections, Consumers, Integrations, Reminders};

use latchkey_core::App;
use latchkey_domain::error::Chain;
use latchkey_domain::token::{new_token, token_hash};
use latchkey_domain::{
    Connection, ConnectionStatus, FlowError, NewActivation, REMINDER_LINK_TTL_SECONDS, Reminder,
    ReminderLink,
};
use latchkey_mail::{Mailer, ReminderEmail};
use latchkey_store::{StoreError, Versioned};

/// A connection that only its user can mend: the state reminders are about.
fn broken(status: ConnectionStatus) -> bool {
    matches!(
        status,
        ConnectionStatus::NeedsReauth | ConnectionStatus::Error
    )
}

/// `connection` just broke: starts its reminders when its account sends them. Never
/// fails the caller; a reminder that cannot be recorded is logged.
pub async fn schedule(app: &App, connection: &Connection) {
    let enabled = match app.store.account(&connection.account_id).await {
        Ok(account) => account.is_some_and(|a| a.value.reminders.enabled),
        Err(e) => {
            tracing::warn!(error = %Chain(&e), "reminder not recorded");
            return;
        }
    };
    if !enabled {
        return;
    }
    let reminder = Reminder::new(
        connection.id.clone(),
        connection.account_id.clone(),
        connection.consumer_id.clone(),
        app.now(),
    );
    if let Err(e) = app.store.schedule_reminder(&reminder).await {
        tracing::warn!(error = %Chain(&e), "reminder not recorded");
    }
}

/// Sends every reminder that is due through `mailer`; answers how many were sent. (Where
/// no mailer is configured this is not called, and reminders wait.)
pub async fn deliver_due(app: &App, mailer: &Mailer) -> Result<usize, StoreError> {
    let mut sent = 0;
    // Sent and failed reminders move into the future, ended ones are deleted: each page
    // holds new work.
    loop {
        let page = app.store.due_reminders(app.now(), 100).await?;
        let count = page.items.len();
        for current in page.items {
            match attempt(app, mailer, current).await {
                Ok(true) => sent += 1,
                Ok(false) | Err(StoreError::Stale) => {}
                Err(e) => return Err(e),
            }
        }
        if count < 100 {
            return Ok(sent);
        }
    }
}

/// One reminder; `true` when an email was accepted for delivery.
#[tracing::instrument(
    name = "reminder",
    skip_all,
    fields(account_id = %current.value.account_id, connection_id = %current.value.connection_id)
)]
async fn attempt(
    app: &App,
    mailer: &Mailer,
    current: Versioned<Reminder>,
) -> Result<bool, StoreError> {
    let r = &current.value;
    let Some(email) = compose(app, r).await? else {
        // Mended, gone, opted out or switched off: the series ends.
        app.store.delete_reminder(&current).await?;
        return Ok(false);
    };
    let (email, settings) = email;
    let now = app.now();
    let mut next = current.clone();
    let sent = match mailer.send(&email).await {
        Ok(()) => {
            tracing::info!(sent = r.sent + 1, "reminder sent");
            next.value.after_sent(now, &settings)
        }
        Err(e) => {
            tracing::warn!(error = %Chain(&e), attempts = r.attempts + 1, "reminder not sent");
            next.value.after_failed_attempt(now)
        }
    };
    if sent {
        app.store.update_reminder(&next).await?;
    } else {
        app.store.delete_reminder(&current).await?;
    }
    Ok(next.value.sent > r.sent)
}

/// The email for `r` with its fresh links, or `None` when no reminder should go out.
async fn compose(
    app: &App,
    r: &Reminder,
) -> Result<Option<(latchkey_mail::Email, latchkey_domain::ReminderSettings)>, StoreError> {
    let Some(connection) = app
        .store
        .connection(&r.account_id, &r.connection_id)
        .await?
        .filter(|c| broken(c.value.status))
    else {
        return Ok(None);
    };
    let Some(account) = app
        .store
        .account(&r.account_id)
        .await?
        .filter(|a| a.value.reminders.enabled)
    else {
        return Ok(None);
    };
    let consumer = app.store.consumer(&r.account_id, &r.consumer_id).await?;
    let Some((consumer, to)) = consumer.and_then(|c| {
        let to = c.value.email.clone()?;
        c.value.reminders_opted_out_at.is_none().then_some((c, to))
    }) else {
        return Ok(None);
    };
    let integration = app
        .store
        .integration(&r.account_id, &connection.value.integration_id)
        .await?
        .map_or_else(|| connection.value.name.clone(), |i| i.value.name);

    let token = new_token("lkr");
    let now = app.now();
    app.store
        .create_reminder_link(&ReminderLink {
            token_hash: token_hash(token.expose()),
            account_id: r.account_id.clone(),
            consumer_id: r.consumer_id.clone(),
            connection_id: r.connection_id.clone(),
            created_at: now,
            expires_at: now + REMINDER_LINK_TTL_SECONDS,
        })
        .await?;
    let url = |tail: &str| {
        app.public_url()
            .join(&format!("reminders/{}{tail}", token.expose()))
            .expect("a token is a valid path segment")
    };
    let email = latchkey_mail::reminder(&ReminderEmail {
        account_name: account.value.display_name(),
        consumer_name: &consumer.value.name,
        integration_name: &integration,
        to: &to,
        reconnect_url: url("").as_str(),
        opt_out_url: url("/opt-out").as_str(),
    });
    Ok(Some((email, account.value.reminders)))
}

/// What opening a reminder's reconnect link leads to.
#[derive(Debug)]
pub enum Reconnect {
    /// A fresh activation link that re-authorises the connection.
    Link(url::Url),
    /// The connection works again (or is gone): nothing to do.
    NotNeeded { account_name: String },
}

/// The reminder link behind `token`, with its account's name; `InvalidLink` when it is
/// unknown or expired.
async fn link(app: &App, token: &str) -> Result<(ReminderLink, String), FlowError> {
    let link = app
        .store
        .reminder_link(&token_hash(token))
        .await?
        .ok_or(FlowError::InvalidLink)?;
    let account = app
        .store
        .account(&link.account_id)
        .await?
        .ok_or(FlowError::InvalidLink)?;
    Ok((link, account.value.display_name().to_owned()))
}

/// `GET /reminders/{token}`.
pub async fn reconnect(app: &App, token: &str) -> Result<Reconnect, FlowError> {
    let (link, account_name) = link(app, token).await?;
    let connection = app
        .store
        .connection(&link.account_id, &link.connection_id)
        .await?
        .filter(|c| broken(c.value.status));
    let Some(connection) = connection else {
        return Ok(Reconnect::NotNeeded { account_name });
    };
    let c = connection.value;
    let input = NewActivation {
        name: c.name.clone(),
        integration_id: Some(c.integration_id.clone()),
        redirect: false,
        connection_id: Some(c.id.clone()),
        consumer: None,
    };
    let (url, _) =
        latchkey_core::activation::issue(app, &c.account_id, &c.consumer_id, input).await?;
    Ok(Reconnect::Link(url))
}

/// The account's name, for the opt-out page behind `token`.
pub async fn opt_out_offer(app: &App, token: &str) -> Result<String, FlowError> {
    Ok(link(app, token).await?.1)
}

/// `POST /reminders/{token}/opt-out`: the consumer gets no more reminders. Answers the
/// account's name. Doing it twice is the same as once.
pub async fn opt_out(app: &App, token: &str) -> Result<String, FlowError> {
    let (link, account_name) = link(app, token).await?;
    for _ in 0..3 {
        let Some(current) = app
            .store
            .consumer(&link.account_id, &link.consumer_id)
            .await?
        else {
            return Ok(account_name);
        };
        if current.value.reminders_opted_out_at.is_some() {
            return Ok(account_name);
        }
        let mut next = current.value.clone();
        next.reminders_opted_out_at = Some(app.now());
        next.updated_at = app.now();
        match app.store.update_consumer(&current, &next).await {
            Ok(_) => {
                tracing::info!(consumer_id = %link.consumer_id, "reminders opted out");
                return Ok(account_name);
            }
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(FlowError::internal(StoreError::Stale))
}
