//! `POST /v1/consumers/{id}/connections/install`: a connection from credentials the vendor
//! already has; the connect service does the work (`latchkey_connect::flow::install`).

use latchkey_api::{ActivationLinkView, ConnectionView, InstalledView};
use latchkey_connect::flow::install as install_connection;
use latchkey_core::App;
use latchkey_domain::{AccountId, ConsumerId};
use latchkey_domain::{FieldError, FlowError, InstallConnection, IntegrationStatus};
use latchkey_store::{Accounts, Consumers, Integrations};
use latchkey_web::{ApiError, Request, Response, StatusCode, json, json_body};

pub async fn install(
    app: &App,
    account_id: &AccountId,
    consumer_id: &ConsumerId,
    request: &Request,
) -> Result<Response, ApiError> {
    let input: InstallConnection = json_body(request)?;
    // Independent reads, at once: one round trip instead of three.
    let (account, consumer, integration) = tokio::try_join!(
        app.store.account(account_id),
        app.store.consumer(account_id, consumer_id),
        app.store.integration(account_id, &input.integration_id),
    )?;
    let account = account.ok_or(ApiError::NotFound("account"))?.value;
    let consumer = consumer.ok_or(ApiError::NotFound("consumer"))?.value;
    let integration = integration
        .map(|v| v.value)
        .filter(|i| i.status == IntegrationStatus::Active)
        .ok_or_else(|| {
            FieldError::new(
                "integration_id",
                "names no active integration of this account",
            )
        })?;
    let installed = install_connection(app, &account, &consumer, &integration, &input)
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
