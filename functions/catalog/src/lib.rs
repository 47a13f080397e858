//! `catalog`: the account's integrations (built-in and custom), their logos, and the
//! OpenAPI description of the management API.

mod openapi;

use async_trait::async_trait;
use latchkey_api::{IntegrationView, Listed};
use latchkey_core::catalog::{
    CatalogError, create_integration, forget_client_secrets, inherit_client_secrets,
    require_apps_when_active, seal_client_secrets,
};
use latchkey_core::{App, catalog};
use latchkey_domain::{AccountId, IntegrationId};
use latchkey_domain::{
    ClientSecret, FieldError, Integration, IntegrationInput, IntegrationStatus, Logo, OAuthClient,
};
use latchkey_store::Integrations;
use latchkey_store::{FIRST_VERSION, Versioned};
use latchkey_web::{
    ApiError, Handler, IfMatch, Operation, PageParams, PathParams, Request, Response, StatusCode,
    authenticate, check_if_match, json, json_body, query_params, with_etag,
};
use serde::Deserialize;

pub struct Catalog;

#[async_trait]
impl Handler for Catalog {
    async fn handle(
        &self,
        operation: Operation,
        params: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        if operation == Operation::OpenApi {
            return Ok(openapi::document(app));
        }
        let account_id = authenticate(&request, app, operation).await?;
        let id = &IntegrationId::from(params.get("id"));
        match operation {
            Operation::ListIntegrations => list(&request, app, &account_id).await,
            Operation::GetIntegration => {
                let found = find(app, &account_id, id).await?;
                Ok(with_etag(
                    json(StatusCode::OK, &view(app, &found.value)),
                    found.version,
                ))
            }
            Operation::GetIntegrationLogo => {
                let integration = find(app, &account_id, id).await?.value;
                let logo = catalog::logo(&integration).ok_or(ApiError::NotFound("logo"))?;
                Ok(json(StatusCode::OK, &logo))
            }
            Operation::CreateIntegration => {
                let input: IntegrationInput = json_body(&request)?;
                let created = create_integration(&app.store, &app.vault, &account_id, input, None)
                    .await
                    .map_err(catalog_error)?;
                Ok(with_etag(
                    json(StatusCode::CREATED, &view(app, &created)),
                    FIRST_VERSION,
                ))
            }
            Operation::ReplaceIntegration => replace(&request, app, &account_id, id).await,
            Operation::PatchIntegration => patch(&request, app, &account_id, id).await,
            _ => Err(ApiError::NotFound("route")),
        }
    }
}

fn catalog_error(e: CatalogError) -> ApiError {
    match e {
        CatalogError::Invalid(e) => e.into(),
        CatalogError::Store(e) => e.into(),
        CatalogError::Vault(e) => e.into(),
    }
}

async fn find(
    app: &App,
    account_id: &AccountId,
    id: &IntegrationId,
) -> Result<Versioned<Integration>, ApiError> {
    app.store
        .integration(account_id, id)
        .await?
        .ok_or(ApiError::NotFound("integration"))
}

async fn list(request: &Request, app: &App, account_id: &AccountId) -> Result<Response, ApiError> {
    let query = query_params(request);
    let page = PageParams::from_query(&query)?;
    let status = match query.get("status").map(String::as_str) {
        None | Some("") => None,
        Some("active") => Some(IntegrationStatus::Active),
        Some("inactive") => Some(IntegrationStatus::Inactive),
        Some(_) => {
            return Err(ApiError::BadQuery {
                field: "status",
                detail: "must be active or inactive".into(),
            });
        }
    };
    // By key (`?key=github`): the one integration with it, if any, through its guard.
    if let Some(key) = query.get("key").filter(|k| !k.is_empty()) {
        let found = app.store.integration_by_key(account_id, key).await?;
        let data = found
            .iter()
            .map(|v| &v.value)
            .filter(|i| status.is_none_or(|s| i.status == s))
            .map(|i| view(app, i))
            .collect();
        let listed = Listed {
            data,
            next_cursor: None,
        };
        return Ok(json(StatusCode::OK, &listed));
    }
    let listing = app
        .store
        .list_integrations(account_id, status, page.limit, page.cursor.as_ref())
        .await?;
    let data = listing.items.iter().map(|v| view(app, &v.value)).collect();
    Ok(json(
        StatusCode::OK,
        &Listed {
            data,
            next_cursor: listing.next.map(|c| c.as_str().to_owned()),
        },
    ))
}

