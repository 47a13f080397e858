//! Installing a connection server-side from credentials the vendor already has (Cyclr's
//! connector install): an API key, `username:password`, or OAuth tokens to import.
//! Optionally verified with one call to the integration's API.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Completion, Issued, complete};
use crate::connections::{Outbound, send};
use latchkey_core::App;
use latchkey_domain::expiry_after;
use latchkey_domain::{
    Account, AuthMethod, AuthOption, Connection, ConnectionId, ConnectionStatus, Consumer,
    Credentials, FieldError, FlowError, InstallConnection, Integration, NewActivation,
    RefreshState, Secret,
};
use latchkey_providers::template::check_parameters;
use latchkey_store::Connections;

/// An installed connection and whether the optional verification call succeeded.
#[derive(Debug)]
pub struct Installed {
    pub connection: Connection,
    pub authenticated: bool,
    /// A pending install's activation link (URL, expiry): its user completes it there.
    pub activation: Option<(url::Url, i64)>,
}

/// Installs `input` as a connection of `consumer` to `integration` (an active one of the
/// consumer's account). Bad input is a [`FlowError::InvalidParameter`] naming its field.
pub async fn install(
    app: &App,
    account: &Account,
    consumer: &Consumer,
    integration: &Integration,
    input: &InstallConnection,
) -> Result<Installed, FlowError> {
    input.validate()?;
    check_parameters(&integration.parameters, &input.parameters).map_err(|e| {
        FieldError::new(
            e.field.replacen("connectionParameters", "parameters", 1),
            e.message,
        )
    })?;
    if input.auth_value.is_none() && input.tokens.is_none() {
        let option = match &input.auth_option_key {
            Some(_) => choose_option(integration, input)?,
            None => integration
                .auth_options
                .first()
                .ok_or_else(|| FieldError::new("integration_id", "has no auth option"))?,
        };
        if !matches!(option.method, AuthMethod::None(_)) {
            return pending(app, consumer, integration, option, input).await;
        }
    }
    let option = choose_option(integration, input)?;
    let issued = issued(option, input, app.now())?;
    let credentials = issued.credentials.clone();
    let connection = complete(
        app,
        Completion {
            account,
            consumer_id: &consumer.id,
            integration,
            auth_option_key: &option.key,
            name: input.name.as_deref().unwrap_or(&integration.name),
            description: input.description.as_deref().map(str::trim),
            parameters: input.parameters.clone(),
            connection_id: None,
            allow_multiple: input.allow_multiple_connections,
            activation_hash: None,
            issued,
        },
    )
    .await?;
    let authenticated = match input
        .verify_path
        .as_ref()
        .or(integration.api.verify_path.as_ref())
    {
        Some(path) => {
            let outbound = Outbound::get(path);
            send(
                app,
                integration,
                (&connection).into(),
                &credentials,
                &outbound,
            )
            .await
            .is_ok_and(|r| r.status().is_success())
        }
        None => false,
    };
    Ok(Installed {
        connection,
        authenticated,
        activation: None,
    })
}

/// Cyclr's order: install first, authenticate in the popup. The connection waits as
/// `pending` (unusable, never refreshed) for the activation link that completes exactly
/// it; both expire together, and the connection is then gone.
async fn pending(
    app: &App,
    consumer: &Consumer,
    integration: &Integration,
    option: &AuthOption,
    input: &InstallConnection,
) -> Result<Installed, FlowError> {
    let now = app.now();
    let name = input.name.as_deref().unwrap_or(&integration.name).trim();
    let connection = Connection {
        id: ConnectionId::generate(),
        account_id: consumer.account_id.clone(),
        consumer_id: consumer.id.clone(),
        integration_id: integration.id.clone(),
        auth_option_key: option.key.clone(),
        name: name.to_owned(),
        description: input.description.as_deref().map(|d| d.trim().to_owned()),
        parameters: input.parameters.clone(),
        status: ConnectionStatus::Pending,
        access_expires_at: None,
        access_issued_at: None,
        refreshable: false,
        metadata: Default::default(),
        refresh: RefreshState::default(),
        credentials: None,
        created_at: now,
        updated_at: now,
    };
    let link = NewActivation {
        name: name.to_owned(),
        integration_id: Some(integration.id.clone()),
        redirect: false,
        connection_id: Some(connection.id.clone()),
        consumer: None,
    };
    link.validate()?;
    app.store.create_connection(&connection).await?;
    let activation =
        latchkey_core::activation::issue(app, &consumer.account_id, &consumer.id, link).await?;
    tracing::info!(connection_id = %connection.id, "connection installed, pending its user");
    Ok(Installed {
        connection,
        authenticated: false,
        activation: Some(activation),
    })
}

