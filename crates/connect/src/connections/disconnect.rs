//! Disconnecting: revoke at the provider (RFC 7009) when the integration names a revoke
//! endpoint, then delete the credentials and the connection. A refresh running at the
//! same moment finds the connection gone and removes what it wrote (see `refresh`).

use std::time::Duration;

use latchkey_domain::deadline::budget;
use latchkey_store::{Accounts, Connections, Integrations};

use crate::grants::app_client;
use latchkey_core::App;
use latchkey_core::ConnectionError;
use latchkey_core::webhooks;
use latchkey_domain::auth::OAuth2;
use latchkey_domain::error::Chain;
use latchkey_domain::{AccountId, AuthMethod, Connection, ConsumerId, EventType, IntegrationId};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_providers::oauth2;
use latchkey_providers::oauth2::{Client, Revocable};
use latchkey_store::StoreError;

/// Returns whether the provider confirmed the revocation (`false` when there is nothing
/// to revoke or no revoke endpoint). The connection is deleted either way.
#[tracing::instrument(
    name = "disconnect",
    skip_all,
    fields(account_id = %connection.account_id, connection_id = %connection.id)
)]
pub async fn disconnect(app: &App, connection: &Connection) -> Result<bool, ConnectionError> {
    let scope = SecretScope::new(&connection.account_id, &connection.id);
    let credentials = match &connection.credentials {
        Some(reference) => Some((reference, app.vault.get(&scope, reference).await.ok())),
        None => None,
    };
    // The account (its webhook settings) is read while the provider is asked to revoke.
    let (revoked, account) = tokio::join!(
        async {
            match credentials.as_ref().and_then(|(_, c)| c.as_ref()) {
                Some(c) => revoke(app, connection, c).await,
                None => false,
            }
        },
        app.store.account(&connection.account_id)
    );
    if let Some((reference, _)) = credentials {
        app.vault.delete(&scope, reference).await?;
    }
    match app.store.delete_connection(connection).await {
        Ok(()) | Err(StoreError::Stale) => {}
        Err(e) => return Err(e.into()),
    }
    match account {
        Ok(Some(account)) => {
            webhooks::emit_for(
                app,
                &account.value,
                EventType::ConnectionDeleted,
                connection,
            )
            .await
        }
        Ok(None) => {}
        // The connection is gone either way; the event is the one thing lost.
        Err(e) => tracing::warn!(error = %Chain(&e), "connection.deleted not recorded"),
    }
    Ok(revoked)
}

/// Time one disconnect may take: the revocation call (the token wire's 15 s) and the
/// deletes.
const ONE_DISCONNECT: Duration = Duration::from_secs(16);

/// Whose connections [`disconnect_all`] ends.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Consumer(&'a ConsumerId),
    Integration(&'a IntegrationId),
}

/// Disconnects every connection of a consumer or an integration, pending installs
/// included, each as [`disconnect`] does (revoked, credentials deleted, webhook sent):
/// the one path deleting either owner takes. Answers how many were disconnected; near the
/// invocation's deadline it stops before the next one (`OutOfTime`: the caller retries).
pub async fn disconnect_all(
    app: &App,
    account_id: &AccountId,
    owner: Owner<'_>,
) -> Result<usize, ConnectionError> {
    const PAGE: usize = 100;
    let mut count = 0;
    loop {
        let page = match owner {
            Owner::Consumer(id) => {
                app.store
                    .consumer_connections(account_id, id, None, PAGE, None)
                    .await?
                    .items
            }
            Owner::Integration(id) => {
                app.store
                    .integration_connections(account_id, id, PAGE)
                    .await?
            }
        };
        if page.is_empty() {
            return Ok(count);
        }
        for connection in &page {
            // Never start one that could not finish: a revocation cut short would be
            // skipped for good once the credentials are deleted.
            if budget(ONE_DISCONNECT) < ONE_DISCONNECT {
                return Err(ConnectionError::OutOfTime);
            }
            disconnect(app, &connection.value).await?;
            count += 1;
        }
    }
}

/// RFC 7009: the refresh token when there is one (revoking it ends the grant), else the
/// access token, with the same client authentication as the token endpoint.
async fn revoke(app: &App, connection: &Connection, credentials: &Credentials) -> bool {
    let Credentials::Oauth2 {
        access_token,
        refresh_token,
        ..
    } = credentials
    else {
        return false;
    };
    let Ok(Some(integration)) = app
        .store
        .integration(&connection.account_id, &connection.integration_id)
        .await
    else {
        return false;
    };
    let integration = integration.value;
    let Some(option) = integration
        .auth_options
        .iter()
        .find(|o| o.key == connection.auth_option_key)
    else {
        return false;
    };
    let AuthMethod::Oauth2(OAuth2 {
        revoke_url: Some(revoke_url),
        client_auth,
        ..
    }) = &option.method
    else {
        return false;
    };
    let Ok(Some((client_id, client_secret))) = app_client(app, &integration, option).await else {
        return false;
    };
    let client = Client {
        id: &client_id,
        secret: client_secret.as_ref(),
    };
    let token = match refresh_token {
        Some(r) => Revocable::Refresh(r),
        None => Revocable::Access(access_token),
    };
    let params = &connection.parameters;
    let loopback = app.allow_loopback;
    let revocation = oauth2::revoke(
        app.http(),
        revoke_url,
        *client_auth,
        &client,
        token,
        params,
        loopback,
    );
    match revocation.await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(connection = %connection.id, error = e.code(), detail = %e.data(), "revocation failed");
            false
        }
    }
}
