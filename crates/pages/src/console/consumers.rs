//! Consumers in the console: the list with search and a create form, and one consumer's
//! page with its connections, an activation link to create, and the marketplace as they
//! see it.

use maud::html;

use super::{Frame, Notice, copyable, form_error, input, notice, page, when};
use crate::FormError;
use latchkey_domain::{Consumer, Integration};
use latchkey_web::Response;

use super::connections::{ConnectionRow, rows};

/// The consumers matching `q` (name or internal reference), and the create form with
/// what was typed when creating failed.
pub fn consumers(
    frame: &Frame<'_>,
    all: &[Consumer],
    q: &str,
    typed: &[(&str, &str)],
    notice_: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
    more: bool,
) -> Response {
    let needle = q.trim().to_lowercase();
    let shown: Vec<&Consumer> = all
        .iter()
        .filter(|c| {
            needle.is_empty()
                || c.name.to_lowercase().contains(&needle)
                || c.internal_reference
                    .as_deref()
                    .is_some_and(|r| r.to_lowercase().contains(&needle))
        })
        .collect();
    let value = |name: &str| super::shown(typed, name, "");
    let fields = ["name", "internal_reference", "email"];
    let status = super::status_for(error);
    let body = html! {
        h1 { "Consumers" }
        (notice(notice_))
        p.lead { "Your customers: each connects their own software." }
        form.search role="search" method="get" action=(frame.href("consumers")) {
            label.visually-hidden for="q" { "Search consumers" }
            input id="q" name="q" type="search" value=(q) placeholder="Search by name or internal reference";
            button type="submit" { "Search" }
        }
        @if shown.is_empty() {
            p.help { "No consumer matches." }
        } @else {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Internal reference" } th scope="col" { "Created" } } }
                tbody {
                    @for c in &shown {
                        tr {
                            td { a href=(frame.href(&format!("consumers/{}", c.id))) { (c.name) } }
                            td data-label="Internal reference" { (c.internal_reference.as_deref().unwrap_or("—")) }
                            td data-label="Created" { (when(Some(c.created_at))) }
                        }
                    }
                }
            }
        }
        @if more { p.help { "Showing the first " (all.len()) " consumers; search by internal reference to find others." } }
        section aria-labelledby="new-h" {
            h2 id="new-h" { "New consumer" }
            (form_error(error, &fields))
            form method="post" action=(frame.href("consumers")) data-busy="Creating…" {
                (frame.csrf_field())
                (input("name", "Name", value("name"), "text", true, None, error))
                (input("internal_reference", "Internal reference", value("internal_reference"), "text", false,
                    Some("Your own id for this customer: unique in your account."), error))
                (input("email", "Email", value("email"), "email", false,
                    Some("Where reminder emails go when a connection breaks."), error))
                div.actions { button.primary type="submit" { "Create consumer" } }
            }
        }
    };
    page(frame, status, "Consumers", body)
}

/// What a consumer's page shows: the consumer, its connections, the active integrations
/// a link may name, and `preview`, the console path that makes a marketplace link and
/// opens it.
pub struct ConsumerPage<'a> {
    pub consumer: &'a Consumer,
    /// The stored version the details form edits (sent back as `If-Match`).
    pub version: u64,
    pub connections: &'a [ConnectionRow<'a>],
    pub active: &'a [Integration],
    pub preview: &'a str,
    /// What was typed into a form whose save failed.
    pub typed: &'a [(&'a str, &'a str)],
}

/// One consumer: details, connections, a link to create. `link` is a link just made:
/// its URL and expiry.
pub fn consumer<'a>(
    frame: &Frame<'_>,
    page_: &ConsumerPage<'a>,
    link: Option<(&str, i64)>,
    notice_: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Response {
    let &ConsumerPage {
        consumer,
        version,
        connections,
        active,
        preview,
        typed,
    } = page_;
    let value = |name: &str, stored: &'a str| super::shown(typed, name, stored);
    let path = format!("consumers/{}/links", consumer.id);
    let body = html! {
        p { a href=(frame.href("consumers")) { "← Consumers" } }
        h1 { (consumer.name) }
        (notice(notice_))
        dl.facts {
            dt { "Id" } dd.code { (consumer.id) }
            dt { "Internal reference" } dd { (consumer.internal_reference.as_deref().unwrap_or("—")) }
            dt { "Email" } dd { (consumer.email.as_deref().unwrap_or("—")) }
            dt { "Created" } dd { (when(Some(consumer.created_at))) }
        }
        form method="post" action=(frame.href(preview)) target="_blank" {
            (frame.csrf_field())
            input type="hidden" name="preview" value="1";
            input type="hidden" name="name" value=(consumer.name);
            button type="submit" { "Preview the marketplace as this consumer" }
        }
        section aria-labelledby="conn-h" {
            h2 id="conn-h" { "Connections" }
            (rows(frame, connections, false))
        }
        section aria-labelledby="edit-h" {
            h2 id="edit-h" { "Details" }
            (form_error(error, &["name", "internal_reference", "email", "integration_id"]))
            form method="post" action=(frame.href(&format!("consumers/{}", consumer.id))) data-busy="Saving…" {
                (frame.csrf_field())
                input type="hidden" name="action" value="edit";
                input type="hidden" name="version" value=(version);
                (input("consumer.name", "Name", value("consumer.name", &consumer.name), "text", true, None, error))
                (input("consumer.internal_reference", "Internal reference", value("consumer.internal_reference", consumer.internal_reference.as_deref().unwrap_or("")), "text", false, None, error))
                (input("consumer.email", "Email", value("consumer.email", consumer.email.as_deref().unwrap_or("")), "email", false, None, error))
                div.actions { button type="submit" { "Save details" } }
            }
            details.danger {
                summary { "Delete this consumer…" }
                p { "Deleting a consumer disconnects each of its connections first (revoked at the provider where it allows, credentials deleted, " code { "connection.deleted" } " sent), then deletes it. It cannot be undone." }
                (frame.action(&format!("consumers/{}", consumer.id), &[("action", "delete")], "Delete for good", true))
            }
        }
        section aria-labelledby="link-h" {
            h2 id="link-h" { "Activation link" }
            @if let Some((url, expires_at)) = link {
                (notice(Some(&Notice::Done("Link created. Send it to your customer; it works once."))))
                (copyable("link-url", "Link", url))
                p.help { "Expires " (when(Some(expires_at))) "." }
            }
            (form_error(error, &["integration_id", "name", "consumer.name", "consumer.internal_reference", "consumer.email", "version"]))
            form method="post" action=(frame.href(&path)) data-busy="Creating…" {
                (frame.csrf_field())
                (input("name", "Connection name", value("name", &consumer.name), "text", true,
                    Some("What the connection is called in your app and in this console."), error))
                div.field {
                    label for="f-integration_id" { "Integration" }
                    select id="f-integration_id" name="integration_id" {
                        option value="" { "Any: the consumer picks in the marketplace" }
                        @for i in active {
                            option value=(i.id) selected[value("integration_id", "") == i.id.as_str()] { (i.name) }
                        }
                    }
                }
                div.actions { button.primary type="submit" { "Create activation link" } }
            }
        }
    };
    let status = super::status_for(error);
    page(frame, status, &consumer.name, body)
}
