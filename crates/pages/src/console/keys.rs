//! API keys in the console: list, create (the key shown once), revoke.

use maud::html;

use super::{Frame, Notice, copyable, form_error, input, notice, page, when};
use crate::FormError;
use latchkey_domain::ApiKey;
use latchkey_web::Response;

/// The account's keys; `created` is a key just made, shown this once.
pub fn api_keys(
    frame: &Frame<'_>,
    keys: &[ApiKey],
    created: Option<&str>,
    notice_: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Response {
    let scopes = |k: &ApiKey| {
        k.scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let status = super::status_for(error);
    let body = html! {
        h1 { "API keys" }
        (notice(notice_))
        @if let Some(key) = created {
            section.once aria-labelledby="created-h" {
                h2 id="created-h" { "Your new key" }
                p { "Copy it now: it is shown this once and cannot be recovered." }
                (copyable("new-key", "API key", key))
            }
        }
        table {
            thead { tr {
                th scope="col" { "Label" } th scope="col" { "Scopes" } th scope="col" { "Created" }
                th scope="col" { "Last used" } th scope="col" { "Expires" } th scope="col" { span.visually-hidden { "Actions" } }
            } }
            tbody {
                @for k in keys {
                    tr {
                        td { (k.label.as_deref().unwrap_or("—")) br; small.code { (k.id) } }
                        td data-label="Scopes" { (scopes(k)) }
                        td data-label="Created" { (when(Some(k.created_at))) }
                        td data-label="Last used" { (when(k.last_used_at)) }
                        td data-label="Expires" { (when(k.expires_at)) }
                        td {
                            form method="post" action=(frame.href(&format!("api-keys/{}/revoke", k.id))) {
                                (frame.csrf_field())
                                button type="submit" aria-label={ "Revoke " (k.label.as_deref().unwrap_or(&k.id)) } { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="new-h" {
            h2 id="new-h" { "New key" }
            (form_error(error, &["label", "scopes"]))
            form method="post" action=(frame.href("api-keys")) data-busy="Creating…" {
                (frame.csrf_field())
                (input("label", "Label", "", "text", false, Some("Where the key is used, for you to recognise it."), error))
                fieldset {
                    legend { "Scope" }
                    label.choice { input type="radio" name="scope" value="connect" checked; " connect — what your web tier needs to let users connect" }
                    label.choice { input type="radio" name="scope" value="full"; " full — everything, credentials and settings included" }
                }
                div.actions { button.primary type="submit" { "Create key" } }
            }
        }
    };
    page(frame, status, "API keys", body)
}
