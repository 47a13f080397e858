//! The account's settings in the console: where consumers are sent back, branding, the
//! webhook URL, and the two signing secrets (rotated here, each shown once).

use maud::html;

use super::{Frame, Notice, copyable, form_error, input, notice, page, when};
use crate::FormError;
use latchkey_domain::{Account, DeliveryState, WebhookDelivery};
use latchkey_web::Response;

/// A secret just rotated: what it signs, and its value (shown this once).
pub struct Rotated<'a> {
    pub what: &'a str,
    pub secret: &'a str,
}

fn checkbox(name: &str, label: &str, checked: bool, help: &str) -> maud::Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label.choice for=(id) {
                input id=(id) type="checkbox" name=(name) value="true" checked[checked]
                    aria-describedby={ (id) "-help" };
                " " (label)
            }
            small id={ (id) "-help" } { (help) }
        }
    }
}

fn submit(frame: &Frame<'_>, action: &str, label: &str) -> maud::Markup {
    html! {
        (frame.csrf_field())
        input type="hidden" name="action" value=(action);
        div.actions { button.primary type="submit" { (label) } }
    }
}

fn delivery_badge(d: &WebhookDelivery) -> maud::Markup {
    html! {
        @match d.state() {
            DeliveryState::Delivered => span.badge { "Delivered" },
            DeliveryState::Pending if d.attempts == 0 => span.badge.off { "Queued" },
            DeliveryState::Pending => span.badge.off { "Retrying" },
            DeliveryState::Failed => span.badge.bad { "Failed" },
        }
    }
}

