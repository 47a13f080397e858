//! Refreshing one connection: at most one refresher at a time per connection (a lease item
//! written with a create-if-absent condition), a re-read after taking the lease so a
//! refresh another worker just did is reused, the rotated refresh token persisted before
//! the new access token is handed out.

use latchkey_domain::deadline::budget;
use latchkey_store::{Connections, Integrations, Leases};
use std::time::{Duration, Instant};

use crate::grants::{self, app_client};
use latchkey_core::App;
use latchkey_core::ConnectionError;
use latchkey_core::webhooks;
use latchkey_domain::Secret;
use latchkey_domain::error::Chain;
use latchkey_domain::{AccountId, ConnectionId, FlowError};
use latchkey_domain::{
    AuthMethod, Connection, ConnectionStatus, EventType, Integration, RefreshFailure,
};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_providers::oauth2::{Client, Grant, TokenEndpoint};
use latchkey_store::{StoreError, Versioned};

/// How long a lease holds: longer than a token request may take (15 s) plus the writes.
pub const LEASE_SECONDS: i64 = 60;

/// How long a caller that needs the token waits for another worker's refresh.
const LEASE_WAIT: Duration = Duration::from_secs(20);

/// Why the caller wants a refresh.
#[derive(Debug, Clone, Copy)]
pub enum Need<'a> {
    /// The token is inside its refresh margin (or expired).
    Due,
    /// [`Need::Due`], for the scheduled run: the attempt is recorded before the provider
    /// is called ([`Connection::record_refresh_attempt`]).
    Scheduled,
    /// The provider refused this access token: renew it unless it was renewed already.
    Rejected(&'a Secret),
    /// Asked for (`POST /v1/connections/{id}/refresh`): renew now, whatever the expiry.
    Forced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// This call fetched new credentials.
    Refreshed,
    /// Nothing to do, or another worker had just done it.
    AlreadyFresh,
    /// The refresh failed transiently; the current token still works and is kept.
    KeptAfterFailure,
}

/// Usable credentials and the connection they belong to.
#[derive(Debug)]
pub struct Fresh {
    pub connection: Connection,
    pub credentials: Credentials,
    pub renewal: Renewal,
}

/// The connection and its credentials, if it belongs to `account_id`.
pub async fn load(
    app: &App,
    account_id: &AccountId,
    id: &ConnectionId,
) -> Result<(Versioned<Connection>, Credentials), ConnectionError> {
    reload(app, account_id, id, None).await
}

/// [`load`], reusing `last`'s credentials when the item has not changed since (a waiter
/// polling another worker's refresh reads the item, not the vault, until it changes).
async fn reload(
    app: &App,
    account_id: &AccountId,
    id: &ConnectionId,
    last: Option<(Versioned<Connection>, Credentials)>,
) -> Result<(Versioned<Connection>, Credentials), ConnectionError> {
    let current = app
        .store
        .connection(account_id, id)
        .await?
        .ok_or(ConnectionError::NotFound)?;
    if let Some((seen, credentials)) = last
        && seen.version == current.version
    {
        return Ok((current, credentials));
    }
    let credentials = match &current.value.credentials {
        Some(reference) => {
            app.vault
                .get(&SecretScope::new(account_id, id), reference)
                .await?
        }
        // Only connections of integrations without authentication keep no credentials.
        None => Credentials::None {},
    };
    Ok((current, credentials))
}

fn usable(connection: &Connection) -> Result<(), ConnectionError> {
    match connection.status {
        ConnectionStatus::Active => Ok(()),
        ConnectionStatus::NeedsReauth => Err(ConnectionError::NeedsReauth),
        ConnectionStatus::Error => Err(ConnectionError::Unusable("in error")),
        ConnectionStatus::Pending => Err(ConnectionError::Pending),
    }
}

fn wanted(connection: &Connection, credentials: &Credentials, need: Need<'_>, now: i64) -> bool {
    match need {
        Need::Due | Need::Scheduled => connection.needs_refresh(now),
        Need::Rejected(token) => {
            connection.refreshable
                && super::access_token(credentials).is_some_and(|t| t.expose() == token.expose())
        }
        Need::Forced => true,
    }
}