async fn replace(
    request: &Request,
    app: &App,
    account_id: &AccountId,
    id: &IntegrationId,
) -> Result<Response, ApiError> {
    let current = find(app, account_id, id).await?;
    let if_match = check_if_match(request, current.version)?;
    let input: IntegrationInput = json_body(request)?;
    if input.key != current.value.key {
        return Err(
            FieldError::new("key", "cannot change; create a new integration instead").into(),
        );
    }
    let mut next = input.into_integration(
        id.to_owned(),
        account_id.to_owned(),
        current.value.builtin.clone(),
        app.now(),
    )?;
    next.created_at = current.value.created_at;
    next.builtin_revision = current.value.builtin_revision.clone();
    save(app, current, next, if_match).await
}

/// `PATCH /v1/integrations/{id}`: status, name, logo, and the OAuth app (applied to every
/// auth option that uses one) — how an account enables a built-in integration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntegrationPatch {
    status: Option<IntegrationStatus>,
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    logo: Option<Option<Logo>>,
    client: Option<OAuthClient>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Logo>>, D::Error> {
    Option::<Logo>::deserialize(d).map(Some)
}

async fn patch(
    request: &Request,
    app: &App,
    account_id: &AccountId,
    id: &IntegrationId,
) -> Result<Response, ApiError> {
    let current = find(app, account_id, id).await?;
    let if_match = check_if_match(request, current.version)?;
    let patch: IntegrationPatch = json_body(request)?;
    if matches!(
        &patch.client,
        Some(OAuthClient {
            client_secret: Some(ClientSecret::Stored(_)),
            ..
        })
    ) {
        return Err(FieldError::new("client.client_secret", "must be a string").into());
    }
    let mut next = current.value.clone();
    if let Some(status) = patch.status {
        next.status = status;
    }
    if let Some(name) = patch.name {
        next.name = name.trim().to_owned();
    }
    if let Some(logo) = patch.logo {
        next.logo = logo;
    }
    if let Some(client) = &patch.client {
        let mut applied = false;
        for option in &mut next.auth_options {
            if let Some(slot) = option.method.client_mut() {
                *slot = Some(client.clone());
                applied = true;
            }
        }
        if !applied {
            return Err(FieldError::new(
                "client",
                "this integration has no auth option that uses an OAuth app",
            )
            .into());
        }
    }
    next.updated_at = app.now();
    next.validate()?;
    save(app, current, next, if_match).await
}

/// Validates, seals new secrets, writes at the version read, then drops replaced secrets.
/// Answers the integration with the `ETag` of its new version.
async fn save(
    app: &App,
    current: Versioned<Integration>,
    mut next: Integration,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    inherit_client_secrets(&mut next, &current.value)?;
    require_apps_when_active(&next)?;
    seal_client_secrets(&mut next, &app.vault).await?;
    let version = app
        .store
        .update_integration(&Versioned {
            value: next.clone(),
            version: current.version,
        })
        .await
        .map_err(|e| if_match.lost(e))?;
    // Auth options that are gone take their OAuth app secrets with them.
    let mut dropped = current.value;
    dropped
        .auth_options
        .retain(|o| next.auth_option(&o.key).is_none());
    forget_client_secrets(&dropped, &app.vault).await?;
    Ok(with_etag(json(StatusCode::OK, &view(app, &next)), version))
}

/// An integration as the API shows it, with this deployment's redirect URI for it.
fn view<'a>(app: &App, integration: &'a Integration) -> IntegrationView<'a> {
    IntegrationView::new(integration, |id| app.callback_url(id).into())
}
