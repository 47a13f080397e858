//! The catalog in the console: every integration of the account with search and a status
//! filter; one integration's page: its auth options, the redirect URI to register, its
//! OAuth app (the secret write-only), its status, and for a custom integration its
//! definition (edited as the API's JSON) and deletion; and the page to define a new one.

use maud::html;

use super::{Frame, Notice, copyable, field_error, form_error, input, notice, page};
use crate::FormError;
use latchkey_domain::{AuthMethod, Integration, IntegrationStatus};
use latchkey_web::{Response, StatusCode};

fn status_badge(status: IntegrationStatus) -> maud::Markup {
    html! {
        @match status {
            IntegrationStatus::Active => span.badge { "Active" },
            IntegrationStatus::Inactive => span.badge.off { "Inactive" },
        }
    }
}

/// The account's integrations matching `q` (name, key or category) and `status`.
pub fn integrations(
    frame: &Frame<'_>,
    all: &[Integration],
    q: &str,
    status: Option<IntegrationStatus>,
    notice_: Option<&Notice<'_>>,
) -> Response {
    let needle = q.trim().to_lowercase();
    let shown: Vec<&Integration> = all
        .iter()
        .filter(|i| status.is_none_or(|s| i.status == s))
        .filter(|i| {
            needle.is_empty()
                || i.name.to_lowercase().contains(&needle)
                || i.key.to_lowercase().contains(&needle)
                || i.categories
                    .iter()
                    .any(|c| c.title().to_lowercase().contains(&needle))
        })
        .collect();
    let tab = |label: &str, value: &str, on: bool| {
        let mut href = frame.href("integrations");
        let query: Vec<(&str, &str)> = [("q", q.trim()), ("status", value)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if !query.is_empty() {
            href.push('?');
            href.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        html! { a href=(href) aria-current=[on.then_some("page")] { (label) } }
    };
    let body = html! {
        h1 { "Integrations" }
        (notice(notice_))
        p.lead { "Built-in integrations start inactive: enable the ones your customers may connect, with your OAuth app where they need one." }
        div.actions { a.button href=(frame.href("integrations/new")) { "New custom integration" } }
        form.search role="search" method="get" action=(frame.href("integrations")) {
            label.visually-hidden for="q" { "Search integrations" }
            input id="q" name="q" type="search" value=(q) placeholder="Search by name, key or category";
            @if let Some(s) = status { input type="hidden" name="status" value=(status_value(s)); }
            button type="submit" { "Search" }
        }
        nav.categories aria-label="Status" {
            (tab("All", "", status.is_none()))
            (tab("Active", "active", status == Some(IntegrationStatus::Active)))
            (tab("Inactive", "inactive", status == Some(IntegrationStatus::Inactive)))
        }
        p.help { (shown.len()) " of " (all.len()) " integrations" }
        ul.grid {
            @for i in &shown {
                li {
                    a.card href=(frame.href(&format!("integrations/{}", i.id))) {
                        (crate::logo(i))
                        span.what {
                            span { (i.name) }
                            small { (i.categories.iter().map(|c| c.title()).collect::<Vec<_>>().join(", ")) }
                        }
                        (status_badge(i.status))
                    }
                }
            }
        }
    };
    page(frame, StatusCode::OK, "Integrations", body)
}

fn status_value(status: IntegrationStatus) -> &'static str {
    match status {
        IntegrationStatus::Active => "active",
        IntegrationStatus::Inactive => "inactive",
    }
}

fn method_label(method: &AuthMethod) -> &'static str {
    match method {
        AuthMethod::Oauth2(_) => "OAuth 2.0",
        AuthMethod::Oauth2ClientCredentials(_) => "OAuth 2.0 client credentials",
        AuthMethod::ApiKey(_) => "API key",
        AuthMethod::Basic(_) => "Username and password",
        AuthMethod::CustomToken(_) => "Custom token",
        AuthMethod::Oauth1(_) => "OAuth 1.0a",
        AuthMethod::None(_) => "No authentication",
    }
}

/// One integration's page.
pub struct IntegrationPage<'a> {
    pub integration: &'a Integration,
    /// Its stored version: the definition form says which one it edits.
    pub version: u64,
    /// The redirect URI to register with the provider.
    pub redirect_uri: &'a str,
    /// What the OAuth app form shows: the stored client id, or what was just typed.
    pub client_id: &'a str,
    /// A custom integration's definition as the editor shows it (`None`: a built-in).
    pub definition: Option<&'a str>,
    /// Its connections, counted up to `connections_capped` (then "at least").
    pub connections: usize,
    pub connections_capped: bool,
}

/// The JSON editor of a definition, the API's problem (its field's path and what is
/// wrong) under it.
fn definition_field(value: &str, error: Option<&FormError<'_>>) -> maud::Markup {
    let message = field_error(error, "definition");
    html! {
        div.field {
            label for="f-definition" { "Definition (JSON)" }
            textarea.code id="f-definition" name="definition" rows="22" spellcheck="false"
                autocomplete="off" required aria-invalid=[message.map(|_| "true")]
                aria-describedby=(if message.is_some() { "f-definition-error" } else { "f-definition-help" }) { (value) }
            @if let Some(m) = message { p.field-error id="f-definition-error" { (m) } }
            @else {
                small id="f-definition-help" {
                    "The body of " code { "POST /v1/integrations" } " (see " code { "GET /v1/openapi.json" }
                    "). Client secrets are never shown: a definition without one keeps the stored secret."
                }
            }
        }
    }
}