fn takes(method: &AuthMethod, input: &InstallConnection) -> bool {
    match method {
        AuthMethod::ApiKey(_) | AuthMethod::Basic(_) => input.auth_value.is_some(),
        AuthMethod::Oauth2(_) | AuthMethod::Oauth2ClientCredentials(_) => input.tokens.is_some(),
        AuthMethod::None(_) => input.auth_value.is_none() && input.tokens.is_none(),
        AuthMethod::CustomToken(_) | AuthMethod::Oauth1(_) => false,
    }
}

fn choose_option<'a>(
    integration: &'a Integration,
    input: &InstallConnection,
) -> Result<&'a AuthOption, FieldError> {
    let option = match &input.auth_option_key {
        Some(key) => integration
            .auth_options
            .iter()
            .find(|o| &o.key == key)
            .ok_or_else(|| {
                FieldError::new(
                    "auth_option_key",
                    "names no auth option of this integration",
                )
            })?,
        None => integration
            .auth_options
            .iter()
            .find(|o| takes(&o.method, input))
            .ok_or_else(|| {
                FieldError::new(
                    if input.tokens.is_some() {
                        "tokens"
                    } else {
                        "auth_value"
                    },
                    "fits none of the integration's auth options",
                )
            })?,
    };
    if !takes(&option.method, input) {
        let field = match option.method {
            AuthMethod::ApiKey(_) | AuthMethod::Basic(_) => "auth_value",
            AuthMethod::Oauth2(_) | AuthMethod::Oauth2ClientCredentials(_) => "tokens",
            _ => "auth_option_key",
        };
        return Err(FieldError::new(
            field,
            match field {
                "auth_option_key" => {
                    "names an auth option that needs the user: send an activation link"
                }
                _ => "is required for this auth option",
            },
        ));
    }
    Ok(option)
}

/// The credentials to store, their expiry, and whether they can be refreshed.
fn issued(option: &AuthOption, input: &InstallConnection, now: i64) -> Result<Issued, FieldError> {
    let value = || {
        input
            .auth_value
            .clone()
            .filter(|v| !v.expose().trim().is_empty() && !v.expose().chars().any(char::is_control))
            .ok_or_else(|| FieldError::new("auth_value", "is required"))
    };
    match &option.method {
        AuthMethod::ApiKey(_) => Ok(Issued::lasting(Credentials::ApiKey { api_key: value()? })),
        AuthMethod::None(_) => Ok(Issued::lasting(Credentials::None {})),
        AuthMethod::Basic(_) => {
            let invalid = || FieldError::new("auth_value", "must be base64 of username:password");
            let decoded = STANDARD
                .decode(value()?.expose().trim())
                .map_err(|_| invalid())?;
            let text = String::from_utf8(decoded).map_err(|_| invalid())?;
            let (username, password) = text.split_once(':').ok_or_else(invalid)?;
            if username.is_empty() {
                return Err(invalid());
            }
            Ok(Issued::lasting(Credentials::Basic {
                username: username.to_owned(),
                password: Secret::from(password),
            }))
        }
        method => {
            let tokens = input
                .tokens
                .as_ref()
                .ok_or_else(|| FieldError::new("tokens", "is required"))?;
            if tokens.access_token.expose().is_empty() {
                return Err(FieldError::new("tokens.access_token", "is required"));
            }
            let expires_at = match tokens.expires_in {
                None => None,
                Some(s) => Some(expiry_after(now, s as f64).ok_or_else(|| {
                    FieldError::new(
                        "tokens.expires_in",
                        "must be a positive number of seconds, at most ten years",
                    )
                })?),
            };
            let refreshable = tokens.refresh_token.is_some()
                || matches!(method, AuthMethod::Oauth2ClientCredentials(m) if m.client.is_some());
            Ok(Issued {
                credentials: Credentials::Oauth2 {
                    access_token: tokens.access_token.clone(),
                    refresh_token: tokens.refresh_token.clone(),
                    token_type: tokens.token_type.clone(),
                    scope: tokens.scope.clone(),
                    expires_at,
                    client_id: None,
                    client_secret: None,
                },
                access_expires_at: expires_at,
                refreshable,
            })
        }
    }
}
