//! Connecting: the popup's one entry point once the consumer has chosen an auth option and
//! given what it asks for. Redirect-based modes (OAuth 2.0, OAuth 1.0a) store the flow
//! and answer where to send the browser; the callback finishes them (`finish`). Every
//! other mode connects here and now.

use latchkey_store::Links;
use std::collections::BTreeMap;

use super::flow_cookie_name;
use super::{Completion, Issued, Start, complete};
use crate::connections::{Caller, Outbound, send};
use crate::grants::{self, app_client};
use latchkey_core::App;
use latchkey_domain::auth::{OAuth1, OAuth2};
use latchkey_domain::token::{new_token, token_hash};
use latchkey_domain::{
    AuthMethod, AuthOption, CONNECTION_FLOW_TTL_SECONDS, ConnectionFlow, ConnectionId, Credentials,
    FieldError, FlowError, Integration, Secret,
};
use latchkey_providers::pkce::Pkce;
use latchkey_providers::template::fill_url;
use latchkey_providers::{oauth1, oauth2};

/// What connecting led to.
#[derive(Debug)]
pub enum Step {
    /// Off to the provider; the callback finishes.
    Redirect(Redirect),
    /// Connected: the connection's id.
    Done(ConnectionId),
}

/// Where to send the browser, and the cookie that binds the stored flow to it.
#[derive(Debug)]
pub struct Redirect {
    pub url: url::Url,
    pub cookie: FlowCookie,
}

/// The flow cookie: `{browser binding}.{start token}`. The callback needs the binding;
/// "Try again" needs the link, which the browser had.
#[derive(Debug)]
pub struct FlowCookie {
    pub name: String,
    pub value: String,
    pub max_age_seconds: i64,
}

/// Connects `start`'s consumer to `integration` with `option`, given the parameters and
/// the submitted credential fields (`form`, by [`AuthMethod::credential_fields`] names).
#[tracing::instrument(
    name = "connect",
    skip_all,
    fields(
        account_id = %start.account.id,
        consumer_id = %start.consumer.id,
        integration_id = %integration.id,
        auth_option = %option.key,
    )
)]
pub async fn connect(
    app: &App,
    start: &Start,
    integration: &Integration,
    option: &AuthOption,
    parameters: BTreeMap<String, String>,
    form: &BTreeMap<String, String>,
) -> Result<Step, FlowError> {
    let issued = match &option.method {
        AuthMethod::Oauth2(method) => {
            return begin_oauth2(app, start, integration, option, method, parameters)
                .await
                .map(Step::Redirect);
        }
        AuthMethod::Oauth1(method) => {
            return begin_oauth1(app, start, integration, option, method, parameters)
                .await
                .map(Step::Redirect);
        }
        AuthMethod::ApiKey(_) => {
            let credentials = Credentials::ApiKey {
                api_key: required(form, "api_key")?,
            };
            verify(
                app,
                integration,
                option,
                &parameters,
                &credentials,
                "api_key",
            )
            .await?;
            Issued::lasting(credentials)
        }
        AuthMethod::Basic(_) => {
            let username = required(form, "username")?.expose().to_owned();
            let password = required(form, "password")?;
            let credentials = Credentials::Basic { username, password };
            verify(
                app,
                integration,
                option,
                &parameters,
                &credentials,
                "password",
            )
            .await?;
            Issued::lasting(credentials)
        }
        AuthMethod::None(_) => Issued::lasting(Credentials::None {}),
        AuthMethod::Oauth2ClientCredentials(method) => {
            let own = || {
                let id = required(form, "client_id")?.expose().to_owned();
                Ok((id, Some(required(form, "client_secret")?)))
            };
            let (credentials, expires_at) =
                grants::client_credentials(app, integration, option, method, own, &parameters)
                    .await?;
            Issued::renewable(credentials, expires_at)
        }
        AuthMethod::CustomToken(method) => {
            let (token, expires_at) = grants::custom_token(app, method, &parameters).await?;
            // Secret parameters travel with the credentials, never on the connection.
            let secret_parameters = integration
                .parameters
                .iter()
                .filter(|p| p.secret)
                .filter_map(|p| {
                    parameters
                        .get(&p.name)
                        .map(|v| (p.name.clone(), Secret::from(v.as_str())))
                })
                .collect();
            let credentials = Credentials::Token {
                token,
                expires_at,
                parameters: secret_parameters,
            };
            Issued::renewable(credentials, expires_at)
        }
    };
    let reauthorised = start.connection_id();
    let connection = complete(
        app,
        Completion {
            account: &start.account,
            consumer_id: &start.consumer.id,
            integration,
            auth_option_key: &option.key,
            name: start.name(),
            description: None,
            parameters,
            connection_id: reauthorised.as_ref(),
            allow_multiple: start.request.allow_multiple_connections,
            activation_hash: start.grant.activation_hash.as_deref(),
            issued,
        },
    )
    .await?;
    Ok(Step::Done(connection.id))
}

fn required(form: &BTreeMap<String, String>, name: &'static str) -> Result<Secret, FlowError> {
    form.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
        .map(Secret::from)
        .ok_or_else(|| FieldError::new(name, "is required").into())
}

