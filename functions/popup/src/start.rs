use std::collections::BTreeMap;

use latchkey_connect::flow::workspace_token;
use latchkey_connect::flow::{
    Completion, Ending, OAUTH_CALLBACK_PATH, OAUTH1_CALLBACK_PATH, Outcome, RedirectPolicy,
    app_client, complete, flow_cookie_name, grants,
};
use latchkey_core::App;
use latchkey_domain::Credentials;
use latchkey_domain::FlowError;
use latchkey_domain::Secret;
use latchkey_domain::token::{new_token, token_hash};
use latchkey_domain::{
    Account, Activation, AuthMethod, AuthOption, CONNECTION_FLOW_TTL_SECONDS, ConnectionFlow,
    Consumer, FieldError, Integration, IntegrationStatus,
};
use latchkey_pages::FormField;
use latchkey_pages::respond;
use latchkey_providers::oauth1;
use latchkey_providers::oauth2;
use latchkey_providers::pkce::Pkce;
use latchkey_providers::template::{check_parameters, fill_url};
use latchkey_web::{Request, Response, StatusCode};
use serde_json::Value;

/// The start parameters, with Integration.App's names. `connectionParameters` is an
/// object, or a JSON string when it comes in a query string.
#[derive(Debug, Clone, Default)]
pub struct StartInput {
    pub integration_id: Option<String>,
    pub integration_key: Option<String>,
    pub connection_parameters: BTreeMap<String, String>,
    pub connection_id: Option<String>,
    pub name: Option<String>,
    pub auth_option_key: Option<String>,
    pub allow_multiple_connections: bool,
    pub custom_state: Option<String>,
    pub token: Option<String>,
    pub redirect_uri: Option<String>,
    pub target_origin: Option<String>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl StartInput {
    fn from_value(v: &Value) -> Self {
        let get = |k: &str| v.get(k).and_then(text);
        let parameters = match v.get("connectionParameters") {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).unwrap_or(Value::Null),
            Some(other) => other.clone(),
            None => Value::Null,
        };
        Self {
            integration_id: get("integrationId"),
            integration_key: get("integrationKey"),
            connection_parameters: parameters
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| text(v).map(|t| (k.clone(), t)))
                        .collect()
                })
                .unwrap_or_default(),
            connection_id: get("connectionId"),
            name: get("name"),
            auth_option_key: get("authOptionKey"),
            allow_multiple_connections: get("allowMultipleConnections")
                .is_some_and(|b| b == "true"),
            custom_state: get("customState"),
            token: get("token"),
            redirect_uri: get("redirectUri"),
            target_origin: get("targetOrigin"),
        }
    }

    pub fn from_query(query: &std::collections::HashMap<String, String>) -> Self {
        let object: serde_json::Map<String, Value> = query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Self::from_value(&Value::Object(object))
    }

    /// A JSON body, or a form body whose `payload` field holds the JSON; query
    /// parameters fill what the body leaves out.
    pub fn from_body(request: &Request, query: &std::collections::HashMap<String, String>) -> Self {
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body: &[u8] = request.body().as_ref();
        let value = if content_type.starts_with("application/x-www-form-urlencoded") {
            url::form_urlencoded::parse(body)
                .find(|(k, _)| k == "payload")
                .and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok())
        } else {
            serde_json::from_slice::<Value>(body).ok()
        };
        let mut merged: serde_json::Map<String, Value> = query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if let Some(Value::Object(fields)) = value {
            merged.extend(fields);
        }
        Self::from_value(&Value::Object(merged))
    }
}

/// What the start's token grants.
struct Grant {
    /// Set for activation links: consumed when a connection completes.
    activation_hash: Option<String>,
    name: String,
    redirect: bool,
    integration_id: Option<String>,
    connection_id: Option<String>,
}

impl Grant {
    fn of_activation(a: Activation) -> Self {
        Self {
            activation_hash: Some(a.token_hash),
            name: a.name,
            redirect: a.redirect,
            integration_id: a.integration_id,
            connection_id: a.connection_id,
        }
    }
}

/// Everything the start resolved from the token and the input.
struct Context {
    token: String,
    grant: Grant,
    account: Account,
    consumer: Consumer,
    integration: Option<Integration>,
    ending: Ending,
    input: StartInput,
    /// The original query string, kept on links and the form action so nothing is lost.
    query: String,
}

impl Context {
    fn landing_url(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!(
            "/connect/{}{}{}",
            self.token,
            if query.is_empty() { "" } else { "?" },
            query
        )
    }
}

