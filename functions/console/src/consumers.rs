//! The console's consumers: list and search, create, one consumer with its connections,
//! and activation links (also the marketplace preview: a link with no integration).

use std::collections::{BTreeMap, HashMap};

use latchkey_domain::{Consumer, ConsumerId, IntegrationStatus};
use latchkey_pages::FormError;
use latchkey_pages::console::{self, Section};
use latchkey_store::{Connections, Consumers};
use latchkey_web::{ApiError, Method, Response};
use serde_json::{Map, Value, json};

use crate::connections::named;
use crate::{Cx, form_error};

/// Consumers shown on the list (a search by internal reference finds any other).
const SHOWN: usize = 100;

pub(crate) async fn list(
    cx: &Cx<'_>,
    query: &HashMap<String, String>,
    typed: &[(&str, &str)],
    error: Option<&FormError<'_>>,
) -> Result<Response, ApiError> {
    let q = query.get("q").map(String::as_str).unwrap_or("");
    let page = cx
        .app
        .store
        .list_consumers(&cx.account.id, SHOWN, None)
        .await?;
    let more = page.next.is_some();
    let mut all: Vec<Consumer> = page.items.into_iter().map(|v| v.value).collect();
    if !q.trim().is_empty()
        && let Some(found) = cx
            .app
            .store
            .consumer_by_reference(&cx.account.id, q.trim())
            .await?
        && !all.iter().any(|c| c.id == found.value.id)
    {
        all.insert(0, found.value);
    }
    Ok(console::consumers(
        &cx.frame(Section::Consumers),
        &all,
        q,
        typed,
        error,
        more,
    ))
}

pub(crate) async fn create(
    cx: &Cx<'_>,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let mut body = Map::new();
    for name in ["name", "internal_reference", "email"] {
        let value = form.get(name).map(|v| v.trim()).unwrap_or("");
        if name == "name" || !value.is_empty() {
            body.insert(name.into(), json!(value));
        }
    }
    match cx
        .api(Method::POST, "/v1/consumers", Some(Value::Object(body)))
        .await
    {
        Ok(created) => {
            let id = created["id"].as_str().unwrap_or_default();
            Ok(console::see_other(&cx.href(&format!("consumers/{id}"))))
        }
        Err(problem) => {
            let typed: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            list(cx, &HashMap::new(), &typed, Some(&form_error(&problem))).await
        }
    }
}

pub(crate) async fn show(
    cx: &Cx<'_>,
    id: &str,
    link: Option<(&str, i64)>,
    error: Option<&FormError<'_>>,
) -> Result<Response, ApiError> {
    let id = ConsumerId::from(id);
    let (consumer, connections, integrations) = tokio::join!(
        cx.app.store.consumer(&cx.account.id, &id),
        cx.app
            .store
            .consumer_connections(&cx.account.id, &id, None, 100, None),
        crate::integrations::all(cx),
    );
    let Some(consumer) = consumer? else {
        return Ok(cx.not_found(Section::Consumers, "consumer"));
    };
    let connections: Vec<_> = connections?.items.into_iter().map(|v| v.value).collect();
    let integrations = integrations?;
    let consumers = [consumer.value.clone()];
    let rows = named(&connections, &integrations, &consumers);
    let active: Vec<_> = integrations
        .iter()
        .filter(|i| i.status == IntegrationStatus::Active)
        .cloned()
        .collect();
    Ok(console::consumer(
        &cx.frame(Section::Consumers),
        &consumer.value,
        &rows,
        &active,
        link,
        error,
        &format!("consumers/{}/links", consumer.value.id),
    ))
}

/// An activation link for the consumer (to one integration, or the marketplace); with
/// `preview`, the browser goes straight to it.
pub(crate) async fn link(
    cx: &Cx<'_>,
    id: &str,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let mut body = json!({ "name": form.get("name").map_or("", |n| n.trim()) });
    if let Some(integration) = form.get("integration_id").filter(|v| !v.is_empty()) {
        body["integration_id"] = json!(integration);
    }
    let path = format!("/v1/consumers/{}/connections", ConsumerId::from(id));
    match cx.api(Method::POST, &path, Some(body)).await {
        Ok(link) => {
            let url = link["url"].as_str().unwrap_or_default();
            if form.contains_key("preview") {
                return Ok(latchkey_pages::redirect(url));
            }
            let expires_at = link["expires_at"]
                .as_str()
                .and_then(api_time)
                .unwrap_or_default();
            show(cx, id, Some((url, expires_at)), None).await
        }
        Err(problem) => show(cx, id, None, Some(&form_error(&problem))).await,
    }
}

/// Epoch seconds of an RFC 3339 time the API answered.
fn api_time(text: &str) -> Option<i64> {
    latchkey_api::Timestamp::parse(text).map(|t| t.0)
}
