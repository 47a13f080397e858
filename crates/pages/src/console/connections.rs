//! Connections in the console: the account's inventory by status (with counts on the
//! tabs), and one connection's page with its refresh history and actions. Never a
//! credential: only what the connection item holds about them.

use maud::{Markup, html};

use super::{Frame, Notice, copyable, form_error, notice, page, when};
use crate::FormError;
use latchkey_domain::{Connection, ConnectionStatus};
use latchkey_web::{Response, StatusCode};

/// A connection with the names of its integration and consumer.
pub struct ConnectionRow<'a> {
    pub connection: &'a Connection,
    pub integration: &'a str,
    pub consumer: &'a str,
}

/// Connections per status; `None` when more than the console counts (shown as `n+`).
pub struct StatusCounts {
    pub active: Option<usize>,
    pub needs_reauth: Option<usize>,
    pub error: Option<usize>,
    /// The most the console counts per status.
    pub cap: usize,
}

fn status_text(status: ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Active => "Active",
        ConnectionStatus::NeedsReauth => "Needs re-authorisation",
        ConnectionStatus::Error => "Error",
        ConnectionStatus::Pending => "Pending",
    }
}

fn badge(status: ConnectionStatus) -> Markup {
    html! {
        @match status {
            ConnectionStatus::Active => span.badge { (status_text(status)) },
            _ => span.badge.bad { (status_text(status)) },
        }
    }
}

/// The connections as a table (with each one's consumer when `with_consumer`).
pub(super) fn rows(frame: &Frame<'_>, list: &[ConnectionRow<'_>], with_consumer: bool) -> Markup {
    html! {
        @if list.is_empty() {
            p.help { "No connections." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Connection" }
                    th scope="col" { "Integration" }
                    @if with_consumer { th scope="col" { "Consumer" } }
                    th scope="col" { "Status" }
                    th scope="col" { "Last refresh" }
                } }
                tbody {
                    @for r in list {
                        tr {
                            td { a href=(frame.href(&format!("connections/{}", r.connection.id))) { (r.connection.name) } }
                            td data-label="Integration" { (r.integration) }
                            @if with_consumer { td data-label="Consumer" { (r.consumer) } }
                            td data-label="Status" { (badge(r.connection.status)) }
                            td data-label="Last refresh" { (when(r.connection.refresh.last_success_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// The inventory, filtered by `status` (all listed statuses when `None`).
pub fn connections(
    frame: &Frame<'_>,
    list: &[ConnectionRow<'_>],
    status: Option<ConnectionStatus>,
    counts: &StatusCounts,
    next: Option<&str>,
) -> Response {
    let count = |n: Option<usize>| n.map_or(format!("{}+", counts.cap), |n| n.to_string());
    let tab = |label: &str, value: Option<ConnectionStatus>, n: Option<String>| {
        let href = match value {
            Some(s) => frame.href(&format!("connections?status={}", s.as_str())),
            None => frame.href("connections"),
        };
        html! {
            a href=(href) aria-current=[(value == status).then_some("page")] {
                (label) @if let Some(n) = n { " " span.count { (n) } }
            }
        }
    };
    let body = html! {
        h1 { "Connections" }
        nav.categories aria-label="Status" {
            (tab("All", None, None))
            (tab("Active", Some(ConnectionStatus::Active), Some(count(counts.active))))
            (tab("Needs re-authorisation", Some(ConnectionStatus::NeedsReauth), Some(count(counts.needs_reauth))))
            (tab("Error", Some(ConnectionStatus::Error), Some(count(counts.error))))
        }
        (rows(frame, list, true))
        @if let Some(next) = next {
            nav.pages { a.button href=(next) { "Next page" } }
        }
    };
    page(frame, StatusCode::OK, "Connections", body)
}

/// One connection and what can be done with it. `link` is a re-authorisation link just
/// made: its URL and expiry.
pub fn connection(
    frame: &Frame<'_>,
    row: &ConnectionRow<'_>,
    link: Option<(&str, i64)>,
    notice_: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Response {
    let c = row.connection;
    let path = format!("connections/{}", c.id);
    let body = html! {
        p { a href=(frame.href("connections")) { "← Connections" } }
        h1 { (c.name) " " (badge(c.status)) }
        (notice(notice_))
        (form_error(error, &[]))
        dl.facts {
            dt { "Id" } dd.code { (c.id) }
            dt { "Integration" } dd { (row.integration) }
            dt { "Consumer" } dd { a href=(frame.href(&format!("consumers/{}", c.consumer_id))) { (row.consumer) } }
            dt { "Created" } dd { (when(Some(c.created_at))) }
            dt { "Token expires" } dd { (when(c.access_expires_at)) }
            dt { "Last refresh" } dd { (when(c.refresh.last_success_at)) }
            dt { "Last failure" } dd { (when(c.refresh.last_failure_at)) }
            dt { "Consecutive failures" } dd { (c.refresh.consecutive_failures) }
            dt { "Last error" } dd.code { (c.refresh.last_error.as_deref().unwrap_or("—")) }
            dt { "Next retry" } dd { (when(c.refresh.retry_at)) }
        }
        @if !c.metadata.is_empty() {
            h2 { "Metadata" }
            pre.code { (serde_json::to_string_pretty(&c.metadata).unwrap_or_default()) }
        }
        @if let Some((url, expires_at)) = link {
            section aria-labelledby="link-h" {
                h2 id="link-h" { "Re-authorisation link" }
                (copyable("link-url", "Link", url))
                p.help { "Send it to the consumer; it expires " (when(Some(expires_at))) "." }
            }
        }
        h2 { "Actions" }
        div.actions {
            // A refresh after invalid_grant would only be refused again: the user must
            // re-authorise.
            @if c.refreshable && c.status != ConnectionStatus::NeedsReauth {
                (frame.action(&path, &[("action", "refresh")], "Refresh now", false))
            }
            (frame.action(&path, &[("action", "reauthorise")], "Send a re-authorisation link", false))
        }
        details.danger {
            summary { "Disconnect…" }
            p { "Disconnecting revokes the grant at the provider where it allows, deletes the credentials and the connection, and sends " code { "connection.deleted" } ". It cannot be undone." }
            (frame.action(&path, &[("action", "disconnect")], "Disconnect for good", true))
        }
    };
    page(frame, StatusCode::OK, &c.name, body)
}