async fn resolve(
    app: &App,
    token: &str,
    input: StartInput,
    query: &str,
) -> Result<Context, FlowError> {
    if token.is_empty() || token.len() > 2048 {
        return Err(FlowError::InvalidLink);
    }
    let (grant, account, consumer) = if workspace_token::looks_like_jwt(token) {
        let (account, consumer) = workspace_token::verify(app, token).await?;
        let grant = Grant {
            activation_hash: None,
            name: input.name.clone().unwrap_or_else(|| "Connection".into()),
            // Integration.App semantics: a popup the vendor's app opened returns to it.
            redirect: true,
            integration_id: input.integration_id.clone(),
            connection_id: None,
        };
        (grant, account, consumer)
    } else {
        let activation = app
            .store
            .activation(&token_hash(token))
            .await?
            .ok_or(FlowError::InvalidLink)?;
        let account = app
            .store
            .account(&activation.account_id)
            .await?
            .ok_or(FlowError::InvalidLink)?
            .value;
        let consumer = app
            .store
            .consumer(&account.id, &activation.consumer_id)
            .await?
            .ok_or(FlowError::InvalidLink)?
            .value;
        (Grant::of_activation(activation), account, consumer)
    };
    let activation = &grant;
    // The link's own integration wins over anything the query names.
    let integration = match (
        &activation.integration_id,
        &input.integration_id,
        &input.integration_key,
    ) {
        (Some(id), _, _) | (None, Some(id), _) => app.store.integration(&account.id, id).await?,
        (None, None, Some(key)) => app.store.integration_by_key(&account.id, key).await?,
        (None, None, None) => None,
    }
    .map(|v| v.value);
    if let Some(i) = &integration
        && i.status != IntegrationStatus::Active
    {
        return Err(FlowError::IntegrationUnavailable);
    }
    let policy = RedirectPolicy {
        account: &account,
        consumer: &consumer,
    };
    let connection_id = activation
        .connection_id
        .clone()
        .or_else(|| input.connection_id.clone());
    let ending = Ending {
        target: policy.target(input.redirect_uri.as_deref()),
        target_origin: input
            .target_origin
            .as_deref()
            .and_then(|o| policy.target_origin(o)),
        custom_state: input.custom_state.clone(),
        is_update: connection_id.is_some(),
        redirect: activation.redirect,
        from_marketplace: activation.integration_id.is_none(),
        append_result_params: account.append_result_params,
    };
    Ok(Context {
        token: token.to_owned(),
        grant,
        account,
        consumer,
        integration,
        ending,
        input,
        query: query.to_owned(),
    })
}

/// Runs a start: GET shows what is needed (or goes straight to the provider), POST takes
/// the form and connects.
pub async fn run(
    app: &App,
    token: &str,
    input: StartInput,
    form: Option<BTreeMap<String, String>>,
    query: Option<&str>,
) -> Response {
    let ctx = match resolve(app, token, input, query.unwrap_or("")).await {
        Ok(ctx) => ctx,
        Err(e) => return start_error(&e),
    };
    let Some(integration) = ctx.integration.clone() else {
        return marketplace(app, &ctx).await;
    };
    let option = match &ctx.input.auth_option_key {
        Some(key) => integration.auth_option(key),
        None => integration.auth_options.first(),
    };
    let Some(option) = option.cloned() else {
        return finish(
            &ctx,
            Outcome::Failed(
                FieldError::new("authOptionKey", "names no auth option of this integration").into(),
            ),
        );
    };
    let mut parameters = ctx.input.connection_parameters.clone();
    let fields = form_fields(&integration, &option, &parameters, form.as_ref());
    let Some(form) = form.or_else(|| fields.is_empty().then(BTreeMap::new)) else {
        return latchkey_pages::form(
            &ctx.account.name,
            &integration,
            &ctx.landing_url(&[]),
            &fields,
            None,
        );
    };
    for spec in asked_parameters(&integration, &option) {
        if let Some(v) = form
            .get(&format!("param.{}", spec.name))
            .filter(|v| !v.is_empty())
        {
            parameters.insert(spec.name.clone(), v.trim().to_owned());
        }
    }
    // A missing parameter or credential is asked for again, not reported as a failure.
    let missing_credential = secret_fields(&option)
        .into_iter()
        .find(|(name, _, _)| form.get(*name).is_none_or(|v| v.trim().is_empty()))
        .map(|(name, label, _)| FieldError::new(name, format!("{label} is required")));
    if let Err(e) =
        check_asked(&integration, &option, &parameters).and(missing_credential.map_or(Ok(()), Err))
    {
        let fields = form_fields(&integration, &option, &parameters, Some(&form));
        return latchkey_pages::form(
            &ctx.account.name,
            &integration,
            &ctx.landing_url(&[]),
            &fields,
            Some(&e.message_for_people()),
        );
    }
    match connect(app, &ctx, &integration, &option, parameters, &form).await {
        Ok(Step::Redirect(response)) => response,
        Ok(Step::Done(connection_id)) => finish(&ctx, Outcome::Connected { connection_id }),
        Err(e) => finish(&ctx, Outcome::Failed(e)),
    }
}