/// A usable connection as read now: fresh enough for `need`, or wanting a refresh.
enum Current {
    Fresh(Fresh),
    Wanted(Versioned<Connection>, Credentials),
}

async fn current(
    app: &App,
    account_id: &AccountId,
    id: &ConnectionId,
    need: Need<'_>,
    last: Option<(Versioned<Connection>, Credentials)>,
) -> Result<Current, ConnectionError> {
    let (current, credentials) = reload(app, account_id, id, last).await?;
    usable(&current.value)?;
    if matches!(need, Need::Forced) && !current.value.refreshable {
        return Err(ConnectionError::NotRefreshable);
    }
    if wanted(&current.value, &credentials, need, app.now()) {
        return Ok(Current::Wanted(current, credentials));
    }
    Ok(Current::Fresh(Fresh {
        connection: current.value,
        credentials,
        renewal: Renewal::AlreadyFresh,
    }))
}

/// Returns usable credentials, refreshing first when `need` says so. When another worker
/// holds the lease, waits for it (`wait`) and uses its result, or answers `Busy`.
#[tracing::instrument(
    name = "refresh",
    skip_all,
    fields(account_id = %account_id, connection_id = %id)
)]
pub async fn ensure_fresh(
    app: &App,
    account_id: &AccountId,
    id: &ConnectionId,
    need: Need<'_>,
    wait: bool,
) -> Result<Fresh, ConnectionError> {
    let deadline = Instant::now() + budget(LEASE_WAIT);
    let mut pause = FIRST_PAUSE;
    let mut last = None;
    loop {
        let wanted = match current(app, account_id, id, need, last.take()).await? {
            Current::Fresh(fresh) => return Ok(fresh),
            Current::Wanted(connection, credentials) => (connection, credentials),
        };
        if let Some(lease) = app.store.take_lease(id, LEASE_SECONDS).await? {
            let result = refresh_leased(app, account_id, id, need, wanted).await;
            if let Err(e) = app.store.release_lease(lease).await {
                // It expires on its own; the refresh itself is done.
                tracing::warn!(error = %Chain(&e), connection = %id, "lease not released");
            }
            return result;
        }
        if !wait || Instant::now() >= deadline {
            return Err(ConnectionError::Busy);
        }
        // Backing off: a refresh takes a token call (often a second or more), and each
        // poll costs a read and a lease attempt.
        let jitter = u64::from(latchkey_domain::token::random_bytes::<1>()[0]) % 50;
        tokio::time::sleep(pause + Duration::from_millis(jitter)).await;
        pause = (pause * 2).min(LAST_PAUSE);
        last = Some(wanted);
    }
}

/// A lease waiter's first and longest pause between polls.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LAST_PAUSE: Duration = Duration::from_millis(800);

async fn refresh_leased(
    app: &App,
    account_id: &AccountId,
    id: &ConnectionId,
    need: Need<'_>,
    read: (Versioned<Connection>, Credentials),
) -> Result<Fresh, ConnectionError> {
    // Another worker may have refreshed between our read and our lease. The integration
    // (a connection never changes it) is read at the same time: one round trip.
    let integration_id = read.0.value.integration_id.clone();
    let (current, integration) =
        tokio::try_join!(current(app, account_id, id, need, Some(read)), async {
            Ok(app
                .store
                .integration(account_id, &integration_id)
                .await?
                .map(|v| v.value))
        })?;
    let (current, credentials) = match current {
        Current::Fresh(fresh) => return Ok(fresh),
        Current::Wanted(current, credentials) => (current, credentials),
    };
    let current = match need {
        Need::Scheduled => record_attempt(app, current).await?,
        _ => current,
    };
    let renewed = match &integration {
        Some(integration) => renew(app, integration, &current.value, &credentials).await,
        None => Err(FlowError::IntegrationUnavailable),
    };
    match renewed {
        Ok((next_credentials, expires_at)) => {
            store_renewal(app, current, next_credentials, expires_at).await
        }
        Err(e) => record_failure(app, current, credentials, e).await,
    }
}