/// Typed credentials checked at the provider before they are kept, when the integration
/// names a verification path: a 401 or 403 is the consumer's mistake and re-asks `field`.
async fn verify(
    app: &App,
    integration: &Integration,
    option: &AuthOption,
    parameters: &BTreeMap<String, String>,
    credentials: &Credentials,
    field: &str,
) -> Result<(), FlowError> {
    let Some(path) = &integration.api.verify_path else {
        return Ok(());
    };
    let caller = Caller {
        parameters,
        auth_option_key: &option.key,
    };
    match send(app, integration, caller, credentials, &Outbound::get(path)).await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) if matches!(r.status().as_u16(), 401 | 403) => Err(FieldError::new(
            field,
            format!(
                "was not accepted by {}; check it and try again",
                integration.name
            ),
        )
        .into()),
        Ok(_) | Err(_) => Err(FlowError::TokenExchange("verification_failed")),
    }
}

/// OAuth 2.0: the flow under the hash of a fresh `state`, then the browser to the
/// provider's authorization endpoint (PKCE S256 unless the integration turns it off).
async fn begin_oauth2(
    app: &App,
    start: &Start,
    integration: &Integration,
    option: &AuthOption,
    method: &OAuth2,
    parameters: BTreeMap<String, String>,
) -> Result<Redirect, FlowError> {
    let (client_id, _) = app_client(app, integration, option)
        .await?
        .ok_or(FlowError::IntegrationUnavailable)?;
    let state = new_token("");
    let pkce = method.pkce.then(Pkce::new);
    let redirect_uri = app.callback_url(&integration.id);
    let url = oauth2::authorization_url(
        &method.authorization_url,
        &client_id,
        redirect_uri.as_str(),
        &method.scopes,
        &method.scope_separator,
        state.expose(),
        pkce.as_ref(),
        &method.authorization_params,
        &parameters,
        app.allow_loopback,
    )?;
    let pending = Pending {
        key: state.expose(),
        pkce_verifier: pkce.map(|p| p.verifier),
        request_token_secret: None,
    };
    store_flow(app, start, integration, option, parameters, pending, url).await
}

/// OAuth 1.0a: a signed request-token call, then the browser to the provider with the
/// request token, which keys the flow (the provider sends it back with the verifier).
async fn begin_oauth1(
    app: &App,
    start: &Start,
    integration: &Integration,
    option: &AuthOption,
    method: &OAuth1,
    parameters: BTreeMap<String, String>,
) -> Result<Redirect, FlowError> {
    let (key, secret) = app_client(app, integration, option)
        .await?
        .ok_or(FlowError::IntegrationUnavailable)?;
    let secret = secret.ok_or(FlowError::IntegrationUnavailable)?;
    let callback = app.callback_url(&integration.id);
    let request_url = fill_url(&method.request_token_url, &parameters, app.allow_loopback)?;
    let consumer = oauth1::Consumer {
        key: &key,
        secret: secret.expose(),
    };
    let fields = oauth1::token_request(
        app.http(),
        &request_url,
        &consumer,
        None,
        &[("oauth_callback", callback.as_str())],
        app.now(),
    )
    .await?;
    let (request_token, request_token_secret) = oauth1::token_pair(&fields);
    let mut url = fill_url(&method.authorization_url, &parameters, app.allow_loopback)?;
    url.query_pairs_mut()
        .append_pair("oauth_token", &request_token);
    let pending = Pending {
        key: &request_token,
        pkce_verifier: None,
        request_token_secret: Some(request_token_secret),
    };
    store_flow(app, start, integration, option, parameters, pending, url).await
}

/// What a redirect-based flow keeps until its callback.
struct Pending<'a> {
    /// What the callback brings back (`state`, or the OAuth 1.0a request token); only
    /// its hash is stored.
    key: &'a str,
    pkce_verifier: Option<Secret>,
    request_token_secret: Option<Secret>,
}

/// Stores the flow and binds it to this browser.
async fn store_flow(
    app: &App,
    start: &Start,
    integration: &Integration,
    option: &AuthOption,
    parameters: BTreeMap<String, String>,
    pending: Pending<'_>,
    url: url::Url,
) -> Result<Redirect, FlowError> {
    let state_hash = token_hash(pending.key);
    let binding = new_token("");
    let now = app.now();
    let ending = &start.ending;
    let mut flow = ConnectionFlow {
        state_hash: state_hash.clone(),
        browser_binding: token_hash(binding.expose()),
        account_id: start.account.id.clone(),
        consumer_id: start.consumer.id.clone(),
        integration_id: integration.id.clone(),
        auth_option_key: option.key.clone(),
        name: start.name().to_owned(),
        connection_id: start.connection_id(),
        activation_hash: start.grant.activation_hash.clone(),
        parameters,
        pkce_verifier: pending.pkce_verifier,
        request_token_secret: pending.request_token_secret,
        redirect_target: ending.target.as_ref().map(|u| u.to_string()),
        target_origin: ending.target_origin.clone(),
        callback_message: ending.callback_message.clone(),
        custom_state: ending.custom_state.clone(),
        allow_multiple_connections: start.request.allow_multiple_connections,
        from_marketplace: ending.from_marketplace,
        redirect_after: ending.redirect,
        created_at: now,
        expires_at: now + CONNECTION_FLOW_TTL_SECONDS,
        sealed: None,
    };
    super::sealed::seal(&mut flow, binding.expose(), |name| {
        integration
            .parameters
            .iter()
            .any(|p| p.secret && p.name == name)
    });
    app.store.create_flow(&flow).await?;
    Ok(Redirect {
        url,
        cookie: FlowCookie {
            name: flow_cookie_name(app, &state_hash),
            value: format!("{}.{}", binding.expose(), start.token),
            max_age_seconds: CONNECTION_FLOW_TTL_SECONDS,
        },
    })
}
