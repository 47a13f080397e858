//! `POST /v1/consumers/{id}/connections/install`: a connection from credentials the vendor
//! already has; the connect service does the work (`latchkey_connect::flow::install`).

use latchkey_api::{ActivationLinkView, ConnectionView, InstalledView};
use latchkey_connect::flow::install as install_connection;
use latchkey_core::App;
use latchkey_domain::{AccountId, ConsumerId};
use latchkey_domain::{FieldError, FlowError, InstallConnection, IntegrationStatus};
use latchkey_store::{Consumers, Integrations};
use latchkey_web::{ApiError, Request, Response, StatusCode, json, json_body};

pub async fn install(
    app: &App,
    account_id: &AccountId,
    consumer_id: &ConsumerId,
    request: &Request,
) -> Result<Response, ApiError> {
    let input: InstallConnection = json_body(request)?;
    let consumer = app
        .store
        .consumer(account_id, consumer_id)
        .await?
        .ok_or(ApiError::NotFound("consumer"))?
        .value;
    let integration = app
        .store
        .integration(account_id, &input.integration_id)
        .await?
        .map(|v| v.value)
        .filter(|i| i.status == IntegrationStatus::Active)
        .ok_or_else(|| {
            FieldError::new(
                "integration_id",
                "names no active integration of this account",
            )
        })?;
    let installed = install_connection(app, &consumer, &integration, &input)
        .await
        .map_err(|e| match e {
            FlowError::InvalidParameter(field) => ApiError::Invalid(field),
            other => ApiError::Internal(Box::new(other)),
        })?;
    let view = InstalledView {
        connection: ConnectionView::from(&installed.connection),
        authenticated: installed.authenticated,
        activation_link: installed
            .activation
            .map(|(url, expires_at)| ActivationLinkView {
                url: url.into(),
                expires_at: expires_at.into(),
            }),
    };
    Ok(json(StatusCode::CREATED, &view))
}