/// Writes the attempt ahead of the provider call; answers the connection as it was with
/// the version written, so the outcome is written over the attempt.
async fn record_attempt(
    app: &App,
    current: Versioned<Connection>,
) -> Result<Versioned<Connection>, ConnectionError> {
    let mut attempt = current.value.clone();
    attempt.record_refresh_attempt(app.now());
    let version = app
        .store
        .update_connection(&Versioned {
            value: attempt,
            version: current.version,
        })
        .await?;
    Ok(Versioned {
        value: current.value,
        version,
    })
}

/// Persists new credentials (vault first: a rotated refresh token must never be lost),
/// then the connection. A connection deleted meanwhile stays deleted.
async fn store_renewal(
    app: &App,
    current: Versioned<Connection>,
    credentials: Credentials,
    expires_at: Option<i64>,
) -> Result<Fresh, ConnectionError> {
    let now = app.now();
    let c = &current.value;
    let scope = SecretScope::new(&c.account_id, &c.id);
    let reference = app.vault.put(&scope, &credentials).await?;
    let mut next = c.clone();
    next.record_renewal(now, expires_at, reference.clone());
    let update = Versioned {
        value: next,
        version: current.version,
    };
    match write_renewal(app, &update).await {
        Ok(()) => {}
        Err(StoreError::Stale) => {
            let Some(now_stored) = app.store.connection(&c.account_id, &c.id).await? else {
                // Disconnected while we refreshed: do not leave the new secret behind.
                let _ = app.vault.delete(&scope, &reference).await;
                return Err(ConnectionError::NotFound);
            };
            // A try whose answer was lost had landed: the item is ours.
            if now_stored.value.credentials.as_ref() == Some(&reference) {
                return Ok(Fresh {
                    connection: now_stored.value,
                    credentials,
                    renewal: Renewal::Refreshed,
                });
            }
            // Re-authorised (or otherwise rewritten) meanwhile: its credentials stand.
            if let Some(kept) = &now_stored.value.credentials
                && let Err(e) = app.vault.yield_to(&scope, &reference, kept).await
            {
                tracing::warn!(error = %Chain(&e), "secret's current version not restored");
            }
            return Err(StoreError::Stale.into());
        }
        Err(e) => return Err(e.into()),
    }
    if update
        .value
        .token_lifetime()
        .is_some_and(|l| l < latchkey_domain::SHORT_LIVED_SECONDS)
    {
        tracing::warn!(connection = %c.id, "short-lived access token: only on-demand refresh keeps it fresh");
    }
    tracing::info!("credentials refreshed");
    Ok(Fresh {
        connection: update.value,
        credentials,
        renewal: Renewal::Refreshed,
    })
}

/// How long a renewal's write is retried: the rotated refresh token exists nowhere else
/// the connection can reach (sealed mode keeps it only in the item), so the write outlasts
/// a store outage of several seconds, within the invocation's deadline.
const RENEWAL_WRITE_BUDGET: Duration = Duration::from_secs(20);

