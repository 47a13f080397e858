//! `connections`: a consumer's live connections — server-side install, read, fresh
//! credentials, the authenticated proxy, disconnect.

mod install;
mod proxy;

use async_trait::async_trait;
use latchkey_api::{ConnectionView, CredentialsView};
use latchkey_connect::connections::{Need, Renewal, disconnect, ensure_fresh};
use latchkey_core::App;
use latchkey_domain::{AccountId, ConnectionId, ConsumerId};
use latchkey_store::Connections as _;
use latchkey_web::{
    ApiError, Handler, Operation, PathParams, Request, Response, StatusCode, authenticate, json,
    no_content,
};

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
        let account_id = authenticate(&request, app, operation).await?;
        let id = &ConnectionId::from(params.get("id"));
        match operation {
            Operation::InstallConnection => {
                // Installing names the consumer: `/v1/consumers/{id}/connections/install`.
                let consumer_id = ConsumerId::from(params.get("id"));
                install::install(app, &account_id, &consumer_id, &request).await
            }
            Operation::GetConnection => {
                let connection = find(app, &account_id, id).await?;
                Ok(json(StatusCode::OK, &ConnectionView::from(&connection)))
            }
            Operation::GetConnectionCredentials => {
                let fresh = ensure_fresh(app, &account_id, id, Need::Due, true).await?;
                let refreshed = fresh.renewal == Renewal::Refreshed;
                let view = CredentialsView::new(&fresh.connection, &fresh.credentials, refreshed)
                    .ok_or_else(|| {
                    ApiError::Internal("not a connection's credentials".into())
                })?;
                Ok(json(StatusCode::OK, &view))
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
    account_id: &AccountId,
    id: &ConnectionId,
) -> Result<latchkey_domain::Connection, ApiError> {
    Ok(app
        .store
        .connection(account_id, id)
        .await?
        .ok_or(ApiError::NotFound("connection"))?
        .value)
}
