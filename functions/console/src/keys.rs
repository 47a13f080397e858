//! The console's API keys: list, create (shown once), revoke.

use std::collections::{BTreeMap, HashMap};

use latchkey_domain::ApiKey;
use latchkey_pages::FormError;
use latchkey_pages::console::{self, Notice, Section};
use latchkey_store::Accounts;
use latchkey_web::{ApiError, Method, Response};
use serde_json::json;

use crate::{Cx, done, form_error};

async fn render(
    cx: &Cx<'_>,
    created: Option<&str>,
    notice: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Result<Response, ApiError> {
    let mut keys: Vec<ApiKey> = cx
        .app
        .store
        .api_keys(&cx.account.id)
        .await?
        .into_iter()
        .map(|k| k.value)
        .collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    Ok(console::api_keys(
        &cx.frame(Section::ApiKeys),
        &keys,
        created,
        notice,
        error,
    ))
}

pub(crate) async fn list(
    cx: &Cx<'_>,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let done = done(query);
    render(cx, None, done.as_ref(), None).await
}

pub(crate) async fn create(
    cx: &Cx<'_>,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let mut body = json!({ "scopes": [form.get("scope").map_or("connect", String::as_str)] });
    if let Some(label) = form
        .get("label")
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
    {
        body["label"] = json!(label);
    }
    match cx.api(Method::POST, "/v1/api-keys", Some(body)).await {
        Ok(created) => render(cx, created["key"].as_str(), None, None).await,
        Err(problem) => render(cx, None, None, Some(&form_error(&problem))).await,
    }
}

pub(crate) async fn revoke(cx: &Cx<'_>, id: &str) -> Result<Response, ApiError> {
    let path = format!(
        "/v1/api-keys/{}",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    );
    match cx.api(Method::DELETE, &path, None).await {
        Ok(_) => Ok(console::see_other(&cx.href("api-keys?done=revoked"))),
        Err(problem) => render(cx, None, None, Some(&form_error(&problem))).await,
    }
}
