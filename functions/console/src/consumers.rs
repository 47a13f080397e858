//! The console's consumers: list and search, create, one consumer with its connections,
//! and activation links (also the marketplace preview: a link with no integration).

use std::collections::{BTreeMap, HashMap};

use latchkey_domain::{Consumer, ConsumerId, IntegrationStatus};
use latchkey_pages::FormError;
use latchkey_pages::console::{self, ConsumerPage, Notice, Section};
use latchkey_store::{Connections, Consumers};
use latchkey_web::{ApiError, Method, Response};
use serde_json::{Map, Value, json};

use crate::connections::named;
use crate::{Cx, api, done, form_error};

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
    // After a deletion (`?done=`); a failed create shows its problem instead.
    let done = done(query);
    Ok(console::consumers(
        &cx.frame(Section::Consumers),
        &all,
        q,
        typed,
        done.as_ref().filter(|_| error.is_none()),
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
    notice: Option<&Notice<'_>>,
    failed: Option<(&BTreeMap<String, String>, &FormError<'_>)>,
) -> Result<Response, ApiError> {
    let error = failed.map(|(_, e)| e);
    let typed: Vec<(&str, &str)> = failed
        .iter()
        .flat_map(|(form, _)| form.iter())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
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
    let preview = format!("consumers/{}/links", consumer.value.id);
    Ok(console::consumer(
        &cx.frame(Section::Consumers),
        &ConsumerPage {
            consumer: &consumer.value,
            version: consumer.version,
            connections: &rows,
            active: &active,
            preview: &preview,
            typed: &typed,
        },
        link,
        notice,
        error,
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
        Ok(answer) => {
            let (url, expires_at) = crate::api::link(&answer);
            if form.contains_key("preview") {
                return Ok(latchkey_pages::redirect(&url));
            }
            show(cx, id, Some((&url, expires_at)), None, None).await
        }
        Err(problem) => show(cx, id, None, None, Some((form, &form_error(&problem)))).await,
    }
}

/// `action=edit` (the consumer's details) or `action=delete`.
pub(crate) async fn save(
    cx: &Cx<'_>,
    id: &str,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let path = format!("/v1/consumers/{}", ConsumerId::from(id));
    if form.get("action").map(String::as_str) == Some("delete") {
        return match cx.api(Method::DELETE, &path, None).await {
            Ok(_) => Ok(console::see_other(&cx.href("consumers?done=deleted"))),
            Err(problem) => show(cx, id, None, None, Some((form, &form_error(&problem)))).await,
        };
    }
    let text = |name: &str| match form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(v) => json!(v),
        None => Value::Null,
    };
    let body = json!({
        "name": form.get("consumer.name").map_or("", |v| v.trim()),
        "internal_reference": text("consumer.internal_reference"),
        "email": text("consumer.email"),
    });
    // Only over the version the page showed (versions start at 1: a missing one matches
    // nothing), so a change made since is not overwritten unseen.
    let shown = form
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    match cx.api_if_match(Method::PATCH, &path, body, shown).await {
        Ok(_) => Ok(console::see_other(
            &cx.href(&format!("consumers/{id}?done=saved")),
        )),
        Err(mut problem) => {
            if problem.is_stale() {
                problem = api::Problem {
                    field: Some("version".into()),
                    detail: "This consumer changed since the page was opened: nothing was saved. The form shows what you typed: save again to replace the newer details with it, or open the page again to see them.".into(),
                };
            } else {
                // The details form's fields are `consumer.{field}` (the link form has its
                // own `name`).
                problem.field = problem.field.map(|f| format!("consumer.{f}"));
            }
            show(cx, id, None, None, Some((form, &form_error(&problem)))).await
        }
    }
}
