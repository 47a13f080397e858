//! `callback`: where providers send the browser back (`GET /oauth/callback`). Checks the
//! `state` against the flow stored by the popup and the cookie bound to this browser,
//! checks `iss`, consumes the flow atomically (a replay finds nothing), exchanges the code
//! once, stores the credentials, and sends the browser on with the result.

use std::collections::BTreeMap;

use async_trait::async_trait;
use latchkey_connect::flow::{
    Completion, Ending, OAUTH_CALLBACK_PATH, Outcome, app_client, complete, flow_cookie_name,
};
use latchkey_core::App;
use latchkey_domain::Credentials;
use latchkey_domain::FlowError;
use latchkey_domain::Secret;
use latchkey_domain::token::token_hash;
use latchkey_domain::{AuthMethod, AuthOption, ConnectionFlow, Integration};
use latchkey_pages::respond;
use latchkey_providers::oauth1;
use latchkey_providers::oauth2;
use latchkey_providers::oauth2::{Client, TokenEndpoint};
use latchkey_providers::template::fill_url;
use latchkey_web::{
    ApiError, Handler, Operation, PathParams, Request, Response, StatusCode, query_params,
};

pub struct Callback;

#[async_trait]
impl Handler for Callback {
    async fn handle(
        &self,
        operation: Operation,
        _: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        match operation {
            Operation::OAuthCallback => Ok(callback(app, &request, Protocol::OAuth2).await),
            Operation::OAuth1Callback => Ok(callback(app, &request, Protocol::OAuth1).await),
            _ => Err(ApiError::NotFound("route")),
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn refused(message: &str) -> Response {
    latchkey_pages::error(StatusCode::BAD_REQUEST, "Latchkey", message, None)
}

#[derive(Clone, Copy)]
enum Protocol {
    OAuth2,
    OAuth1,
}

async fn callback(app: &App, request: &Request, protocol: Protocol) -> Response {
    let query: BTreeMap<String, String> = query_params(request).into_iter().collect();
    // OAuth 2.0 brings `state` back; OAuth 1.0a the request token, which keyed the flow.
    let key = match protocol {
        Protocol::OAuth2 => "state",
        Protocol::OAuth1 => "oauth_token",
    };
    let Some(state) = query.get(key).filter(|s| !s.is_empty() && s.len() <= 400) else {
        return refused("This sign-in response is not valid.");
    };
    let state_hash = token_hash(state);
    let cookie_name = flow_cookie_name(&state_hash);
    // Read first, consume only once this browser is shown to be the one that started it,
    // so a forged or cookieless callback changes nothing.
    let flow = match app.store.flow(&state_hash).await {
        Ok(Some(flow)) => flow,
        Ok(None) => {
            return refused("This sign-in has expired or was already used. Please start again.");
        }
        Err(e) => return internal(&FlowError::from(e)),
    };
    let (binding, token) = match cookie(request, &cookie_name)
        .and_then(|c| c.split_once('.').map(|(b, t)| (b.to_owned(), t.to_owned())))
    {
        Some(parts) => parts,
        None => {
            return refused(
                "This sign-in was started in another browser. Please start again from the same window.",
            );
        }
    };
    if token_hash(&binding) != flow.browser_binding {
        return refused(
            "This sign-in was started in another browser. Please start again from the same window.",
        );
    }
    let flow = match app.store.consume_flow(&state_hash).await {
        Ok(Some(flow)) => flow,
        Ok(None) => {
            return refused("This sign-in has expired or was already used. Please start again.");
        }
        Err(e) => return internal(&FlowError::from(e)),
    };
    let account = match app.store.account(&flow.account_id).await {
        Ok(Some(a)) => a.value,
        Ok(None) => return refused("This sign-in is no longer valid."),
        Err(e) => return internal(&FlowError::from(e)),
    };
    let ending = Ending {
        target: flow
            .redirect_target
            .as_deref()
            .and_then(|t| url::Url::parse(t).ok()),
        target_origin: flow.target_origin.clone(),
        custom_state: flow.custom_state.clone(),
        is_update: flow.connection_id.is_some(),
        redirect: flow.redirect_after,
        from_marketplace: flow.from_marketplace,
        append_result_params: account.append_result_params,
    };
    let finished = match protocol {
        Protocol::OAuth2 => finish_flow(app, &flow, &query).await,
        Protocol::OAuth1 => finish_oauth1(app, &flow, &query).await,
    };
    let outcome = match finished {
        Ok(connection_id) => Outcome::Connected { connection_id },
        Err(e) => {
            if let FlowError::Internal(detail) = &e {
                tracing::error!(error = %detail, "OAuth callback failed");
            }
            Outcome::Failed(e)
        }
    };
    let retry = format!("/connect/{token}?integrationId={}", flow.integration_id);
    let mut response = respond(
        &account.name,
        &ending,
        outcome,
        Some(retry),
        format!("/connect/{token}"),
    );
    let clear = format!("{cookie_name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
    if let Ok(value) = clear.parse() {
        response.headers_mut().append("set-cookie", value);
    }
    response
}

async fn finish_flow(
    app: &App,
    flow: &ConnectionFlow,
    query: &BTreeMap<String, String>,
) -> Result<String, FlowError> {
    if let Some(error) = query.get("error") {
        return Err(FlowError::provider(error));
    }
    let (integration, option) = flow_integration(app, flow).await?;
    let AuthMethod::Oauth2 {
        token_url,
        token_method,
        client_auth,
        token_params,
        capture,
        issuer,
        ..
    } = &option.method
    else {
        return Err(FlowError::IntegrationUnavailable);
    };
    if let (Some(expected), Some(got)) = (issuer, query.get("iss"))
        && expected != got
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
    let redirect_uri = app
        .public_url
        .join(OAUTH_CALLBACK_PATH)
        .map_err(|e| FlowError::Internal(e.to_string()))?;
    let mut grant = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.clone()),
        ("redirect_uri", redirect_uri.to_string()),
    ];
    if let Some(verifier) = &flow.pkce_verifier {
        grant.push(("code_verifier", verifier.expose().to_owned()));
    }
    let endpoint = TokenEndpoint {
        url: token_url,
        method: *token_method,
        client_auth: *client_auth,
        extra_params: token_params,
    };
    let tokens = oauth2::request_token(
        app.http(),
        &endpoint,
        &Client {
            id: &client_id,
            secret: secret.as_ref(),
        },
        grant,
        &flow.parameters,
        app.allow_loopback,
        app.store.now(),
    )
    .await?;
    let mut parameters = flow.parameters.clone();
    oauth2::capture(
        capture,
        &tokens.extra,
        query,
        &integration.parameters,
        &mut parameters,
    )?;
    let expires_at = tokens.expires_at;
    let refreshable = tokens.refresh_token.is_some();
    let connection = complete(
        app,
        Completion {
            account_id: &flow.account_id,
            consumer_id: &flow.consumer_id,
            integration: &integration,
            auth_option_key: &option.key,
            name: &flow.name,
            parameters,
            connection_id: flow.connection_id.as_deref(),
            allow_multiple: flow.allow_multiple_connections,
            activation_hash: flow.activation_hash.as_deref(),
            credentials: tokens.into_credentials(None),
            access_expires_at: expires_at,
            refreshable,
        },
    )
    .await?;
    Ok(connection.id)
}

/// OAuth 1.0a: the verifier and the request token buy the access token.
async fn finish_oauth1(
    app: &App,
    flow: &ConnectionFlow,
    query: &BTreeMap<String, String>,
) -> Result<String, FlowError> {
    let Some(verifier) = query.get("oauth_verifier").filter(|v| !v.is_empty()) else {
        return Err(FlowError::provider("access_denied"));
    };
    let (integration, option) = flow_integration(app, flow).await?;
    let AuthMethod::Oauth1 {
        access_token_url, ..
    } = &option.method
    else {
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
    let url = fill_url(access_token_url, &flow.parameters, app.allow_loopback)?;
    let fields = oauth1::token_request(
        app.http(),
        &url,
        &oauth1::Consumer {
            key: &key,
            secret: secret.expose(),
        },
        Some((&request_token, request_secret.expose())),
        &[("oauth_verifier", verifier)],
        app.store.now(),
    )
    .await?;
    let (token, token_secret) = oauth1::token_pair(&fields);
    let connection = complete(
        app,
        Completion {
            account_id: &flow.account_id,
            consumer_id: &flow.consumer_id,
            integration: &integration,
            auth_option_key: &option.key,
            name: &flow.name,
            parameters: flow.parameters.clone(),
            connection_id: flow.connection_id.as_deref(),
            allow_multiple: flow.allow_multiple_connections,
            activation_hash: flow.activation_hash.as_deref(),
            credentials: Credentials::Oauth1 {
                token: Secret::new(token),
                token_secret,
            },
            access_expires_at: None,
            refreshable: false,
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

fn internal(e: &FlowError) -> Response {
    tracing::error!(error = %e, "OAuth callback failed");
    latchkey_pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Latchkey",
        "Something went wrong. Please try again.",
        None,
    )
}
