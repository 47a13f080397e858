//! The console's connections: the inventory by status, one connection, and its actions
//! (refresh now, a re-authorisation link, disconnect).

use std::collections::{BTreeMap, HashMap};

use latchkey_domain::{Connection, ConnectionId, ConnectionStatus, Consumer, Integration};
use latchkey_pages::FormError;
use latchkey_pages::console::{self, ConnectionRow, Notice, Section, StatusCounts};
use latchkey_store::{
    Connections, Consumers, Cursor, Integrations, InventoryFilter, StoreResult, Versioned,
};
use latchkey_web::{ApiError, Method, Response};
use serde_json::json;

use crate::{Cx, done, form_error};

/// Connections a tab counts before it shows `n+`.
const COUNTED: usize = 100;
/// Connections a page lists.
const PAGE: usize = 50;

/// Rows with the names of their integrations and consumers.
pub(crate) fn named<'a>(
    connections: &'a [Connection],
    integrations: &'a [Integration],
    consumers: &'a [Consumer],
) -> Vec<ConnectionRow<'a>> {
    connections
        .iter()
        .map(|c| ConnectionRow {
            connection: c,
            integration: integrations
                .iter()
                .find(|i| i.id == c.integration_id)
                .map_or("(deleted integration)", |i| i.name.as_str()),
            consumer: consumers
                .iter()
                .find(|k| k.id == c.consumer_id)
                .map_or("(deleted consumer)", |k| k.name.as_str()),
        })
        .collect()
}

/// The distinct ids `id` picks from `connections`, each read with `read`, all at once;
/// an id whose item is gone reads nothing.
async fn each_named<'a, Id, T, Fut>(
    connections: &'a [Connection],
    id: impl Fn(&'a Connection) -> &'a Id,
    read: impl Fn(&'a Id) -> Fut,
) -> Result<Vec<T>, ApiError>
where
    Id: Ord + 'a,
    Fut: Future<Output = StoreResult<Option<Versioned<T>>>>,
{
    let mut ids: Vec<&Id> = connections.iter().map(id).collect();
    ids.sort();
    ids.dedup();
    let found = futures_util::future::join_all(ids.into_iter().map(read)).await;
    let mut out = Vec::new();
    for item in found {
        out.extend(item?.map(|v| v.value));
    }
    Ok(out)
}

/// The consumers and integrations `connections` name (not the whole catalog: a page
/// names a few).
pub(crate) async fn names_of(
    cx: &Cx<'_>,
    connections: &[Connection],
) -> Result<(Vec<Integration>, Vec<Consumer>), ApiError> {
    let account = &cx.account.id;
    let store = &cx.app.store;
    let (integrations, consumers) = tokio::join!(
        each_named(
            connections,
            |c| &c.integration_id,
            |id| store.integration(account, id)
        ),
        each_named(
            connections,
            |c| &c.consumer_id,
            |id| store.consumer(account, id)
        ),
    );
    Ok((integrations?, consumers?))
}

/// How many connections are in `status`, up to [`COUNTED`].
async fn count(cx: &Cx<'_>, status: ConnectionStatus) -> Result<Option<usize>, ApiError> {
    let filter = InventoryFilter {
        status: Some(status),
        ..InventoryFilter::default()
    };
    let page = cx
        .app
        .store
        .connection_inventory(&cx.account.id, &filter, COUNTED, None)
        .await?;
    Ok(page.next.is_none().then_some(page.items.len()))
}

pub(crate) async fn list(
    cx: &Cx<'_>,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let status = query
        .get("status")
        .and_then(|s| ConnectionStatus::listed(s));
    let cursor = query
        .get("cursor")
        .filter(|c| !c.is_empty())
        .map(|c| Cursor::parse(c))
        .transpose()?;
    let filter = InventoryFilter {
        status,
        ..InventoryFilter::default()
    };
    let (page, active, needs_reauth, error) = tokio::join!(
        cx.app
            .store
            .connection_inventory(&cx.account.id, &filter, PAGE, cursor.as_ref()),
        count(cx, ConnectionStatus::Active),
        count(cx, ConnectionStatus::NeedsReauth),
        count(cx, ConnectionStatus::Error),
    );
    let page = page?;
    let connections: Vec<Connection> = page.items.into_iter().map(|v| v.value).collect();
    let (integrations, consumers) = names_of(cx, &connections).await?;
    let counts = StatusCounts {
        active: active?,
        needs_reauth: needs_reauth?,
        error: error?,
        cap: COUNTED,
    };
    let next = page.next.map(|n| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = status {
            query.append_pair("status", s.as_str());
        }
        query.append_pair("cursor", n.as_str());
        cx.href(&format!("connections?{}", query.finish()))
    });
    Ok(console::connections(
        &cx.frame(Section::Connections),
        &named(&connections, &integrations, &consumers),
        status,
        &counts,
        next.as_deref(),
    ))
}

/// The account's connection `id`, if it has one.
async fn find(cx: &Cx<'_>, id: &str) -> Result<Option<Connection>, ApiError> {
    let found = cx
        .app
        .store
        .connection(&cx.account.id, &ConnectionId::from(id))
        .await?;
    Ok(found.map(|v| v.value))
}

/// The connection's page, with a notice, a re-authorisation link or a problem.
async fn render(
    cx: &Cx<'_>,
    id: &str,
    link: Option<(&str, i64)>,
    notice: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Result<Response, ApiError> {
    let Some(found) = find(cx, id).await? else {
        return Ok(cx.not_found(Section::Connections, "connection"));
    };
    let connections = [found];
    let (integrations, consumers) = names_of(cx, &connections).await?;
    let rows = named(&connections, &integrations, &consumers);
    Ok(console::connection(
        &cx.frame(Section::Connections),
        &rows[0],
        link,
        notice,
        error,
    ))
}

pub(crate) async fn show(
    cx: &Cx<'_>,
    id: &str,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let done = done(query);
    render(cx, id, None, done.as_ref(), None).await
}

/// `action` = `refresh`, `reauthorise` or `disconnect`.
pub(crate) async fn act(
    cx: &Cx<'_>,
    id: &str,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let Some(c) = find(cx, id).await? else {
        return Ok(cx.not_found(Section::Connections, "connection"));
    };
    let done = match form.get("action").map(String::as_str) {
        Some("refresh") => cx
            .api(
                Method::POST,
                &format!("/v1/connections/{}/refresh", c.id),
                None,
            )
            .await
            .map(|_| cx.href(&format!("connections/{}?done=refreshed", c.id))),
        Some("disconnect") => cx
            .api(Method::DELETE, &format!("/v1/connections/{}", c.id), None)
            .await
            .map(|_| cx.href("connections?done=disconnected")),
        _ => {
            let body = json!({
                "name": c.name, "integration_id": c.integration_id, "connection_id": c.id
            });
            let path = format!("/v1/consumers/{}/connections", c.consumer_id);
            match cx.api(Method::POST, &path, Some(body)).await {
                Ok(answer) => {
                    let (url, expires_at) = crate::api::link(&answer);
                    return render(cx, id, Some((&url, expires_at)), None, None).await;
                }
                Err(problem) => Err(problem),
            }
        }
    };
    match done {
        Ok(location) => Ok(console::see_other(&location)),
        Err(problem) => render(cx, id, None, None, Some(&form_error(&problem))).await,
    }
}