trait PeopleMessage {
    fn message_for_people(&self) -> String;
}

impl PeopleMessage for FieldError {
    fn message_for_people(&self) -> String {
        let name = self
            .field
            .strip_prefix("connectionParameters.")
            .unwrap_or(&self.field);
        format!("{name} {}", self.message)
    }
}

enum Step {
    /// Off to the provider; the callback finishes.
    Redirect(Response),
    Done(String),
}

/// Parameters the popup asks for: all but those the option captures during the flow.
fn asked_parameters<'a>(
    integration: &'a Integration,
    option: &AuthOption,
) -> impl Iterator<Item = &'a latchkey_domain::ParameterSpec> {
    let captured: Vec<String> = match &option.method {
        AuthMethod::Oauth2 { capture, .. } => capture.iter().map(|c| c.parameter.clone()).collect(),
        _ => Vec::new(),
    };
    integration
        .parameters
        .iter()
        .filter(move |p| !captured.contains(&p.name))
}

fn check_asked(
    integration: &Integration,
    option: &AuthOption,
    parameters: &BTreeMap<String, String>,
) -> Result<(), FieldError> {
    let specs: Vec<_> = asked_parameters(integration, option).cloned().collect();
    check_parameters(&specs, parameters)
}

fn secret_fields(option: &AuthOption) -> Vec<(&'static str, &'static str, bool)> {
    match &option.method {
        AuthMethod::ApiKey {} => vec![("api_key", "API key", true)],
        AuthMethod::Basic {} => vec![
            ("username", "User name", false),
            ("password", "Password", true),
        ],
        AuthMethod::Oauth2ClientCredentials { client: None, .. } => {
            vec![
                ("client_id", "Client ID", false),
                ("client_secret", "Client secret", true),
            ]
        }
        _ => vec![],
    }
}

/// The form's fields: missing parameters, then the credentials the mode needs.
fn form_fields(
    integration: &Integration,
    option: &AuthOption,
    parameters: &BTreeMap<String, String>,
    submitted: Option<&BTreeMap<String, String>>,
) -> Vec<FormField> {
    let mut fields: Vec<FormField> = asked_parameters(integration, option)
        .filter(|p| submitted.is_some() || !parameters.contains_key(&p.name))
        .map(|p| FormField {
            name: format!("param.{}", p.name),
            label: p.label.clone(),
            secret: p.secret,
            required: p.required,
            value: parameters.get(&p.name).cloned().unwrap_or_default(),
        })
        .collect();
    for (name, label, secret) in secret_fields(option) {
        fields.push(FormField {
            name: name.into(),
            label: label.into(),
            secret,
            required: true,
            value: if secret {
                String::new()
            } else {
                submitted
                    .and_then(|f| f.get(name))
                    .cloned()
                    .unwrap_or_default()
            },
        });
    }
    fields
}

fn required(form: &BTreeMap<String, String>, name: &'static str) -> Result<Secret, FlowError> {
    form.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
        .map(Secret::from)
        .ok_or_else(|| FieldError::new(name, "is required").into())
}

