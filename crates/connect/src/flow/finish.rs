//! The end of a redirect-based flow, where the provider sends the browser back: the
//! `state` (or OAuth 1.0a request token) finds the stored flow, the cookie proves this is
//! the browser that started it, the flow is consumed atomically (a replay finds nothing),
//! the code or verifier is exchanged once, and the connection completes.

use latchkey_store::{Accounts, Integrations, Links as _};
use std::collections::BTreeMap;

use super::flow_cookie_name;
use super::{Completion, Conclusion, Ending, Issued, Links, Outcome};
use super::{complete, conclude};
use crate::grants::{self, app_client};
use latchkey_core::App;
use latchkey_domain::token::token_hash;
use latchkey_domain::{Account, ConnectionId, Integration, Secret};
use latchkey_domain::{AuthMethod, AuthOption, ConnectionFlow, Credentials, FlowError};
use latchkey_providers::oauth2::{Client, Grant, TokenEndpoint};
use latchkey_providers::template::fill_url;
use latchkey_providers::{oauth1, oauth2};

/// Which protocol answered: OAuth 2.0 brings `state` back; OAuth 1.0a the request token,
/// which keyed the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    OAuth2,
    OAuth1,
}

impl Protocol {
    fn of(query: &BTreeMap<String, String>) -> (Self, Option<&String>) {
        match query.get("state") {
            Some(state) => (Protocol::OAuth2, Some(state)),
            None => (Protocol::OAuth1, query.get("oauth_token")),
        }
    }
}

/// Why a callback cannot be tied to a flow. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No usable `state` in the request.
    Malformed,
    /// No such flow: expired, or already used.
    Expired,
    /// The flow cookie is missing or does not match: another browser started it.
    OtherBrowser,
    /// The flow's account is gone.
    Gone,
}

/// How a callback ended.
#[derive(Debug)]
pub enum Finished {
    Refused(Refusal),
    /// The attempt ended (connected or failed): tell the vendor as `ending` says.
    Ended(Box<Ended>),
}

#[derive(Debug)]
pub struct Ended {
    /// Whose pages these are (name and branding).
    pub account: Account,
    pub outcome: Outcome,
    pub conclusion: Conclusion,
    /// "Try again" and "Cancel" start from the original link again; "Back to the list"
    /// is its marketplace.
    pub links: Links,
    /// The flow cookie to clear.
    pub cookie_name: String,
}

/// Finishes the flow the callback `query` names, arrived at `integration_id`'s redirect
/// URI ([`App::callback_url`]). `cookie(name)` reads a request cookie. `Err` is an
/// internal failure before the flow could be tied to an ending.
#[tracing::instrument(
    name = "callback",
    skip_all,
    fields(account_id = tracing::field::Empty, integration_id = tracing::field::Empty)
)]
pub async fn finish(
    app: &App,
    integration_id: &str,
    query: &BTreeMap<String, String>,
    cookie: impl Fn(&str) -> Option<String>,
) -> Result<Finished, FlowError> {
    let (protocol, state) = Protocol::of(query);
    let Some(state) = state.filter(|s| !s.is_empty() && s.len() <= 400) else {
        return Ok(Finished::Refused(Refusal::Malformed));
    };
    let state_hash = token_hash(state);
    let cookie_name = flow_cookie_name(app, &state_hash);
    // Read first, consume only once this browser is shown to be the one that started it,
    // so a forged or cookieless callback changes nothing.
    let Some(flow) = app.store.flow(&state_hash).await? else {
        return Ok(Finished::Refused(Refusal::Expired));
    };
    let Some((binding, token)) = cookie(&cookie_name)
        .and_then(|c| c.split_once('.').map(|(b, t)| (b.to_owned(), t.to_owned())))
    else {
        return Ok(Finished::Refused(Refusal::OtherBrowser));
    };
    if token_hash(&binding) != flow.browser_binding {
        return Ok(Finished::Refused(Refusal::OtherBrowser));
    }
    let Some(mut flow) = app.store.consume_flow(&state_hash).await? else {
        return Ok(Finished::Refused(Refusal::Expired));
    };
    super::sealed::open(&mut flow, &binding)?;
    // Independent reads, at once.
    let (account, integration) = tokio::join!(
        app.store.account(&flow.account_id),
        flow_integration(app, &flow)
    );
    let Some(account) = account? else {
        return Ok(Finished::Refused(Refusal::Gone));
    };
    let account = account.value;
    let span = tracing::Span::current();
    span.record("account_id", account.id.as_str());
    span.record("integration_id", flow.integration_id.as_str());
    let ending = Ending {
        target: flow
            .redirect_target
            .as_deref()
            .and_then(|t| url::Url::parse(t).ok()),
        target_origin: flow.target_origin.clone(),
        callback_message: flow.callback_message.clone(),
        custom_state: flow.custom_state.clone(),
        is_update: flow.connection_id.is_some(),
        redirect: flow.redirect_after,
        from_marketplace: flow.from_marketplace,
        append_result_params: account.append_result_params,
    };
    // An answer at another integration's redirect URI was issued for that integration's
    // provider: exchanging it here would hand its code to this flow's token endpoint.
    let exchanged = match protocol {
        _ if flow.integration_id != integration_id => Err(FlowError::IssuerMismatch),
        Protocol::OAuth2 => exchange_code(app, &account, &flow, integration, query).await,
        Protocol::OAuth1 => exchange_verifier(app, &account, &flow, integration, query).await,
    };
    let outcome = match exchanged {
        Ok(connection_id) => Outcome::Connected { connection_id },
        Err(e) => Outcome::Failed(e),
    };
    let conclusion = conclude(app, &account.id, &flow.consumer_id, &ending, &outcome).await?;
    let retry = format!("/connect/{token}?integrationId={}", flow.integration_id);
    Ok(Finished::Ended(Box::new(Ended {
        account,
        outcome,
        conclusion,
        links: Links {
            cancel: format!("{retry}&cancel=true"),
            retry,
            marketplace: format!("/connect/{token}"),
        },
        cookie_name,
    })))
}

