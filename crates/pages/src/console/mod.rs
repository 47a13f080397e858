//! The vendor's console (`/console/`): the account's integrations, consumers,
//! connections and API keys, server-rendered like the popup (same stylesheet and script,
//! the account's branding, light and dark, usable at 360 px). Every state-changing form
//! carries the session's CSRF token; pages never show a credential.

mod connections;
mod consumers;
mod integrations;
mod keys;
mod settings;

pub use connections::{ConnectionRow, StatusCounts, connection, connections};
pub use consumers::{ConsumerPage, consumer, consumers};
pub use integrations::{IntegrationPage, integration, integrations, new_integration};
pub use keys::api_keys;
pub use settings::{Rotated, settings};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::{Brand, FormError, style};
use latchkey_web::{Body, Response, StatusCode};

/// The console's sections, in its navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Integrations,
    Consumers,
    Connections,
    ApiKeys,
    Settings,
}

impl Section {
    const ALL: [Section; 5] = [
        Section::Integrations,
        Section::Consumers,
        Section::Connections,
        Section::ApiKeys,
        Section::Settings,
    ];

    fn label(self) -> &'static str {
        match self {
            Section::Integrations => "Integrations",
            Section::Consumers => "Consumers",
            Section::Connections => "Connections",
            Section::ApiKeys => "API keys",
            Section::Settings => "Settings",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Section::Integrations => "integrations",
            Section::Consumers => "consumers",
            Section::Connections => "connections",
            Section::ApiKeys => "api-keys",
            Section::Settings => "settings",
        }
    }
}

/// What every signed-in page shares: whose console it is, where the console lives (its
/// absolute URL, ending in `/`), the session's CSRF token and the page's section.
pub struct Frame<'a> {
    pub brand: Brand<'a>,
    pub base: &'a str,
    pub csrf: &'a str,
    pub section: Section,
}

impl Frame<'_> {
    /// A console URL: `path` is relative to `/console/`.
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The hidden CSRF field every POST form carries.
    fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// A form that POSTs to `path` with the CSRF field and one submit button.
    fn action(&self, path: &str, fields: &[(&str, &str)], label: &str, primary: bool) -> Markup {
        html! {
            form method="post" action=(self.href(path)) data-busy="Working…" {
                (self.csrf_field())
                @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
                button type="submit" class=[primary.then_some("primary")] { (label) }
            }
        }
    }
}

/// A message shown once at the top of a page (after an action).
pub enum Notice<'a> {
    Done(&'a str),
    Failed(&'a str),
}

fn notice(n: Option<&Notice<'_>>) -> Markup {
    html! {
        @match n {
            Some(Notice::Done(text)) => p.notice.ok role="status" { (text) },
            Some(Notice::Failed(text)) => p.notice.error role="alert" { (text) },
            None => {},
        }
    }
}

/// A page's status: 422 when it shows a failed action's problem.
fn status_for(error: Option<&FormError<'_>>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// The message for `field` when the failed action's problem names it.
fn field_error<'a>(error: Option<&'a FormError<'a>>, field: &str) -> Option<&'a str> {
    error.filter(|e| e.field == Some(field)).map(|e| e.message)
}

/// The problem of a failed action that names no field of the form: above the form.
fn form_error(error: Option<&FormError<'_>>, fields: &[&str]) -> Markup {
    html! {
        @if let Some(e) = error.filter(|e| e.field.is_none_or(|f| !fields.contains(&f))) {
            p.notice.error role="alert" { (e.message) }
        }
    }
}

/// What field `name` shows: what was typed into it (a failed save shows it again), else
/// `stored`.
fn shown<'a>(typed: &[(&'a str, &'a str)], name: &str, stored: &'a str) -> &'a str {
    typed
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(stored, |(_, v)| *v)
}

/// A labelled text input with its error, if any, tied to it for screen readers.
fn input(
    name: &str,
    label: &str,
    value: &str,
    kind: &str,
    required: bool,
    help: Option<&str>,
    error: Option<&FormError<'_>>,
) -> Markup {
    let message = field_error(error, name);
    let id = format!("f-{}", name.replace('.', "-"));
    let described = message
        .map(|_| format!("{id}-error"))
        .or(help.map(|_| format!("{id}-help")));
    html! {
        div.field {
            label for=(id) { (label) @if !required { " " small { "(optional)" } } }
            input id=(id) name=(name) type=(kind) value=(value) required[required]
                autocomplete="off" aria-invalid=[message.map(|_| "true")]
                aria-describedby=[described];
            @if let Some(m) = message { p.field-error id={ (id) "-error" } { (m) } }
            @else if let Some(h) = help { small id={ (id) "-help" } { (h) } }
        }
    }
}

/// A value with a button that copies it.
fn copyable(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div.copy {
            label for=(id) { (label) }
            div.copy-row {
                input id=(id) type="text" readonly value=(value);
                button type="button" data-copy=(id) { "Copy" }
            }
        }
    }
}

