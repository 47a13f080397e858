//! The console's integrations: list, one integration, its status and OAuth app.

use std::collections::{BTreeMap, HashMap};

use latchkey_domain::{Integration, IntegrationId, IntegrationStatus};
use latchkey_pages::console::{self, Notice, Section};
use latchkey_store::{Integrations, Versioned};
use latchkey_web::{ApiError, Method, Response};
use serde_json::{Value, json};

use crate::{Cx, done_text, form_error};

/// Every integration of the account (a catalog is a few hundred at most).
pub(crate) async fn all(cx: &Cx<'_>) -> Result<Vec<Integration>, ApiError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = cx
            .app
            .store
            .list_integrations(&cx.account.id, None, 1000, cursor.as_ref())
            .await?;
        out.extend(page.items.into_iter().map(|v| v.value));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    out.sort_by_key(|i| i.name.to_lowercase());
    Ok(out)
}

pub(crate) async fn list(
    cx: &Cx<'_>,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let status = match query.get("status").map(String::as_str) {
        Some("active") => Some(IntegrationStatus::Active),
        Some("inactive") => Some(IntegrationStatus::Inactive),
        _ => None,
    };
    let q = query.get("q").map(String::as_str).unwrap_or("");
    let all = all(cx).await?;
    Ok(console::integrations(
        &cx.frame(Section::Integrations),
        &all,
        q,
        status,
    ))
}

async fn find(cx: &Cx<'_>, id: &str) -> Result<Option<Versioned<Integration>>, ApiError> {
    Ok(cx
        .app
        .store
        .integration(&cx.account.id, &IntegrationId::from(id))
        .await?)
}

fn client_id(integration: &Integration) -> &str {
    integration
        .auth_options
        .iter()
        .find_map(|o| o.method.client())
        .map_or("", |c| c.client_id.as_str())
}

pub(crate) async fn show(
    cx: &Cx<'_>,
    id: &str,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let Some(found) = find(cx, id).await? else {
        return Ok(cx.not_found(Section::Integrations, "integration"));
    };
    let integration = &found.value;
    let done = done_text(query).map(Notice::Done);
    Ok(console::integration(
        &cx.frame(Section::Integrations),
        integration,
        cx.app.callback_url(integration.id.as_str()).as_str(),
        client_id(integration),
        done.as_ref(),
        None,
    ))
}

/// `action=status` (with `status`) or `action=app` (client id, and secret unless kept).
pub(crate) async fn save(
    cx: &Cx<'_>,
    id: &str,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let Some(found) = find(cx, id).await? else {
        return Ok(cx.not_found(Section::Integrations, "integration"));
    };
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    let patch: Value = match field("action") {
        "status" => json!({ "status": field("status") }),
        _ => {
            let mut client = json!({ "client_id": field("client.client_id") });
            if !field("client.client_secret").is_empty() {
                client["client_secret"] = json!(field("client.client_secret"));
            }
            json!({ "status": "active", "client": client })
        }
    };
    let path = format!("/v1/integrations/{}", found.value.id);
    match cx.api(Method::PATCH, &path, Some(patch)).await {
        Ok(_) => Ok(console::see_other(
            &cx.href(&format!("integrations/{}?done=saved", found.value.id)),
        )),
        Err(problem) => Ok(console::integration(
            &cx.frame(Section::Integrations),
            &found.value,
            cx.app.callback_url(found.value.id.as_str()).as_str(),
            field("client.client_id"),
            None,
            Some(&form_error(&problem)),
        )),
    }
}