async fn connect(
    app: &App,
    ctx: &Context,
    integration: &Integration,
    option: &AuthOption,
    parameters: BTreeMap<String, String>,
    form: &BTreeMap<String, String>,
) -> Result<Step, FlowError> {
    let now = app.store.now();
    let (credentials, expires_at, refreshable) = match &option.method {
        AuthMethod::Oauth2 { .. } => {
            return begin_oauth2(app, ctx, integration, option, parameters)
                .await
                .map(Step::Redirect);
        }
        AuthMethod::ApiKey {} => (
            Credentials::ApiKey {
                api_key: required(form, "api_key")?,
            },
            None,
            false,
        ),
        AuthMethod::Basic {} => {
            let username = required(form, "username")?.expose().to_owned();
            (
                Credentials::Basic {
                    username,
                    password: required(form, "password")?,
                },
                None,
                false,
            )
        }
        AuthMethod::Oauth2ClientCredentials { .. } => {
            let own = || {
                let id = required(form, "client_id")?.expose().to_owned();
                Ok((id, Some(required(form, "client_secret")?)))
            };
            let (credentials, expires_at) =
                grants::client_credentials(app, integration, option, own, &parameters, now).await?;
            (credentials, expires_at, true)
        }
        AuthMethod::CustomToken { .. } => {
            let (token, expires_at) = grants::custom_token(app, option, &parameters, now).await?;
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
            (
                Credentials::Token {
                    token,
                    expires_at,
                    parameters: secret_parameters,
                },
                expires_at,
                true,
            )
        }
        AuthMethod::Oauth1 { .. } => {
            return begin_oauth1(app, ctx, integration, option, parameters)
                .await
                .map(Step::Redirect);
        }
    };
    let connection = complete(
        app,
        Completion {
            account_id: &ctx.account.id,
            consumer_id: &ctx.consumer.id,
            integration,
            auth_option_key: &option.key,
            name: ctx.input.name.as_deref().unwrap_or(&ctx.grant.name),
            parameters,
            connection_id: ctx
                .grant
                .connection_id
                .as_deref()
                .or(ctx.input.connection_id.as_deref()),
            allow_multiple: ctx.input.allow_multiple_connections,
            activation_hash: ctx.grant.activation_hash.as_deref(),
            credentials,
            access_expires_at: expires_at,
            refreshable,
        },
    )
    .await?;
    Ok(Step::Done(connection.id))
}

/// Stores the flow under the hash of a fresh `state` and sends the browser to the
/// provider's authorization endpoint.
async fn begin_oauth2(
    app: &App,
    ctx: &Context,
    integration: &Integration,
    option: &AuthOption,
    parameters: BTreeMap<String, String>,
) -> Result<Response, FlowError> {
    let AuthMethod::Oauth2 {
        authorization_url,
        scopes,
        scope_separator,
        pkce,
        authorization_params,
        ..
    } = &option.method
    else {
        return Err(FlowError::IntegrationUnavailable);
    };
    let (client_id, _) = app_client(app, integration, option)
        .await?
        .ok_or(FlowError::IntegrationUnavailable)?;
    let state = new_token("");
    let pkce = pkce.then(Pkce::new);
    let redirect_uri = app
        .public_url
        .join(OAUTH_CALLBACK_PATH)
        .map_err(|e| FlowError::Internal(e.to_string()))?;
    let url = oauth2::authorization_url(
        authorization_url,
        &client_id,
        redirect_uri.as_str(),
        scopes,
        scope_separator,
        state.expose(),
        pkce.as_ref().map(|p| p.challenge.as_str()),
        authorization_params,
        &parameters,
        app.allow_loopback,
    )?;
    let pending = Pending {
        key: state.expose(),
        pkce_verifier: pkce.map(|p| p.verifier),
        request_token_secret: None,
    };
    store_flow_and_redirect(app, ctx, integration, option, parameters, pending, &url).await
}

/// OAuth 1.0a: a signed request-token call, then the browser to the provider with the
/// request token, which keys the flow (the provider sends it back with the verifier).
async fn begin_oauth1(
    app: &App,
    ctx: &Context,
    integration: &Integration,
    option: &AuthOption,
    parameters: BTreeMap<String, String>,
) -> Result<Response, FlowError> {
    let AuthMethod::Oauth1 {
        request_token_url,
        authorization_url,
        ..
    } = &option.method
    else {
        return Err(FlowError::IntegrationUnavailable);
    };
    let (key, secret) = app_client(app, integration, option)
        .await?
        .ok_or(FlowError::IntegrationUnavailable)?;
    let secret = secret.ok_or(FlowError::IntegrationUnavailable)?;
    let callback = app
        .public_url
        .join(OAUTH1_CALLBACK_PATH)
        .map_err(|e| FlowError::Internal(e.to_string()))?;
    let request_url = fill_url(request_token_url, &parameters, app.allow_loopback)?;
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
        app.store.now(),
    )
    .await?;
    let (request_token, request_token_secret) = oauth1::token_pair(&fields);
    let mut url = fill_url(authorization_url, &parameters, app.allow_loopback)?;
    url.query_pairs_mut()
        .append_pair("oauth_token", &request_token);
    let pending = Pending {
        key: &request_token,
        pkce_verifier: None,
        request_token_secret: Some(request_token_secret),
    };
    store_flow_and_redirect(app, ctx, integration, option, parameters, pending, &url).await
}