/// OAuth 2.0: the provider's answer checked (`error`, `iss`), the code exchanged with the
/// PKCE verifier, captures taken, the connection completed.
async fn exchange_code(
    app: &App,
    account: &Account,
    flow: &ConnectionFlow,
    integration: Result<(Integration, AuthOption), FlowError>,
    query: &BTreeMap<String, String>,
) -> Result<ConnectionId, FlowError> {
    if let Some(error) = query.get("error") {
        return Err(FlowError::provider(error));
    }
    let (integration, option) = integration?;
    // The integration may have changed since the flow began.
    let AuthMethod::Oauth2(method) = &option.method else {
        return Err(FlowError::IntegrationUnavailable);
    };
    // RFC 9207: a response from another issuer is a mix-up attack. Naming the issuer
    // says the provider sends `iss` (§2.4), so an answer without one is refused too.
    if let Some(expected) = &method.issuer
        && query.get("iss") != Some(expected)
    {
        return Err(FlowError::IssuerMismatch);
    }
    let code = query
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or(FlowError::provider("invalid_request"))?;
    let (client_id, secret) = app_client(app, &integration, &option)
        .await?
        .ok_or(FlowError::IntegrationUnavailable)?;
    let redirect_uri = app.callback_url(&integration.id);
    let grant = Grant::AuthorizationCode {
        code: code.as_str(),
        redirect_uri: redirect_uri.as_str(),
        pkce_verifier: flow.pkce_verifier.as_ref(),
    };
    let endpoint = TokenEndpoint::from(method);
    let client = Client {
        id: &client_id,
        secret: secret.as_ref(),
    };
    let tokens = grants::request_token(app, &endpoint, &client, grant, &flow.parameters).await?;
    let mut parameters = flow.parameters.clone();
    oauth2::capture(
        &method.capture,
        &tokens.extra,
        query,
        &integration.parameters,
        &mut parameters,
    )?;
    let issued = Issued {
        access_expires_at: tokens.expires_at,
        refreshable: tokens.refresh_token.is_some(),
        credentials: tokens.into_credentials(None),
    };
    completed(
        app,
        account,
        flow,
        &integration,
        &option,
        parameters,
        issued,
    )
    .await
}

/// OAuth 1.0a: the verifier and the request token buy the access token.
async fn exchange_verifier(
    app: &App,
    account: &Account,
    flow: &ConnectionFlow,
    integration: Result<(Integration, AuthOption), FlowError>,
    query: &BTreeMap<String, String>,
) -> Result<ConnectionId, FlowError> {
    let Some(verifier) = query.get("oauth_verifier").filter(|v| !v.is_empty()) else {
        return Err(FlowError::provider("access_denied"));
    };
    let (integration, option) = integration?;
    let AuthMethod::Oauth1(method) = &option.method else {
        return Err(FlowError::IntegrationUnavailable);
    };
    let (key, secret) = app_client(app, &integration, &option)
        .await?
        .ok_or(FlowError::IntegrationUnavailable)?;
    let secret = secret.ok_or(FlowError::IntegrationUnavailable)?;
    let request_token = query.get("oauth_token").cloned().unwrap_or_default();
    let request_secret = flow
        .request_token_secret
        .as_ref()
        .ok_or(FlowError::InvalidState)?;
    let url = fill_url(
        &method.access_token_url,
        &flow.parameters,
        app.allow_loopback,
    )?;
    let consumer = oauth1::Consumer {
        key: &key,
        secret: secret.expose(),
    };
    let fields = oauth1::token_request(
        app.http(),
        &url,
        &consumer,
        Some((&request_token, request_secret.expose())),
        &[("oauth_verifier", verifier)],
        app.now(),
    )
    .await?;
    let (token, token_secret) = oauth1::token_pair(&fields);
    let issued = Issued {
        credentials: Credentials::Oauth1 {
            token: Secret::new(token),
            token_secret,
        },
        access_expires_at: None,
        refreshable: false,
    };
    let parameters = flow.parameters.clone();
    completed(
        app,
        account,
        flow,
        &integration,
        &option,
        parameters,
        issued,
    )
    .await
}

async fn completed(
    app: &App,
    account: &Account,
    flow: &ConnectionFlow,
    integration: &Integration,
    option: &AuthOption,
    parameters: BTreeMap<String, String>,
    issued: Issued,
) -> Result<ConnectionId, FlowError> {
    let connection = complete(
        app,
        Completion {
            account,
            consumer_id: &flow.consumer_id,
            integration,
            auth_option_key: &option.key,
            name: &flow.name,
            description: None,
            parameters,
            connection_id: flow.connection_id.as_ref(),
            allow_multiple: flow.allow_multiple_connections,
            activation_hash: flow.activation_hash.as_deref(),
            issued,
        },
    )
    .await?;
    Ok(connection.id)
}

/// The integration and auth option a flow was started with.
async fn flow_integration(
    app: &App,
    flow: &ConnectionFlow,
) -> Result<(Integration, AuthOption), FlowError> {
    let integration = app
        .store
        .integration(&flow.account_id, &flow.integration_id)
        .await?
        .ok_or(FlowError::IntegrationUnavailable)?
        .value;
    let option = integration
        .auth_option(&flow.auth_option_key)
        .ok_or(FlowError::IntegrationUnavailable)?
        .clone();
    Ok((integration, option))
}