/// The page to define a custom integration, with `definition` in the editor.
pub fn new_integration(
    frame: &Frame<'_>,
    definition: &str,
    error: Option<&FormError<'_>>,
) -> Response {
    let body = html! {
        p { a href=(frame.href("integrations")) { "← Integrations" } }
        h1 { "New custom integration" }
        p.lead { "Define a provider the catalog does not have: how your customers authenticate and where its API is. It starts inactive; enable it with your OAuth app on its page." }
        (form_error(error, &["definition"]))
        form method="post" action=(frame.href("integrations")) data-busy="Creating…" {
            (frame.csrf_field())
            (definition_field(definition, error))
            div.actions { button.primary type="submit" { "Create integration" } }
        }
    };
    page(
        frame,
        super::status_for(error),
        "New custom integration",
        body,
    )
}

/// One integration: status, redirect URI, OAuth app, auth options; a custom one's
/// definition and deletion.
pub fn integration(
    frame: &Frame<'_>,
    p: &IntegrationPage<'_>,
    notice_: Option<&Notice<'_>>,
    error: Option<&FormError<'_>>,
) -> Response {
    let integration = p.integration;
    let app_option = integration
        .auth_options
        .iter()
        .find(|o| o.method.needs_app() || o.method.client().is_some());
    let secret_set = app_option
        .and_then(|o| o.method.client())
        .is_some_and(|c| c.client_secret.is_some());
    let redirects = integration
        .auth_options
        .iter()
        .any(|o| o.method.redirects());
    let path = format!("integrations/{}", integration.id);
    let (toggle, toggle_label) = match integration.status {
        IntegrationStatus::Active => ("inactive", "Deactivate"),
        IntegrationStatus::Inactive => ("active", "Activate"),
    };
    let connections = match (p.connections, p.connections_capped) {
        (0, _) => "It has no connections.".to_owned(),
        (1, false) => "It has 1 connection.".to_owned(),
        (n, false) => format!("It has {n} connections."),
        (n, true) => format!("It has at least {n} connections."),
    };
    let body = html! {
        p { a href=(frame.href("integrations")) { "← Integrations" } }
        div.provider {
            (crate::logo(integration))
            div { h1 { (integration.name) } small.code { (integration.key) } }
            (status_badge(integration.status))
        }
        (notice(notice_))
        @if let Some(d) = &integration.description { p { (d) } }
        @if let Some(docs) = &integration.docs_url {
            p { a href=(docs) rel="noopener noreferrer" target="_blank" { "The provider's documentation" } }
        }
        (form_error(error, &["client.client_id", "client.client_secret", "client", "definition"]))
        section aria-labelledby="status-h" {
            h2 id="status-h" { "Status" }
            p.help {
                @match integration.status {
                    IntegrationStatus::Active => "Active: your customers can connect it.",
                    IntegrationStatus::Inactive => "Inactive: your customers do not see it.",
                }
            }
            (frame.action(&path, &[("action", "status"), ("status", toggle)], toggle_label, false))
        }
        @if redirects {
            section aria-labelledby="redirect-h" {
                h2 id="redirect-h" { "Redirect URI" }
                p.help { "Register this exact URI with the provider's OAuth app." }
                (copyable("redirect-uri", "Redirect URI", p.redirect_uri))
            }
        }
        @if app_option.is_some() {
            section aria-labelledby="app-h" {
                h2 id="app-h" { "Your OAuth app" }
                form method="post" action=(frame.href(&path)) data-busy="Saving…" {
                    (frame.csrf_field())
                    input type="hidden" name="action" value="app";
                    (input("client.client_id", "Client ID", p.client_id, "text", true, None, error))
                    (input("client.client_secret", "Client secret", "", "password", !secret_set,
                        Some(if secret_set { "Set. Leave empty to keep it; it is never shown." } else { "Not set." }), error))
                    div.actions { button.primary type="submit" { "Save and activate" } }
                }
            }
        }
        section aria-labelledby="options-h" {
            h2 id="options-h" { "How your customers connect" }
            ul.plain {
                @for o in &integration.auth_options {
                    li {
                        strong { (o.label.as_deref().unwrap_or(&o.key)) }
                        " · " (method_label(&o.method))
                        @if let Some(d) = &o.description { br; small { (d) } }
                    }
                }
            }
        }
        @if let Some(definition) = p.definition {
            section aria-labelledby="definition-h" {
                h2 id="definition-h" { "Definition" }
                form method="post" action=(frame.href(&path)) data-busy="Saving…" {
                    (frame.csrf_field())
                    input type="hidden" name="action" value="definition";
                    // The version edited: a save over a newer one is refused, not merged.
                    input type="hidden" name="version" value=(p.version);
                    (definition_field(definition, error))
                    div.actions { button type="submit" { "Save definition" } }
                }
            }
            details.danger {
                summary { "Delete this integration…" }
                p { (connections) " Deleting it disconnects each of its connections first (revoked at the provider where it allows, credentials deleted, "
                    code { "connection.deleted" } " sent), then deletes the integration and its OAuth app's secret. It cannot be undone." }
                (frame.action(&path, &[("action", "delete")], "Delete for good", true))
            }
        }
    };
    page(frame, super::status_for(error), &integration.name, body)
}
