//! `connections`: a consumer's live connections — server-side install, read, rename and
//! annotate, refresh on demand, fresh credentials, the authenticated proxy, disconnect.

mod install;
mod proxy;

use async_trait::async_trait;
use latchkey_api::{ConnectionView, CredentialsView};
use latchkey_connect::connections::{Need, Renewal, disconnect, ensure_fresh};
use latchkey_core::App;
use latchkey_core::webhooks;
use latchkey_domain::{AccountId, ConnectionId, ConnectionPatch, ConsumerId, EventType};
use latchkey_store::Connections as _;
use latchkey_store::{StoreError, Versioned};
use latchkey_web::{
    ApiError, Handler, Operation, PathParams, Request, Response, StatusCode, authenticate, json,
    json_body, no_content,
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
            Operation::PatchConnection => {
                let patch: ConnectionPatch = json_body(&request)?;
                patch_connection(app, &account_id, id, patch).await
            }
            Operation::RefreshConnection => {
                let fresh = ensure_fresh(app, &account_id, id, Need::Forced, true).await?;
                if fresh.renewal == Renewal::KeptAfterFailure {
                    // A temporary failure: the current token still works, but nothing new.
                    let code = fresh
                        .connection
                        .refresh
                        .last_error
                        .clone()
                        .unwrap_or_default();
                    return Err(ApiError::RefreshFailed(code));
                }
                Ok(json(
                    StatusCode::OK,
                    &ConnectionView::from(&fresh.connection),
                ))
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

/// Name and metadata, retried on a concurrent change (a refresh writes the same item).
async fn patch_connection(
    app: &App,
    account_id: &AccountId,
    id: &ConnectionId,
    patch: ConnectionPatch,
) -> Result<Response, ApiError> {
    for _ in 0..3 {
        let current = app
            .store
            .connection(account_id, id)
            .await?
            .ok_or(ApiError::NotFound("connection"))?;
        let next = current.value.patched(patch.clone(), app.now())?;
        let update = Versioned {
            value: next,
            version: current.version,
        };
        match app.store.update_connection(&update).await {
            Ok(_) => {
                webhooks::emit(app, EventType::ConnectionUpdated, &update.value).await;
                return Ok(json(StatusCode::OK, &ConnectionView::from(&update.value)));
            }
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Stale)
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
