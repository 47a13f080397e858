//! `consumers`: the vendor's end-customers, and the account's own settings and API keys.

use async_trait::async_trait;
use latchkey_api::{
    AccountView, ApiKeyView, ConsumerView, CreatedApiKeyView, Listed, WebhookDeliveryView,
};
use latchkey_connect::connections::{Owner, disconnect_all};
use latchkey_connect::flow::workspace_token::JWT_SECRET_OWNER;
use latchkey_core::App;
use latchkey_core::accounts::{create_api_key, revoke_api_key};
use latchkey_core::webhooks::{self, DeliveryError, WEBHOOK_SECRET_OWNER};
use latchkey_domain::FieldError;
use latchkey_domain::token::new_token;
use latchkey_domain::{Account, AccountPatch, Consumer, ConsumerPatch, NewConsumer};
use latchkey_domain::{AccountId, ConsumerId};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_domain::{NewApiKey, SigningSecret, validate_egress_url};
use latchkey_store::{Accounts, Consumers as _, Outbox};
use latchkey_store::{FIRST_VERSION, Versioned};
use latchkey_web::{
    ApiError, Handler, Operation, PageParams, PathParams, Request, Response, StatusCode,
    authenticate, check_if_match, flag, json, json_body, no_content, query_params, with_etag,
};

pub struct Consumers;

#[async_trait]
impl Handler for Consumers {
    async fn handle(
        &self,
        operation: Operation,
        params: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        let account_id = authenticate(&request, app, operation).await?;
        let id = &ConsumerId::from(params.get("id"));
        match operation {
            Operation::CreateConsumer => {
                let input: NewConsumer = json_body(&request)?;
                let consumer = input.into_consumer(
                    latchkey_domain::ConsumerId::generate(),
                    account_id,
                    app.now(),
                )?;
                app.store.create_consumer(&consumer).await?;
                Ok(with_etag(
                    json(StatusCode::CREATED, &ConsumerView::from(&consumer)),
                    FIRST_VERSION,
                ))
            }
            Operation::ListConsumers => list(&request, app, &account_id).await,
            Operation::GetConsumer => {
                let found = find(app, &account_id, id).await?;
                Ok(with_etag(
                    json(StatusCode::OK, &ConsumerView::from(&found.value)),
                    found.version,
                ))
            }
            Operation::PatchConsumer => {
                let current = find(app, &account_id, id).await?;
                let if_match = check_if_match(&request, current.version)?;
                let patch: ConsumerPatch = json_body(&request)?;
                let next = current.value.patched(patch, app.now())?;
                let version = app
                    .store
                    .update_consumer(&current, &next)
                    .await
                    .map_err(|e| if_match.lost(e))?;
                Ok(with_etag(
                    json(StatusCode::OK, &ConsumerView::from(&next)),
                    version,
                ))
            }
            Operation::DeleteConsumer => {
                let consumer = find(app, &account_id, id).await?.value;
                // Its connections go first: revoked where possible, credentials deleted.
                disconnect_all(app, &account_id, Owner::Consumer(&consumer.id)).await?;
                app.store.delete_consumer(&consumer).await?;
                Ok(no_content())
            }
            Operation::GetAccount => Ok(json(
                StatusCode::OK,
                &AccountView::from(&account(app, &account_id).await?.value),
            )),
            Operation::PatchAccount => {
                let patch: AccountPatch = json_body(&request)?;
                let account = account(app, &account_id).await?;
                let next = account.value.patched(patch, app.now())?;
                if let Some(url) = &next.webhook_url
                    && next.webhook_url != account.value.webhook_url
                {
                    validate_egress_url("webhook_url", url, app.allow_loopback)?;
                }
                app.store
                    .update_account(&Versioned {
                        value: next.clone(),
                        version: account.version,
                    })
                    .await?;
                Ok(json(StatusCode::OK, &AccountView::from(&next)))
            }
            Operation::RotateJwtSecret => {
                rotate_key(app, &account(app, &account_id).await?, JWT_SECRET_OWNER).await
            }
            Operation::RotateWebhookSecret => {
                rotate_key(app, &account(app, &account_id).await?, WEBHOOK_SECRET_OWNER).await
            }
            Operation::ListWebhookDeliveries => {
                let page = PageParams::from_query(&query_params(&request))?;
                let listing = app
                    .store
                    .account_webhooks(&account_id, page.limit, page.cursor.as_ref())
                    .await?;
                let listed = Listed {
                    data: listing
                        .items
                        .iter()
                        .map(|d| WebhookDeliveryView::from(&d.value))
                        .collect(),
                    next_cursor: listing.next.map(|c| c.as_str().to_owned()),
                };
                Ok(json(StatusCode::OK, &listed))
            }
            Operation::SendTestWebhook => {
                let account = account(app, &account_id).await?;
                let delivery =
                    webhooks::send_test(app, &account.value)
                        .await
                        .map_err(|e| match e {
                            webhooks::TestEventError::NotConfigured
                            | webhooks::TestEventError::Dropped => {
                                ApiError::Invalid(FieldError::new("webhook_url", e.to_string()))
                            }
                            webhooks::TestEventError::Delivery(DeliveryError::Store(e)) => e.into(),
                            webhooks::TestEventError::Delivery(e) => {
                                ApiError::Internal(Box::new(e))
                            }
                        })?;
                Ok(json(
                    StatusCode::CREATED,
                    &WebhookDeliveryView::from(&delivery),
                ))
            }
            Operation::ListApiKeys => {
                let keys = app.store.api_keys(&account_id).await?;
                let data: Vec<ApiKeyView> = keys.iter().map(|k| (&k.value).into()).collect();
                Ok(json(
                    StatusCode::OK,
                    &Listed {
                        data,
                        next_cursor: None,
                    },
                ))
            }
            Operation::CreateApiKey => {
                let input: NewApiKey = json_body(&request)?;
                let (key, secret) = create_api_key(&app.store, &account_id, input).await?;
                let view = CreatedApiKeyView {
                    api_key: (&key).into(),
                    key: secret.expose(),
                };
                Ok(json(StatusCode::CREATED, &view))
            }
            Operation::DeleteApiKey => {
                let force = flag(&query_params(&request), "force")?;
                revoke_api_key(&app.store, &account_id, params.get("id"), force).await?;
                Ok(no_content())
            }
            _ => Err(ApiError::NotFound("route")),
        }
    }
}

