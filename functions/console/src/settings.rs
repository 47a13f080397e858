//! The console's settings: the account's PATCH, branding, webhook URL, secret rotation.

use std::collections::{BTreeMap, HashMap};

use latchkey_pages::FormError;
use latchkey_pages::console::{self, Notice, Rotated, Section};
use latchkey_store::Accounts;
use latchkey_web::{ApiError, Method, Response};
use serde_json::{Value, json};

use crate::{Cx, done_text, form_error};

/// The page over the account as it is now (an action may just have changed it).
async fn render(
    cx: &Cx<'_>,
    typed: &[(&str, &str)],
    rotated: Option<&Rotated<'_>>,
    notice: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Result<Response, ApiError> {
    let account = cx
        .app
        .store
        .account(&cx.account.id)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    Ok(console::settings(
        &cx.frame(Section::Settings),
        &account.value,
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
    let done = done_text(query).map(Notice::Done);
    render(cx, &[], None, done.as_ref(), None).await
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
        Some("branding") => {
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
            // The branding is replaced whole: the logo (set through the API) stays.
            if let Some(logo) = &cx.account.branding.logo {
                branding.insert("logo".into(), json!(logo));
            }
            ("/v1/account", Some(json!({ "branding": branding })), None)
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
        Err(problem) => {
            let typed: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            render(cx, &typed, None, None, Some(&form_error(&problem))).await
        }
    }
}
