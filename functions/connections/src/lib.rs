//! `connections`: a consumer's live connections — server-side install, read, fresh
//! credentials, the authenticated proxy, disconnect.

mod install;
mod proxy;

use async_trait::async_trait;
use latchkey_connect::connections::{Fresh, Need, Renewal, disconnect, ensure_fresh};
use latchkey_core::App;
use latchkey_domain::Credentials;
use latchkey_store::Connections as _;
use latchkey_web::{
    ApiError, Handler, Operation, PathParams, Request, Response, StatusCode, authenticate,
    json_value, no_content,
};
use serde_json::{Value, json};

pub struct Connections;

#[async_trait]
impl Handler for Connections {
    async fn handle(
        &self,
        operation: Operation,
        params: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        let account_id = authenticate(&request, app).await?;
        let id = params.get("id");
        match operation {
            Operation::InstallConnection => install::install(app, &account_id, id, &request).await,
            Operation::GetConnection => {
                let connection = find(app, &account_id, id).await?;
                Ok(json_value(StatusCode::OK, connection.view()))
            }
            Operation::GetConnectionCredentials => {
                let fresh = ensure_fresh(app, &account_id, id, Need::Due, true).await?;
                Ok(json_value(StatusCode::OK, credentials_view(&fresh)))
            }
            Operation::ProxyConnection => {
                proxy::forward(app, &account_id, id, params.get("path"), request).await
            }
            Operation::DeleteConnection => {
                let connection = find(app, &account_id, id).await?;
                disconnect(app, &connection).await?;
                Ok(no_content())
            }
            _ => Err(ApiError::NotFound("route")),
        }
    }
}

async fn find(
    app: &App,
    account_id: &str,
    id: &str,
) -> Result<latchkey_domain::Connection, ApiError> {
    Ok(app
        .store
        .connection(account_id, id)
        .await?
        .ok_or(ApiError::NotFound("connection"))?
        .value)
}

/// `GET /v1/connections/{id}/credentials`: what the vendor needs to call the API itself.
/// The refresh token is never handed out: Latchkey refreshes (with rotation), and a second
/// party refreshing with the same token would revoke the grant at rotating providers.
fn credentials_view(fresh: &Fresh) -> Value {
    let c = &fresh.connection;
    let mut body = match &fresh.credentials {
        Credentials::Oauth2 {
            access_token,
            token_type,
            scope,
            expires_at,
            ..
        } => json!({
            "type": "oauth2",
            "access_token": access_token.expose(),
            "token_type": token_type,
            "scope": scope,
            "expires_at": expires_at,
        }),
        Credentials::Token {
            token, expires_at, ..
        } => json!({ "type": "token", "token": token.expose(), "expires_at": expires_at }),
        Credentials::ApiKey { api_key } => {
            json!({ "type": "api_key", "api_key": api_key.expose() })
        }
        Credentials::Basic { username, password } => {
            json!({ "type": "basic", "username": username, "password": password.expose() })
        }
        Credentials::Oauth1 {
            token,
            token_secret,
        } => json!({
            "type": "oauth1",
            "token": token.expose(),
            "token_secret": token_secret.expose(),
        }),
        Credentials::ClientSecret { .. } | Credentials::SigningKey { .. } => json!({}),
    };
    body["connection_id"] = json!(c.id);
    body["parameters"] = json!(c.parameters);
    body["refreshed"] = json!(fresh.renewal == Renewal::Refreshed);
    body
}