/// A new signing key for workspace tokens or webhooks, shown once; the old one stops
/// working at once.
async fn rotate_key(
    app: &App,
    account: &Versioned<Account>,
    owner: &str,
) -> Result<Response, ApiError> {
    let secret = new_token("");
    let scope = SecretScope::new(&account.value.id, owner);
    let reference = app
        .vault
        .put(
            &scope,
            &Credentials::SigningKey {
                key: secret.clone(),
            },
        )
        .await?;
    let mut next = account.value.clone();
    if owner == WEBHOOK_SECRET_OWNER {
        next.webhook_secret = Some(reference);
    } else {
        next.jwt_secret = Some(reference);
    }
    next.updated_at = app.now();
    app.store
        .update_account(&Versioned {
            value: next,
            version: account.version,
        })
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &SigningSecret {
            secret: secret.expose().to_owned(),
        },
    ))
}

/// The caller's account (only the account routes read it; API keys name their account).
async fn account(app: &App, id: &AccountId) -> Result<Versioned<Account>, ApiError> {
    app.store.account(id).await?.ok_or(ApiError::Unauthorized)
}

async fn find(
    app: &App,
    account_id: &AccountId,
    id: &ConsumerId,
) -> Result<Versioned<Consumer>, ApiError> {
    app.store
        .consumer(account_id, id)
        .await?
        .ok_or(ApiError::NotFound("consumer"))
}

/// `GET /v1/consumers`, or the one consumer with `internal_reference`.
async fn list(request: &Request, app: &App, account_id: &AccountId) -> Result<Response, ApiError> {
    let query = query_params(request);
    let page = PageParams::from_query(&query)?;
    let (consumers, next_cursor) = match query.get("internal_reference") {
        Some(reference) => {
            let found = app
                .store
                .consumer_by_reference(account_id, reference)
                .await?;
            (found.into_iter().collect(), None)
        }
        None => {
            let listing = app
                .store
                .list_consumers(account_id, page.limit, page.cursor.as_ref())
                .await?;
            (listing.items, listing.next.map(|c| c.as_str().to_owned()))
        }
    };
    let listed = Listed {
        data: consumers
            .iter()
            .map(|c| ConsumerView::from(&c.value))
            .collect(),
        next_cursor,
    };
    Ok(json(StatusCode::OK, &listed))
}