/// A point in time, readable and machine-readable.
fn when(at: Option<i64>) -> Markup {
    html! {
        @match at {
            Some(at) => {
                @let t = latchkey_api::Timestamp(at).to_string();
                time datetime=(t) { (t.replace('T', " ").replace('Z', " UTC")) }
            }
            None => span.muted { "—" },
        }
    }
}

/// A whole console document: `wide` for signed-in pages (`nav` above `main`), narrow for
/// sign-in and refusals.
fn document(
    title: &str,
    brand: Brand<'_>,
    nav: Option<Markup>,
    nonce: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (crate::head(&format!("{title} · {} console", brand.name), &brand, "same-origin"))
            body {
                a.skip href="#main" { "Skip to content" }
                div.page.wide[nav.is_some()].narrow[nav.is_none()] {
                    (brand.header())
                    @if let Some(nav) = nav { (nav) }
                    main id="main" { (body) }
                }
                script nonce=(nonce) { (PreEscaped(style::SCRIPT)) }
            }
        }
    }
}

fn nav(frame: &Frame<'_>) -> Markup {
    html! {
        nav.console aria-label="Console" {
            ul {
                @for s in Section::ALL {
                    li {
                        a href=(frame.href(s.path()))
                            aria-current=[(s == frame.section).then_some("page")] { (s.label()) }
                    }
                }
            }
            form.sign-out method="post" action=(frame.href("sign-out")) {
                (frame.csrf_field())
                button type="submit" { "Sign out" }
            }
        }
    }
}

fn nonce() -> String {
    latchkey_domain::token::new_token("").expose().to_owned()
}

/// A signed-in page with the console's headers.
pub fn page(frame: &Frame<'_>, status: StatusCode, title: &str, body: Markup) -> Response {
    let nonce = nonce();
    let markup = document(title, frame.brand, Some(nav(frame)), &nonce, body);
    respond_html(status, markup, &nonce)
}

/// The sign-in page: paste a full-scope API key.
pub fn sign_in(base: &str, error: Option<&str>, signed_out: bool) -> Response {
    let brand = Brand::named("Latchkey");
    let nonce = nonce();
    let form_error = error.map(|message| FormError {
        field: Some("api_key"),
        message,
    });
    let body = html! {
        h1 { "Sign in to the console" }
        @if signed_out { p.notice.ok role="status" { "You are signed out." } }
        p.lead { "Paste an API key with the full scope (" code { "lk_…" } "). The console keeps a session for eight hours; the key itself is not stored." }
        form method="post" action={ (base) "sign-in" } data-busy="Signing in…" {
            (input("api_key", "API key", "", "password", true, Some("A key made with the connect scope cannot sign in."), form_error.as_ref()))
            div.actions { button.primary type="submit" { "Sign in" } }
        }
    };
    let markup = document("Sign in", brand, None, &nonce, body);
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    respond_html(status, markup, &nonce)
}

fn respond_html(status: StatusCode, markup: Markup, nonce: &str) -> Response {
    let mut response = Response::new(Body::Text(markup.into_string()));
    *response.status_mut() = status;
    secure(&mut response, Some(nonce));
    response.headers_mut().insert(
        "content-type",
        "text/html; charset=utf-8".parse().expect("static header"),
    );
    response
}

/// The popup's security headers, with one difference: the console's own forms must send
/// their `Origin` (checked on every POST), which `no-referrer` would turn into `null`.
pub fn secure(response: &mut Response, nonce: Option<&str>) {
    crate::secure(response, nonce);
    response.headers_mut().insert(
        "referrer-policy",
        "same-origin".parse().expect("static header"),
    );
}

/// A 303 to a console page after a POST (the browser then GETs it).
pub fn see_other(location: &str) -> Response {
    let mut response = crate::redirect(location);
    *response.status_mut() = StatusCode::SEE_OTHER;
    secure(&mut response, None);
    response
}

/// A console page for an id the account does not have.
pub fn missing(frame: &Frame<'_>, what: &str) -> Response {
    let body = html! {
        h1 { "Not found" }
        p { "This " (what) " does not exist in your account, or it was deleted." }
    };
    page(frame, StatusCode::NOT_FOUND, "Not found", body)
}

/// The page for a form that did not come from the console's own pages (no origin or CSRF
/// token of this session): nothing was changed.
pub fn refused(base: &str) -> Response {
    let nonce = nonce();
    let body = html! {
        h1.error { "Refused" }
        p { "This form did not come from your console session, so nothing was changed. Open the console and try again." }
        div.actions { a.button href=(base) { "Open the console" } }
    };
    let markup = document("Refused", Brand::named("Latchkey"), None, &nonce, body);
    respond_html(StatusCode::FORBIDDEN, markup, &nonce)
}
