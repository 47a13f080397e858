//! The console's settings: the account's PATCH, branding, webhook URL, secret rotation.

use std::collections::{BTreeMap, HashMap};

use latchkey_domain::{DeliveryState, WebhookDelivery};
use latchkey_pages::FormError;
use latchkey_pages::console::{self, Notice, Rotated, Section};
use latchkey_store::{Accounts, Outbox};
use latchkey_web::{ApiError, Method, Response};
use serde_json::{Value, json};

use crate::{Cx, api, done, form_error};

/// The page over the account as it is now (an action may just have changed it).
async fn render(
    cx: &Cx<'_>,
    typed: &[(&str, &str)],
    rotated: Option<&Rotated<'_>>,
    notice: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Result<Response, ApiError> {
    render_tested(cx, typed, rotated, notice, error, None).await
}

/// [`render`], saying how the test event `tested` (an id from the redirect after sending
/// it) went, when it is among the listed deliveries.
async fn render_tested(
    cx: &Cx<'_>,
    typed: &[(&str, &str)],
    rotated: Option<&Rotated<'_>>,
    notice: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
    tested: Option<&str>,
) -> Result<Response, ApiError> {
    let account = cx
        .app
        .store
        .account(&cx.account.id)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    let deliveries = cx
        .app
        .store
        .account_webhooks(&cx.account.id, RECENT_DELIVERIES, None)
        .await?;
    let deliveries: Vec<WebhookDelivery> = deliveries.items.into_iter().map(|d| d.value).collect();
    let outcome = tested
        .and_then(|id| deliveries.iter().find(|d| d.id == id))
        .map(test_outcome);
    let outcome_notice = outcome.as_ref().map(|(taken, text)| {
        if *taken {
            Notice::Done(text)
        } else {
            Notice::Failed(text)
        }
    });
    let notice = notice.or(outcome_notice.as_ref());
    Ok(console::settings(
        &cx.frame(Section::Settings),
        &account.value,
        &deliveries,
        typed,
        rotated,
        notice,
        error,
    ))
}

pub(crate) async fn show(
    cx: &Cx<'_>,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let done = done(query);
    let tested = query.get("tested").map(String::as_str);
    render_tested(cx, &[], None, done.as_ref(), None, tested).await
}

/// The deliveries the page lists (newest first).
const RECENT_DELIVERIES: usize = 25;

/// The logo the branding form sends: the file the page's script read, as a data URL
/// (`data:image/png;base64,…`); `None` when the URL is not one.
fn logo_of(data_url: &str) -> Option<Value> {
    let (content_type, data) = data_url.strip_prefix("data:")?.split_once(";base64,")?;
    Some(json!({ "content_type": content_type, "data_base64": data }))
}

/// The branding as the form sets it: every text field, and the logo chosen, kept or removed.
fn branding(cx: &Cx<'_>, form: &BTreeMap<String, String>) -> Result<Value, api::Problem> {
    let mut branding = serde_json::Map::new();
    for (field, name) in [
        ("display_name", "branding.display_name"),
        ("primary_color", "branding.primary_color"),
        ("support_url", "branding.support_url"),
    ] {
        let value = optional(form, name);
        if !value.is_null() {
            branding.insert(field.into(), value);
        }
    }
    let chosen = form.get("branding.logo").map_or("", |v| v.trim());
    let logo = if form.contains_key("remove_logo") {
        None
    } else if chosen.is_empty() {
        // The branding is replaced whole: the logo stays unless another is chosen.
        cx.account.branding.logo.as_ref().map(|logo| json!(logo))
    } else {
        Some(logo_of(chosen).ok_or_else(|| api::Problem {
            field: Some("branding.logo".into()),
            detail: "must be an image file".into(),
        })?)
    };
    if let Some(logo) = logo {
        branding.insert("logo".into(), logo);
    }
    Ok(json!({ "branding": branding }))
}

/// The logo's problems name its parts (`branding.logo.content_type`); the form has one
/// field for it.
fn on_logo_field(mut problem: api::Problem) -> api::Problem {
    if let Some(part) = problem
        .field
        .as_deref()
        .and_then(|f| f.strip_prefix("branding.logo."))
    {
        let what = if part == "content_type" {
            "The file type"
        } else {
            "The file"
        };
        let rest = problem.detail.rsplit_once(": ").map_or("", |(_, r)| r);
        problem.detail = format!("{what} {rest}.");
        problem.field = Some("branding.logo".into());
    }
    problem
}

/// A test event's outcome, in words: whether the endpoint took it, and what happened.
fn test_outcome(delivery: &WebhookDelivery) -> (bool, String) {
    match (delivery.state(), delivery.last_response) {
        (DeliveryState::Delivered, Some(code)) => (
            true,
            format!("Test event delivered: your endpoint answered HTTP {code}."),
        ),
        (_, Some(code)) => (
            false,
            format!(
                "Your endpoint answered HTTP {code}: the test event was not taken. It is retried with backoff."
            ),
        ),
        _ => (
            false,
            "Your endpoint did not answer: the test event was not taken. It is retried with backoff."
                .to_owned(),
        ),
    }
}

/// A text field, `null` when left empty (the API then clears it).
fn optional(form: &BTreeMap<String, String>, name: &str) -> Value {
    match form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(v) => json!(v),
        None => Value::Null,
    }
}

