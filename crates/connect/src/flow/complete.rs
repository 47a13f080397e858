//! The end of every successful auth mode: credentials to the vault, the connection created
//! (replacing the consumer's earlier one unless multiple are allowed) or re-authorised, the
//! activation link used up.

use latchkey_store::{Connections, Links};
use std::collections::BTreeMap;

use crate::connections::disconnect;
use latchkey_core::App;
use latchkey_core::webhooks;
use latchkey_domain::FlowError;
use latchkey_domain::error::Chain;
use latchkey_domain::{
    Account, Connection, ConnectionStatus, EventType, FieldError, Integration, RefreshState,
};
use latchkey_domain::{ConnectionId, ConsumerId, Credentials, SecretRef, SecretScope};
use latchkey_store::{StoreError, Versioned};

pub struct Completion<'a> {
    /// The account (its webhook settings: no second read).
    pub account: &'a Account,
    pub consumer_id: &'a ConsumerId,
    pub integration: &'a Integration,
    pub auth_option_key: &'a str,
    pub name: &'a str,
    /// The vendor's note (server-side installs); a re-authorisation keeps the old one.
    pub description: Option<&'a str>,
    pub parameters: BTreeMap<String, String>,
    /// Re-authorise this connection instead of creating one.
    pub connection_id: Option<&'a ConnectionId>,
    pub allow_multiple: bool,
    pub activation_hash: Option<&'a str>,
    pub issued: Issued,
}

/// What an auth mode obtained.
#[derive(Debug)]
pub struct Issued {
    pub credentials: Credentials,
    /// Epoch seconds; `None` when the provider gave no lifetime.
    pub access_expires_at: Option<i64>,
    /// Whether the connection can renew these credentials on its own.
    pub refreshable: bool,
}

impl Issued {
    /// Credentials that do not expire and cannot be renewed (API key, basic, OAuth 1.0a).
    pub fn lasting(credentials: Credentials) -> Self {
        Self {
            credentials,
            access_expires_at: None,
            refreshable: false,
        }
    }

    /// Credentials the connection renews itself (client credentials, custom token).
    pub fn renewable(credentials: Credentials, access_expires_at: Option<i64>) -> Self {
        Self {
            credentials,
            access_expires_at,
            refreshable: true,
        }
    }
}

#[tracing::instrument(
    name = "complete",
    skip_all,
    fields(
        account_id = %c.account.id,
        consumer_id = %c.consumer_id,
        integration_id = %c.integration.id,
        connection_id = tracing::field::Empty,
    )
)]
pub async fn complete(app: &App, mut c: Completion<'_>) -> Result<Connection, FlowError> {
    // Secret parameters live in the vault with the credentials, never on the connection.
    let secret_names: Vec<&str> = c
        .integration
        .parameters
        .iter()
        .filter(|p| p.secret)
        .map(|p| p.name.as_str())
        .collect();
    c.parameters
        .retain(|name, _| !secret_names.contains(&name.as_str()));
    // Single use: of two completions racing on one link, exactly one gets past here.
    if let Some(hash) = c.activation_hash
        && app.store.consume_activation(hash).await?.is_none()
    {
        return Err(FlowError::InvalidLink);
    }
    let now = app.now();
    match c.connection_id {
        Some(id) => {
            let scope = SecretScope::new(&c.account.id, id);
            let reference = store_credentials(app, &scope, &c.issued.credentials, false).await?;
            let next = reauthorise(app, &c, id, reference, now).await?;
            tracing::Span::current().record("connection_id", next.id.as_str());
            tracing::info!("connection re-authorised");
            webhooks::emit_for(app, c.account, EventType::ConnectionUpdated, &next).await;
            Ok(next)
        }
        None => {
            let id = latchkey_domain::ConnectionId::generate();
            let scope = SecretScope::new(&c.account.id, &id);
            let reference = store_credentials(app, &scope, &c.issued.credentials, true).await?;
            let connection = Connection {
                id,
                account_id: c.account.id.clone(),
                consumer_id: c.consumer_id.to_owned(),
                integration_id: c.integration.id.clone(),
                auth_option_key: c.auth_option_key.to_owned(),
                name: c.name.to_owned(),
                description: c.description.map(str::to_owned),
                parameters: c.parameters,
                status: ConnectionStatus::Active,
                access_expires_at: c.issued.access_expires_at,
                access_issued_at: Some(now),
                refreshable: c.issued.refreshable,
                metadata: Default::default(),
                refresh: RefreshState::default(),
                credentials: reference,
                created_at: now,
                updated_at: now,
            };
            if let Err(e) = app.store.create_connection(&connection).await {
                // Credentials without a connection would be kept (and paid for) forever.
                if let Some(reference) = &connection.credentials
                    && let Err(orphan) = app.vault.delete(&scope, reference).await
                {
                    tracing::error!(error = %Chain(&orphan), "credentials of an unwritten connection not deleted");
                }
                return Err(e.into());
            }
            tracing::Span::current().record("connection_id", connection.id.as_str());
            tracing::info!("connection created");
            webhooks::emit_for(app, c.account, EventType::ConnectionCreated, &connection).await;
            if !c.allow_multiple {
                replace_earlier(app, &connection).await?;
            }
            Ok(connection)
        }
    }
}