/// Writes the renewed connection, retrying the store's failures (each try is already the
/// SDK's attempts) with backoff until it lands, loses to another write (`Stale`), or the
/// budget is spent.
async fn write_renewal(app: &App, update: &Versioned<Connection>) -> Result<(), StoreError> {
    let until = Instant::now() + budget(RENEWAL_WRITE_BUDGET);
    let mut pause = Duration::from_millis(100);
    loop {
        match app.store.update_connection(update).await {
            Ok(_) => return Ok(()),
            Err(e @ StoreError::Backend(_)) if Instant::now() + pause < until => {
                tracing::warn!(error = %Chain(&e), "renewal not written yet; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// `invalid_grant` means the user must connect again (`needs_reauth`); a [`permanent`]
/// failure, or a day of temporary ones, puts the connection in `error`; both leave the
/// schedule and start reminder emails. Anything else is retried later with jittered
/// backoff, keeping the current token while it still works.
async fn record_failure(
    app: &App,
    current: Versioned<Connection>,
    credentials: Credentials,
    error: FlowError,
) -> Result<Fresh, ConnectionError> {
    let now = app.now();
    let code = match &error {
        FlowError::ProviderDenied(code) => code.clone(),
        FlowError::TokenExchange(reason) => (*reason).to_owned(),
        other => other.code().to_owned(),
    };
    let mut next = current.value.clone();
    let failure = next.record_refresh_failure(now, &code, permanent(&error));
    app.store
        .update_connection(&Versioned {
            value: next.clone(),
            version: current.version,
        })
        .await?;
    tracing::warn!(error = %code, failures = next.refresh.consecutive_failures, "refresh failed");
    let event = match failure {
        RefreshFailure::NeedsReauth => EventType::NeedsReauth,
        RefreshFailure::Error => EventType::ConnectionError,
        _ => EventType::RefreshFailed,
    };
    webhooks::emit(app, event, &next).await;
    if matches!(failure, RefreshFailure::NeedsReauth | RefreshFailure::Error) {
        crate::reminders::schedule(app, &next).await;
    }
    match failure {
        RefreshFailure::NeedsReauth => Err(ConnectionError::NeedsReauth),
        RefreshFailure::Error => Err(ConnectionError::Errored(code)),
        RefreshFailure::TokenStillValid => Ok(Fresh {
            connection: next,
            credentials,
            renewal: Renewal::KeptAfterFailure,
        }),
        RefreshFailure::Expired => Err(ConnectionError::RefreshFailed(code)),
    }
}

/// Whether retrying cannot help: the provider refused the request itself (an OAuth error
/// other than `temporarily_unavailable`, or another 4xx than 408/429), or the integration
/// or its option is gone. Unreachable, 5xx, throttled and unreadable answers are temporary.
fn permanent(error: &FlowError) -> bool {
    match error {
        FlowError::ProviderDenied(code) => code != "temporarily_unavailable",
        FlowError::TokenExchange(reason) => matches!(*reason, "rejected" | "not_refreshable"),
        FlowError::IntegrationUnavailable | FlowError::InvalidParameter(_) => true,
        _ => false,
    }
}

/// Fetches the next credentials the way the connection's auth option allows.
async fn renew(
    app: &App,
    integration: &Integration,
    connection: &Connection,
    credentials: &Credentials,
) -> Result<(Credentials, Option<i64>), FlowError> {
    let option = integration
        .auth_options
        .iter()
        .find(|o| o.key == connection.auth_option_key)
        .ok_or(FlowError::IntegrationUnavailable)?;
    let params = &connection.parameters;
    match (&option.method, credentials) {
        (
            AuthMethod::Oauth2(method),
            Credentials::Oauth2 {
                refresh_token: Some(refresh_token),
                ..
            },
        ) => {
            let (id, secret) = app_client(app, integration, option)
                .await?
                .ok_or(FlowError::IntegrationUnavailable)?;
            let endpoint = TokenEndpoint::from(method);
            let grant = Grant::RefreshToken(refresh_token);
            let client = Client {
                id: &id,
                secret: secret.as_ref(),
            };
            let tokens = grants::request_token(app, &endpoint, &client, grant, params).await?;
            let expires_at = tokens.expires_at;
            Ok((tokens.renewing(credentials), expires_at))
        }
        (
            AuthMethod::Oauth2ClientCredentials(method),
            Credentials::Oauth2 {
                client_id,
                client_secret,
                ..
            },
        ) => {
            let own = || {
                let id = client_id.clone().ok_or(FlowError::IntegrationUnavailable)?;
                Ok((id, client_secret.clone()))
            };
            grants::client_credentials(app, integration, option, method, own, params).await
        }
        (AuthMethod::CustomToken(method), Credentials::Token { parameters, .. }) => {
            let mut values = params.clone();
            values.extend(
                parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_owned())),
            );
            let (token, expires_at) = grants::custom_token(app, method, &values).await?;
            Ok((
                Credentials::Token {
                    token,
                    expires_at,
                    parameters: parameters.clone(),
                },
                expires_at,
            ))
        }
        _ => Err(FlowError::TokenExchange("not_refreshable")),
    }
}
