//! `links`: activation links (a consumer's 30-minute invitation to connect) and the list
//! of a consumer's connections.

use async_trait::async_trait;
use latchkey_api::{ActivationLinkView, Listed};
use latchkey_core::App;
use latchkey_core::activation;
use latchkey_core::consumers::{FirstUseError, first_use};
use latchkey_domain::{AccountId, Consumer, ConsumerId};
use latchkey_domain::{FieldError, FlowError, IntegrationStatus, NewActivation};
use latchkey_store::{Accounts, Connections, Consumers, Integrations};
use latchkey_web::{
    ApiError, Handler, Operation, PageParams, PathParams, Request, Response, StatusCode,
    authenticate, json, json_body, query_params,
};

pub struct Links;

#[async_trait]
impl Handler for Links {
    async fn handle(
        &self,
        operation: Operation,
        params: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        let account_id = authenticate(&request, app, operation).await?;
        let by_id = || async {
            app.store
                .consumer(&account_id, &ConsumerId::from(params.get("id")))
                .await?
                .map(|c| c.value)
                .ok_or(ApiError::NotFound("consumer"))
        };
        match operation {
            Operation::CreateActivation => {
                let mut input: NewActivation = json_body(&request)?;
                if input.consumer.is_some() {
                    return Err(FieldError::new(
                        "consumer",
                        "is only taken by …/by-reference/{internal_reference}/connections",
                    )
                    .into());
                }
                let consumer = if input.connection_id.is_none() {
                    // What the link names does not depend on the consumer: both are read
                    // at once (a missing consumer still answers first).
                    let (consumer, checked) =
                        tokio::join!(by_id(), check(app, &account_id, None, &mut input));
                    let consumer = consumer?;
                    checked?;
                    consumer
                } else {
                    let consumer = by_id().await?;
                    check(app, &account_id, Some(&consumer), &mut input).await?;
                    consumer
                };
                create_link(app, account_id, consumer, input).await
            }
            Operation::CreateActivationByReference => {
                let mut input: NewActivation = json_body(&request)?;
                let reference = params.get("reference");
                let found = app
                    .store
                    .consumer_by_reference(&account_id, reference)
                    .await?;
                let consumer = match found {
                    Some(found) => {
                        check(app, &account_id, Some(&found.value), &mut input).await?;
                        found.value
                    }
                    None => {
                        let account = app
                            .store
                            .account(&account_id)
                            .await?
                            .ok_or(ApiError::NotFound("account"))?
                            .value;
                        if !account.auto_create_consumers {
                            return Err(ApiError::NotFound("consumer"));
                        }
                        // Bad input changes nothing: the link is checked before the
                        // consumer exists (a new consumer has no connection to name).
                        check(app, &account_id, None, &mut input).await?;
                        let new = input.consumer.take().unwrap_or_default();
                        first_use(app, &account_id, reference, new)
                            .await
                            .map_err(|e| match e {
                                FirstUseError::Invalid(e) => ApiError::from(FieldError::new(
                                    format!("consumer.{}", e.field),
                                    e.message,
                                )),
                                FirstUseError::Store(e) => e.into(),
                            })?
                    }
                };
                create_link(app, account_id, consumer, input).await
            }
            Operation::ListConsumerConnections => {
                let consumer = by_id().await?;
                let query = query_params(&request);
                let page = PageParams::from_query(&query)?;
                let listing = app
                    .store
                    .consumer_connections(
                        &account_id,
                        &consumer.id,
                        None,
                        page.limit,
                        page.cursor.as_ref(),
                    )
                    .await?;
                let next = listing.next.map(|c| c.as_str().to_owned());
                let listed = Listed::connections(listing.items.iter().map(|c| &c.value), next);
                Ok(json(StatusCode::OK, &listed))
            }
            _ => Err(ApiError::NotFound("route")),
        }
    }
}

/// The activation link of `input` (checked) for `consumer`.
async fn create_link(
    app: &App,
    account_id: AccountId,
    consumer: Consumer,
    input: NewActivation,
) -> Result<Response, ApiError> {
    let (url, expires_at) = activation::issue(app, &account_id, &consumer.id, input)
        .await
        .map_err(|e| match e {
            FlowError::InvalidParameter(e) => ApiError::Invalid(e),
            other => ApiError::Internal(Box::new(other)),
        })?;
    let link = ActivationLinkView {
        url: url.into(),
        expires_at: expires_at.into(),
    };
    Ok(json(StatusCode::CREATED, &link))
}

/// The link's input, its integration (active) and connection (the consumer's, to the
/// same integration) checked; a re-authorisation takes the connection's integration.
async fn check(
    app: &App,
    account_id: &AccountId,
    consumer: Option<&Consumer>,
    input: &mut NewActivation,
) -> Result<(), ApiError> {
    input.validate()?;
    if let Some(id) = &input.connection_id {
        let connection = app
            .store
            .connection(account_id, id)
            .await?
            .map(|c| c.value)
            .filter(|c| consumer.is_some_and(|consumer| c.consumer_id == consumer.id))
            .ok_or_else(|| {
                FieldError::new("connection_id", "names no connection of this consumer")
            })?;
        // Re-authorising a connection is re-authorising its integration.
        match &input.integration_id {
            None => input.integration_id = Some(connection.integration_id),
            Some(named) if *named != connection.integration_id => {
                return Err(FieldError::new(
                    "connection_id",
                    "is a connection to another integration than integration_id",
                )
                .into());
            }
            Some(_) => {}
        }
    }
    if let Some(id) = &input.integration_id {
        let active = app
            .store
            .integration(account_id, id)
            .await?
            .is_some_and(|i| i.value.status == IntegrationStatus::Active);
        if !active {
            return Err(FieldError::new(
                "integration_id",
                "names no active integration of this account",
            )
            .into());
        }
    }
    Ok(())
}
