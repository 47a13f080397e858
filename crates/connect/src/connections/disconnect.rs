//! Disconnecting: revoke at the provider (RFC 7009) when the integration names a revoke
//! endpoint, then delete the credentials and the connection. A refresh running at the
//! same moment finds the connection gone and removes what it wrote (see `refresh`).

use latchkey_store::{Connections, Integrations};
use std::time::Duration;

use crate::grants::app_client;
use latchkey_core::App;
use latchkey_core::ConnectionError;
use latchkey_core::webhooks;
use latchkey_domain::auth::OAuth2;
use latchkey_domain::{AuthMethod, ClientAuth, Connection, EventType};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_providers::oauth2::{Client, basic_client_auth};
use latchkey_providers::template::fill_url;
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
    let revoked = match credentials.as_ref().and_then(|(_, c)| c.as_ref()) {
        Some(c) => revoke(app, connection, c).await,
        None => false,
    };
    if let Some((reference, _)) = credentials {
        app.vault.delete(&scope, reference).await?;
    }
    match app.store.delete_connection(connection).await {
        Ok(()) | Err(StoreError::Stale) => {}
        Err(e) => return Err(e.into()),
    }
    webhooks::emit(app, EventType::ConnectionDeleted, connection).await;
    Ok(revoked)
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
    let Ok(url) = fill_url(revoke_url, &connection.parameters, app.allow_loopback) else {
        return false;
    };
    let (token, hint) = match refresh_token {
        Some(r) => (r, "refresh_token"),
        None => (access_token, "access_token"),
    };
    let mut form = vec![
        ("token", token.expose().to_owned()),
        ("token_type_hint", hint.to_owned()),
    ];
    let mut request = app.http().post(url).timeout(Duration::from_secs(10));
    match client_auth {
        ClientAuth::Body => {
            form.push(("client_id", client_id));
            if let Some(s) = &client_secret {
                form.push(("client_secret", s.expose().to_owned()));
            }
        }
        ClientAuth::Basic => {
            let client = Client {
                id: &client_id,
                secret: client_secret.as_ref(),
            };
            request = request.header("authorization", basic_client_auth(&client));
        }
    }
    match request.form(&form).send().await {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            tracing::warn!(connection = %connection.id, status = r.status().as_u16(), "revocation refused");
            false
        }
        Err(_) => {
            tracing::warn!(connection = %connection.id, "revocation endpoint unreachable");
            false
        }
    }
}