pub(crate) async fn save(
    cx: &Cx<'_>,
    form: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let (path, body, rotates) = match form.get("action").map(String::as_str) {
        Some("rotate-webhook") => (
            "/v1/account/webhook-secret",
            None,
            Some("webhook signing secret"),
        ),
        Some("rotate-jwt") => (
            "/v1/account/jwt-secret",
            None,
            Some("workspace-token secret"),
        ),
        Some("branding") => match branding(cx, form) {
            Ok(body) => ("/v1/account", Some(body), None),
            Err(problem) => return failed(cx, form, problem).await,
        },
        Some("test-webhook") => {
            return match cx
                .api(Method::POST, "/v1/account/webhooks/test", None)
                .await
            {
                // After a redirect, so that reloading the page sends nothing.
                Ok(delivery) => Ok(console::see_other(&cx.href(&format!(
                    "settings?tested={}",
                    delivery["id"].as_str().unwrap_or_default()
                )))),
                Err(problem) => failed(cx, form, problem).await,
            };
        }
        Some("webhook") => (
            "/v1/account",
            Some(json!({ "webhook_url": optional(form, "webhook_url") })),
            None,
        ),
        _ => {
            let origins: Vec<&str> = form
                .get("allowed_redirect_origins")
                .map(|v| v.split_whitespace().collect())
                .unwrap_or_default();
            (
                "/v1/account",
                Some(json!({
                    "name": form.get("name").map_or("", |v| v.trim()),
                    "redirect_url": optional(form, "redirect_url"),
                    "allowed_redirect_origins": origins,
                    "append_result_params": form.contains_key("append_result_params"),
                    "auto_create_consumers": form.contains_key("auto_create_consumers"),
                })),
                None,
            )
        }
    };
    let method = if rotates.is_some() {
        Method::POST
    } else {
        Method::PATCH
    };
    match cx.api(method, path, body).await {
        Ok(answer) => match rotates {
            Some(what) => {
                let secret = answer["secret"].as_str().unwrap_or_default();
                render(cx, &[], Some(&Rotated { what, secret }), None, None).await
            }
            None => Ok(console::see_other(&cx.href("settings?done=saved"))),
        },
        Err(problem) => failed(cx, form, problem).await,
    }
}

/// The page again with what was typed and the problem next to its field.
async fn failed(
    cx: &Cx<'_>,
    form: &BTreeMap<String, String>,
    problem: api::Problem,
) -> Result<Response, ApiError> {
    let problem = on_logo_field(problem);
    let typed: Vec<(&str, &str)> = form
        .iter()
        .filter(|(k, _)| k.as_str() != "branding.logo")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    render(cx, &typed, None, None, Some(&form_error(&problem))).await
}
