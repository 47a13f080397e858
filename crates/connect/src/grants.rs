//! The account's OAuth apps and the token grants that need no browser, used both to
//! connect and to renew a connection.

use std::collections::BTreeMap;

use latchkey_core::App;
use latchkey_domain::FlowError;
use latchkey_domain::Secret;
use latchkey_domain::auth::{ClientCredentials, CustomToken};
use latchkey_domain::{AuthOption, Integration};
use latchkey_domain::{ClientSecret, Credentials, SecretScope};
use latchkey_providers::custom_token;
use latchkey_providers::custom_token::CustomTokenEndpoint;
use latchkey_providers::oauth2;
use latchkey_providers::oauth2::{Client, Grant, TokenEndpoint, TokenSet};

/// The account's OAuth app for an auth option: client id and, from the vault, its secret.
pub async fn app_client(
    app: &App,
    integration: &Integration,
    option: &AuthOption,
) -> Result<Option<(String, Option<Secret>)>, FlowError> {
    let Some(client) = option.method.client() else {
        return Ok(None);
    };
    let secret = match &client.client_secret {
        Some(ClientSecret::Stored(reference)) => {
            let scope = SecretScope::new(
                &integration.account_id,
                format!("{}.{}", integration.id, option.key),
            );
            match app.vault.get(&scope, reference).await? {
                Credentials::ClientSecret { client_secret } => Some(client_secret),
                _ => {
                    return Err(FlowError::internal(
                        "the OAuth app secret has the wrong shape",
                    ));
                }
            }
        }
        Some(ClientSecret::Plain(_)) => {
            return Err(FlowError::internal("an unsealed client secret was stored"));
        }
        None => None,
    };
    Ok(Some((client.client_id.clone(), secret)))
}

/// A token request through the app's one HTTP client, clock and egress policy.
pub async fn request_token(
    app: &App,
    endpoint: &TokenEndpoint<'_>,
    client: &Client<'_>,
    grant: Grant<'_>,
    parameters: &BTreeMap<String, String>,
) -> Result<TokenSet, FlowError> {
    let loopback = app.allow_loopback;
    oauth2::request_token(
        app.http(),
        endpoint,
        client,
        grant,
        parameters,
        loopback,
        app.now(),
    )
    .await
}

/// The client-credentials grant (RFC 6749 §4.4) with the account's OAuth app or, when the
/// integration has none, the consumer's own client from `own`, which is then kept with the
/// credentials so the connection can renew itself. Answers the credentials and their expiry.
pub async fn client_credentials(
    app: &App,
    integration: &Integration,
    option: &AuthOption,
    method: &ClientCredentials,
    own: impl FnOnce() -> Result<(String, Option<Secret>), FlowError>,
    parameters: &BTreeMap<String, String>,
) -> Result<(Credentials, Option<i64>), FlowError> {
    let (id, secret, own) = match app_client(app, integration, option).await? {
        Some((id, secret)) => (id, secret, false),
        None => {
            let (id, secret) = own()?;
            (id, secret, true)
        }
    };
    let endpoint = TokenEndpoint::from(method);
    let grant = Grant::ClientCredentials {
        scopes: &method.scopes,
        separator: &method.scope_separator,
    };
    let client = Client {
        id: &id,
        secret: secret.as_ref(),
    };
    let tokens = request_token(app, &endpoint, &client, grant, parameters).await?;
    let expires_at = tokens.expires_at;
    Ok((
        tokens.into_credentials(own.then_some((id, secret))),
        expires_at,
    ))
}

/// A custom token request, its templates filled from `values` (the connection's
/// parameters, secret ones included). Answers the token and its expiry.
pub async fn custom_token(
    app: &App,
    method: &CustomToken,
    values: &BTreeMap<String, String>,
) -> Result<(Secret, Option<i64>), FlowError> {
    let endpoint = CustomTokenEndpoint {
        url: &method.token_url,
        method: method.token_method,
        params: &method.token_params,
        token_field: &method.token_field,
        expires_in_field: method.expires_in_field.as_deref(),
    };
    custom_token::fetch(app.http(), &endpoint, values, app.allow_loopback, app.now()).await
}