/// What a redirect-based flow keeps until its callback.
struct Pending<'a> {
    /// What the callback brings back (`state`, or the OAuth 1.0a request token); only
    /// its hash is stored.
    key: &'a str,
    pkce_verifier: Option<latchkey_domain::Secret>,
    request_token_secret: Option<latchkey_domain::Secret>,
}

/// Stores the flow, binds it to this browser with a cookie, and redirects to `url`.
async fn store_flow_and_redirect(
    app: &App,
    ctx: &Context,
    integration: &Integration,
    option: &AuthOption,
    parameters: BTreeMap<String, String>,
    pending: Pending<'_>,
    url: &url::Url,
) -> Result<Response, FlowError> {
    let state_hash = token_hash(pending.key);
    let binding = new_token("");
    let now = app.store.now();
    let flow = ConnectionFlow {
        state_hash: state_hash.clone(),
        browser_binding: token_hash(binding.expose()),
        account_id: ctx.account.id.clone(),
        consumer_id: ctx.consumer.id.clone(),
        integration_id: integration.id.clone(),
        auth_option_key: option.key.clone(),
        name: ctx
            .input
            .name
            .clone()
            .unwrap_or_else(|| ctx.grant.name.clone()),
        connection_id: ctx
            .grant
            .connection_id
            .clone()
            .or_else(|| ctx.input.connection_id.clone()),
        activation_hash: ctx.grant.activation_hash.clone(),
        parameters,
        pkce_verifier: pending.pkce_verifier,
        request_token_secret: pending.request_token_secret,
        redirect_target: ctx.ending.target.as_ref().map(|u| u.to_string()),
        target_origin: ctx.ending.target_origin.clone(),
        custom_state: ctx.ending.custom_state.clone(),
        allow_multiple_connections: ctx.input.allow_multiple_connections,
        from_marketplace: ctx.ending.from_marketplace,
        redirect_after: ctx.ending.redirect,
        created_at: now,
        expires_at: now + CONNECTION_FLOW_TTL_SECONDS,
    };
    app.store.create_flow(&flow).await?;
    let mut response = latchkey_pages::redirect(url.as_str());
    // The callback needs the binding; "Try again" needs the link, which the browser had.
    let cookie = format!(
        "{}={}.{}; Path=/; Max-Age={CONNECTION_FLOW_TTL_SECONDS}; HttpOnly; Secure; SameSite=Lax",
        flow_cookie_name(&state_hash),
        binding.expose(),
        ctx.token
    );
    response.headers_mut().append(
        "set-cookie",
        cookie
            .parse()
            .map_err(|_| FlowError::Internal("cookie".into()))?,
    );
    Ok(response)
}

async fn marketplace(app: &App, ctx: &Context) -> Response {
    let mut integrations = Vec::new();
    let mut cursor = None;
    loop {
        match app
            .store
            .list_integrations(&ctx.account.id, 100, cursor.as_ref())
            .await
        {
            Ok(page) => {
                integrations.extend(
                    page.items
                        .into_iter()
                        .map(|v| v.value)
                        .filter(|i| i.status == IntegrationStatus::Active),
                );
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            Err(e) => return start_error(&FlowError::from(e)),
        }
    }
    latchkey_pages::marketplace(&ctx.account.name, &integrations, |i| {
        ctx.landing_url(&[("integrationId", &i.id)])
    })
}

fn start_error(e: &FlowError) -> Response {
    let status = match e {
        FlowError::InvalidLink => StatusCode::GONE,
        FlowError::Internal(detail) => {
            tracing::error!(error = %detail, "connection start failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let message = match e {
        FlowError::InvalidLink => "This link has expired or was already used. Ask for a new one.",
        FlowError::IntegrationUnavailable => "This integration is not available.",
        _ => "Something went wrong. Please try again.",
    };
    latchkey_pages::error(status, "Latchkey", message, None)
}

/// Sends the browser where docs/ARCHITECTURE.md §4 says, or shows the result here.
fn finish(ctx: &Context, outcome: Outcome) -> Response {
    if let Outcome::Failed(FlowError::Internal(detail)) = &outcome {
        tracing::error!(error = %detail, "connection failed");
    }
    respond(
        &ctx.account.name,
        &ctx.ending,
        outcome,
        Some(ctx.landing_url(&[])),
        ctx.landing_url(&[("integrationId", "")]),
    )
}