/// Points the connection at its new credentials. The user's new grant is the newest
/// state: a refresh (or another write) that got in between is applied over, not failed.
async fn reauthorise(
    app: &App,
    c: &Completion<'_>,
    id: &ConnectionId,
    reference: Option<SecretRef>,
    now: i64,
) -> Result<Connection, FlowError> {
    for _ in 0..REAUTHORISE_ATTEMPTS {
        let current = app
            .store
            .connection(&c.account.id, id)
            .await?
            .filter(|v| {
                &v.value.consumer_id == c.consumer_id && v.value.integration_id == c.integration.id
            })
            .ok_or_else(|| {
                FieldError::new(
                    "connectionId",
                    "names no connection of this consumer and integration",
                )
            })?;
        let mut next = current.value;
        next.auth_option_key = c.auth_option_key.to_owned();
        next.parameters.extend(c.parameters.clone());
        next.status = ConnectionStatus::Active;
        next.access_expires_at = c.issued.access_expires_at;
        next.access_issued_at = Some(now);
        next.refreshable = c.issued.refreshable;
        next.refresh = RefreshState::default();
        next.credentials = reference.clone();
        next.updated_at = now;
        let update = Versioned {
            value: next,
            version: current.version,
        };
        match app.store.update_connection(&update).await {
            Ok(_) => return Ok(update.value),
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Stale.into())
}

/// Credentials to the vault; an integration without authentication has none to keep.
/// `new`: the connection is new, so it has no secret yet.
async fn store_credentials(
    app: &App,
    scope: &SecretScope,
    credentials: &Credentials,
    new: bool,
) -> Result<Option<SecretRef>, FlowError> {
    Ok(match credentials {
        Credentials::None {} => None,
        other if new => Some(app.vault.put_new(scope, other).await?),
        other => Some(app.vault.put(scope, other).await?),
    })
}

/// A connection written this often while its user re-authorises is not settling.
const REAUTHORISE_ATTEMPTS: usize = 3;

/// Disconnects the consumer's other connections to the same integration (revoked at the
/// provider where possible, credentials deleted).
async fn replace_earlier(app: &App, kept: &Connection) -> Result<(), FlowError> {
    let mut cursor = None;
    loop {
        let page = app
            .store
            .consumer_connections(
                &kept.account_id,
                &kept.consumer_id,
                Some(&kept.integration_id),
                100,
                cursor.as_ref(),
            )
            .await?;
        for old in page
            .items
            .into_iter()
            .map(|v| v.value)
            .filter(|c| c.id != kept.id)
        {
            disconnect(app, &old).await.map_err(FlowError::internal)?;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}