/// The account's recent webhook deliveries, newest first.
fn deliveries_table(deliveries: &[WebhookDelivery]) -> maud::Markup {
    html! {
        @if deliveries.is_empty() {
            p.help { "No deliveries in the last three days." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Event" }
                    th scope="col" { "Status" }
                    th scope="col" { "Attempts" }
                    th scope="col" { "Last answer" }
                    th scope="col" { "Sent" }
                    th scope="col" { "Next attempt" }
                } }
                tbody {
                    @for d in deliveries {
                        @let state = d.state();
                        tr {
                            td { code { (d.event.as_str()) } br; small.code { (d.id) } }
                            td data-label="Status" { (delivery_badge(d)) }
                            td data-label="Attempts" { (d.attempts) }
                            td data-label="Last answer" {
                                @match (d.last_attempt_at, d.last_response) {
                                    (None, _) => span.muted { "—" },
                                    (Some(_), Some(status)) => { "HTTP " (status) },
                                    (Some(_), None) => "No answer",
                                }
                            }
                            td data-label="Sent" { (when(Some(d.created_at))) }
                            td data-label="Next attempt" {
                                (when((state == DeliveryState::Pending).then_some(d.next_attempt_at)))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The settings over `account`; after a failed save the fields show what was `typed`.
#[allow(clippy::too_many_arguments)]
pub fn settings(
    frame: &Frame<'_>,
    account: &Account,
    deliveries: &[WebhookDelivery],
    typed: &[(&str, &str)],
    rotated: Option<&Rotated<'_>>,
    notice_: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Response {
    let action = frame.href("settings");
    let b = &account.branding;
    let origins = account.allowed_redirect_origins.join(" ");
    let value =
        |name: &str, stored: &'_ str| -> String { super::shown(typed, name, stored).to_owned() };
    let status = super::status_for(error);
    let fields = [
        "name",
        "redirect_url",
        "allowed_redirect_origins",
        "branding.display_name",
        "branding.primary_color",
        "branding.support_url",
        "webhook_url",
        "branding.logo",
    ];
    let body = html! {
        h1 { "Settings" }
        (notice(notice_))
        (form_error(error, &fields))
        @if let Some(r) = rotated {
            section.once aria-labelledby="secret-h" {
                h2 id="secret-h" { "New " (r.what) }
                p { "Copy it now: it is shown this once. The old one stopped working." }
                (copyable("new-secret", "Secret", r.secret))
            }
        }
        section aria-labelledby="account-h" {
            h2 id="account-h" { "Where consumers go back" }
            form method="post" action=(action) data-busy="Saving…" {
                (input("name", "Account name", &value("name", &account.name), "text", true, None, error))
                (input("redirect_url", "Redirect URL", &value("redirect_url", account.redirect_url.as_deref().unwrap_or("")), "url", false,
                    Some("Where a consumer lands after connecting, unless the consumer or the start names its own."), error))
                (input("allowed_redirect_origins", "Allowed redirect origins", &value("allowed_redirect_origins", &origins), "text", false,
                    Some("Origins a start's redirectUri or targetOrigin may name, separated by spaces (https://app.example.com)."), error))
                (checkbox("append_result_params", "Append the result to the redirect URL", account.append_result_params,
                    "connectionId, connectionStatus, error and customState as query parameters."))
                (checkbox("auto_create_consumers", "Create consumers from workspace tokens", account.auto_create_consumers,
                    "A signed token naming an unknown consumer creates it."))
                (submit(frame, "account", "Save"))
            }
        }
        section aria-labelledby="brand-h" {
            h2 id="brand-h" { "Branding" }
            p.help { "On the popup, the marketplace and this console." }
            form method="post" action=(action) data-busy="Saving…" {
                div.field {
                    label for="f-logo" { "Logo " small { "(optional)" } }
                    @let logo_error = super::field_error(error, "branding.logo");
                    input id="f-logo" type="file" accept="image/png,image/svg+xml,image/jpeg,image/webp,image/gif"
                        data-logo="f-branding-logo" aria-invalid=[logo_error.map(|_| "true")]
                        aria-describedby=(if logo_error.is_some() { "f-logo-error" } else { "f-logo-help" });
                    input id="f-branding-logo" type="hidden" name="branding.logo" value="";
                    @if let Some(m) = logo_error { p.field-error id="f-logo-error" { (m) } }
                    @else {
                        small id="f-logo-help" {
                            "PNG, SVG, JPEG, WebP or GIF, square, at most 32 KiB. "
                            @if b.logo.is_some() { "A logo is set; choose a file to replace it." } @else { "No logo is set." }
                        }
                    }
                    @if b.logo.is_some() {
                        label.choice for="f-remove-logo" {
                            input id="f-remove-logo" type="checkbox" name="remove_logo" value="true";
                            " Remove the logo"
                        }
                    }
                }
                (input("branding.display_name", "Display name", &value("branding.display_name", b.display_name.as_deref().unwrap_or("")), "text", false,
                    Some("The name consumers see; the account name when empty."), error))
                (input("branding.primary_color", "Colour", &value("branding.primary_color", b.primary_color.as_deref().unwrap_or("")), "text", false,
                    Some("Buttons and links, as #rrggbb."), error))
                (input("branding.support_url", "Support URL", &value("branding.support_url", b.support_url.as_deref().unwrap_or("")), "url", false,
                    Some("Where \"Get help\" sends a consumer (https)."), error))
                (submit(frame, "branding", "Save branding"))
            }
        }
        section aria-labelledby="hooks-h" {
            h2 id="hooks-h" { "Webhooks" }
            form method="post" action=(action) data-busy="Saving…" {
                (input("webhook_url", "Webhook URL", &value("webhook_url", account.webhook_url.as_deref().unwrap_or("")), "url", false,
                    Some("Receives connection.created, .updated, .needs_reauth, .error, .refresh_failed and .deleted, signed."), error))
                (submit(frame, "webhook", "Save webhook URL"))
            }
            p.help { "Signing secret: " @if account.webhook_secret.is_some() { "set" } @else { "not set" } "." }
            form method="post" action=(action) {
                (frame.csrf_field())
                input type="hidden" name="action" value="rotate-webhook";
                button type="submit" { "Rotate the webhook signing secret" }
            }
            h3 id="deliveries-h" { "Recent deliveries" }
            p.help { "The events of the last three days: a failed attempt is retried with backoff, eight times at most." }
            (frame.action("settings", &[("action", "test-webhook")], "Send a test event", false))
            (deliveries_table(deliveries))
        }
        section aria-labelledby="jwt-h" {
            h2 id="jwt-h" { "Workspace tokens" }
            p.help { "The secret your backend signs workspace tokens with (HS256): "
                @if account.jwt_secret.is_some() { "set" } @else { "not set" } ". Rotating it stops the old one at once." }
            form method="post" action=(action) {
                (frame.csrf_field())
                input type="hidden" name="action" value="rotate-jwt";
                button type="submit" { "Rotate the workspace-token secret" }
            }
        }
    };
    page(frame, status, "Settings", body)
}
