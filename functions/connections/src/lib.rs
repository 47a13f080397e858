//! `connections`: the account's connections — the inventory, server-side install, read,
//! rename and annotate, refresh on demand, fresh credentials, the authenticated proxy,
//! disconnect — and deleting an integration, which may disconnect its connections.

mod install;
mod proxy;

use async_trait::async_trait;
use latchkey_api::{ConnectionView, CredentialsView, Listed};
use latchkey_connect::connections::{
    Need, Owner, Renewal, disconnect, disconnect_all, ensure_fresh,
};
use latchkey_core::App;
use latchkey_core::catalog::forget_client_secrets;
use latchkey_core::webhooks;
use latchkey_domain::{
    AccountId, ConnectionId, ConnectionPatch, ConnectionStatus, ConsumerId, EventType,
    IntegrationId,
};
use latchkey_store::{Connections as _, Integrations as _, InventoryFilter};
use latchkey_store::{StoreError, Versioned};
use latchkey_web::{
    ApiError, Handler, Operation, PageParams, PathParams, Request, Response, StatusCode,
    authenticate, flag, json, json_body, no_content, query_params,
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
            Operation::ListConnections => list(app, &account_id, &request).await,
            Operation::DeleteIntegration => {
                let integration_id = IntegrationId::from(params.get("id"));
                delete_integration(app, &account_id, &integration_id, &request).await
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

/// `DELETE /v1/integrations/{id}`: refused while the integration has connections, unless
/// `cascade=true` disconnects them first (as deleting a consumer does).
async fn delete_integration(
    app: &App,
    account_id: &AccountId,
    id: &IntegrationId,
    request: &Request,
) -> Result<Response, ApiError> {
    let integration = app
        .store
        .integration(account_id, id)
        .await?
        .ok_or(ApiError::NotFound("integration"))?
        .value;
    if flag(&query_params(request), "cascade")? {
        disconnect_all(app, account_id, Owner::Integration(id)).await?;
    } else if !app
        .store
        .integration_connections(account_id, id, 1)
        .await?
        .is_empty()
    {
        return Err(ApiError::HasConnections);
    }
    app.store.delete_integration(&integration).await?;
    forget_client_secrets(&integration, &app.vault).await?;
    Ok(no_content())
}

/// `GET /v1/connections`: the account's inventory, newest first, narrowed by the filters.
async fn list(app: &App, account_id: &AccountId, request: &Request) -> Result<Response, ApiError> {
    let query = query_params(request);
    let page = PageParams::from_query(&query)?;
    let text = |field: &str| query.get(field).filter(|v| !v.is_empty());
    let status = match text("status") {
        None => None,
        Some(name) => Some(
            ConnectionStatus::listed(name).ok_or_else(|| ApiError::BadQuery {
                field: "status",
                detail: "must be active, needs_reauth or error".into(),
            })?,
        ),
    };
    let filter = InventoryFilter {
        status,
        integration_id: text("integration_id").map(|v| IntegrationId::from(v.as_str())),
        consumer_id: text("consumer_id").map(|v| ConsumerId::from(v.as_str())),
    };
    let listing = app
        .store
        .connection_inventory(account_id, &filter, page.limit, page.cursor.as_ref())
        .await?;
    let next = listing.next.map(|c| c.as_str().to_owned());
    let listed = Listed::connections(listing.items.iter().map(|c| &c.value), next);
    Ok(json(StatusCode::OK, &listed))
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
