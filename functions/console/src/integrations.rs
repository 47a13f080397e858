//! The console's integrations: list, one integration, its status and OAuth app.

use std::collections::{BTreeMap, HashMap};

use latchkey_domain::{
    ApiDefinition, AuthOption, Category, Integration, IntegrationId, IntegrationStatus,
    ParameterSpec,
};
use latchkey_pages::FormError;
use latchkey_pages::console::{self, IntegrationPage, Notice, Section};
use latchkey_store::{Connections, Integrations, Versioned};
use latchkey_web::{ApiError, Method, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{Cx, api, done, form_error};

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
    let done = done(query);
    Ok(console::integrations(
        &cx.frame(Section::Integrations),
        &all,
        q,
        status,
        done.as_ref(),
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

/// Connections counted on an integration's page (its delete spells out how many go).
const CONNECTIONS_COUNTED: usize = 100;

/// A new definition's starting point: an OAuth 2.0 provider to rename and fill in.
const NEW_DEFINITION: &str = r#"{
  "key": "acme",
  "name": "Acme",
  "status": "inactive",
  "description": "What your customers connect it for.",
  "categories": [],
  "auth_options": [
    {
      "key": "oauth",
      "type": "oauth2",
      "authorization_url": "https://acme.example/oauth/authorize",
      "token_url": "https://acme.example/oauth/token",
      "scopes": ["read"]
    }
  ],
  "api": { "base_url": "https://api.acme.example" }
}"#;

/// A custom integration as its editor shows it: the input `PUT /v1/integrations/{id}`
/// takes, in its fields' order, without client secrets (a definition without one keeps
/// the stored secret) and without the logo (kept unless the JSON names one), so saving
/// it unchanged changes nothing.
#[derive(Serialize)]
struct Definition<'a> {
    key: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    status: IntegrationStatus,
    categories: &'a [Category],
    #[serde(skip_serializing_if = "Option::is_none")]
    docs_url: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    parameters: &'a [ParameterSpec],
    auth_options: Vec<AuthOption>,
    api: &'a ApiDefinition,
}

fn definition(integration: &Integration) -> String {
    let mut auth_options = integration.auth_options.clone();
    for option in &mut auth_options {
        if let Some(Some(client)) = option.method.client_mut() {
            client.client_secret = None;
        }
    }
    let definition = Definition {
        key: &integration.key,
        name: &integration.name,
        description: integration.description.as_deref(),
        version: integration.version.as_deref(),
        status: integration.status,
        categories: &integration.categories,
        docs_url: integration.docs_url.as_deref(),
        parameters: &integration.parameters,
        auth_options,
        api: &integration.api,
    };
    serde_json::to_string_pretty(&definition).expect("definitions serialize")
}

/// The integration's page; its definition form edits `version`.
async fn page_for(
    cx: &Cx<'_>,
    found: &Versioned<Integration>,
    version: u64,
    client_id: &str,
    definition_text: Option<&str>,
    notice: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Result<Response, ApiError> {
    let integration = &found.value;
    let counted = cx
        .app
        .store
        .integration_connections(&cx.account.id, &integration.id, CONNECTIONS_COUNTED)
        .await?
        .len();
    let stored = integration
        .builtin
        .is_none()
        .then(|| definition(integration));
    let redirect_uri = cx.app.callback_url(integration.id.as_str());
    Ok(console::integration(
        &cx.frame(Section::Integrations),
        &IntegrationPage {
            integration,
            version,
            redirect_uri: redirect_uri.as_str(),
            client_id,
            definition: definition_text.or(stored.as_deref()),
            connections: counted,
            connections_capped: counted == CONNECTIONS_COUNTED,
        },
        notice,
        error,
    ))
}

pub(crate) async fn show(
    cx: &Cx<'_>,
    id: &str,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let Some(found) = find(cx, id).await? else {
        return Ok(cx.not_found(Section::Integrations, "integration"));
    };
    let done = done(query);
    page_for(
        cx,
        &found,
        found.version,
        client_id(&found.value),
        None,
        done.as_ref(),
        None,
    )
    .await
}

pub(crate) fn new(cx: &Cx<'_>) -> Response {
    console::new_integration(&cx.frame(Section::Integrations), NEW_DEFINITION, None)
}

/// The editor's JSON, or the problem with it as the form shows it.
fn parsed(text: &str) -> Result<Value, api::Problem> {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| api::Problem {
            field: Some("definition".into()),
            detail: "is not a JSON object: check its brackets, quotes and commas".into(),
        })
}

/// A definition that failed, as the editor shows it again: as typed, but without any
/// client secret typed into it (a page never shows one; it is typed again).
fn shown_again(text: &str) -> String {
    let Ok(mut json) = serde_json::from_str::<Value>(text) else {
        return text.to_owned();
    };
    let mut removed = false;
    for option in json["auth_options"].as_array_mut().into_iter().flatten() {
        if let Some(client) = option.get_mut("client").and_then(Value::as_object_mut) {
            removed |= client.remove("client_secret").is_some();
        }
    }
    if removed {
        serde_json::to_string_pretty(&json).expect("JSON prints")
    } else {
        text.to_owned()
    }
}

/// The API's problem with a definition, next to the editor: its detail names the path.
fn on_definition(problem: api::Problem) -> api::Problem {
    if problem.is_stale() {
        return api::Problem {
            field: Some("definition".into()),
            detail: "the integration changed since this page was opened (someone saved it, or its status or OAuth app changed): nothing was saved. Your text is below: save again to replace the newer definition with it, or open the page again to see that one".into(),
        };
    }
    match problem.field {
        Some(field) if field != "definition" => api::Problem {
            field: Some("definition".into()),
            detail: if problem.detail.starts_with(&field) {
                problem.detail
            } else {
                format!("{field}: {}", problem.detail)
            },
        },
        _ => api::Problem {
            field: Some("definition".into()),
            ..problem
        },
    }
}

/// `POST /console/integrations`: a custom integration from its definition.
pub(crate) async fn create(
    cx: &Cx<'_>,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let text = form.get("definition").map_or("", String::as_str);
    let created = match parsed(text) {
        Ok(body) => cx
            .api(Method::POST, "/v1/integrations", Some(body))
            .await
            .map_err(on_definition),
        Err(problem) => Err(problem),
    };
    match created {
        Ok(answer) => {
            let id = answer["id"].as_str().unwrap_or_default();
            Ok(console::see_other(
                &cx.href(&format!("integrations/{id}?done=created")),
            ))
        }
        Err(problem) => Ok(console::new_integration(
            &cx.frame(Section::Integrations),
            &shown_again(text),
            Some(&form_error(&problem)),
        )),
    }
}

/// `action=status` (with `status`), `action=app` (client id, and secret unless kept),
/// `action=definition` (a custom integration's JSON) or `action=delete` (with its
/// connections).
pub(crate) async fn save(
    cx: &Cx<'_>,
    id: &str,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let Some(found) = find(cx, id).await? else {
        return Ok(cx.not_found(Section::Integrations, "integration"));
    };
    let integration = &found.value;
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    let path = format!("/v1/integrations/{}", integration.id);
    let custom = integration.builtin.is_none();
    // The version the definition form edits when the page is shown again; `None`: the
    // newest, read again.
    let mut shown_version = Some(found.version);
    let (answer, done) = match field("action") {
        // A built-in has no definition to edit and is deactivated, not deleted.
        "delete" | "definition" if !custom => {
            return Ok(console::see_other(
                &cx.href(&format!("integrations/{}", integration.id)),
            ));
        }
        "delete" => {
            let path = format!("{path}?cascade=true");
            match cx.api(Method::DELETE, &path, None).await {
                Ok(_) => {
                    return Ok(console::see_other(&cx.href("integrations?done=deleted")));
                }
                Err(problem) => (Err(problem), ""),
            }
        }
        "definition" => {
            // Only over the version the page showed: a save in between (or a status or app
            // change) is not overwritten. (Versions start at 1: a missing one matches
            // nothing.)
            let posted = field("version").parse().unwrap_or(0);
            let answer = match parsed(form.get("definition").map_or("", String::as_str)) {
                Ok(mut body) => {
                    // The editor does not show the logo: an edit keeps it.
                    if let (Some(logo), Some(object)) = (&integration.logo, body.as_object_mut()) {
                        object.entry("logo").or_insert_with(|| json!(logo));
                    }
                    cx.api_if_match(Method::PUT, &path, body, posted).await
                }
                Err(problem) => Err(problem),
            };
            // Shown again after a failure: refused for a newer version, over that one
            // (saving again then replaces it, knowingly); refused for anything else, over
            // the version it was typed on, so that a change made meanwhile is still caught.
            shown_version = match &answer {
                Err(problem) if problem.is_stale() => None,
                _ => Some(posted),
            };
            (answer.map_err(on_definition), "saved")
        }
        "status" => (
            cx.api(
                Method::PATCH,
                &path,
                Some(json!({ "status": field("status") })),
            )
            .await,
            "saved",
        ),
        _ => {
            let mut client = json!({ "client_id": field("client.client_id") });
            if !field("client.client_secret").is_empty() {
                client["client_secret"] = json!(field("client.client_secret"));
            }
            let patch = json!({ "status": "active", "client": client });
            (cx.api(Method::PATCH, &path, Some(patch)).await, "saved")
        }
    };
    match answer {
        Ok(_) => Ok(console::see_other(
            &cx.href(&format!("integrations/{}?done={done}", integration.id)),
        )),
        Err(problem) => {
            let typed_definition = form.get("definition").map(|text| shown_again(text));
            let current = match shown_version {
                Some(_) => found,
                None => match find(cx, id).await? {
                    Some(newest) => newest,
                    None => return Ok(cx.not_found(Section::Integrations, "integration")),
                },
            };
            let client_id = if form.contains_key("client.client_id") {
                field("client.client_id")
            } else {
                client_id(&current.value)
            };
            page_for(
                cx,
                &current,
                shown_version.unwrap_or(current.version),
                client_id,
                typed_definition.as_deref(),
                None,
                Some(&form_error(&problem)),
            )
            .await
        }
    }
}
