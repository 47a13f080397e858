//! The browser-facing pages, server-rendered (maud escapes every value), with the
//! security headers of docs/ARCHITECTURE.md §4 on every one. Each page carries the
//! account's branding (`Brand`), reads in light and dark, and works without JavaScript;
//! one nonce'd script only enhances (live search, a busy button, copy buttons).

mod brand;
pub mod console;
pub mod flow_cookie;
mod shelf;
mod style;

pub use brand::Brand;
pub use shelf::{Browse, PAGE_SIZE, Shelf};

use latchkey_connect::flow::{Conclusion, Links, Next, Offer, Outcome};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;
use url::Url;

use latchkey_domain::Integration;
use latchkey_domain::token::new_token;
use latchkey_web::{Body, Response, StatusCode};

/// One field of a connection form.
pub struct FormField {
    pub name: String,
    pub label: String,
    /// Where the consumer finds the value, under the field.
    pub help: Option<String>,
    pub secret: bool,
    pub required: bool,
    pub value: String,
}

/// What was wrong with a submitted form: next to its field when the form has it.
pub struct FormError<'a> {
    /// The form field's name (`param.subdomain`, `api_key`), if one is at fault.
    pub field: Option<&'a str>,
    pub message: &'a str,
}

/// Every page's `<head>`: the stylesheet, the account's colour, and its referrer policy
/// (the popup sends none; the console `same-origin`, so its POSTs carry their `Origin`).
fn head(title: &str, brand: &Brand, referrer: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content=(referrer);
            meta name="color-scheme" content="light dark";
            title { (title) }
            style { (PreEscaped(style::STYLE)) }
            @if let Some(css) = brand.style() { style { (PreEscaped(css)) } }
        }
    }
}

/// A page's frame: the account's header, the content, its footer. `script` is the
/// nonce of the pages' one script, when the page uses it.
fn layout(title: &str, brand: &Brand, narrow: bool, script: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · {}", brand.name), brand, "no-referrer"))
            body {
                div.page.narrow[narrow] {
                    (brand.header())
                    main { (body) }
                    (brand.footer())
                }
                @if let Some(nonce) = script {
                    script nonce=(nonce) { (PreEscaped(style::SCRIPT)) }
                }
            }
        }
    }
}

/// The integration's logo on a light tile (a built-in's icon, the account's upload), or
/// a monogram of its name when it has none. Decorative: the name is always beside it.
fn logo(integration: &Integration) -> Markup {
    match latchkey_core::catalog::logo(integration) {
        Some(logo) => html! {
            span.logo { img src={ "data:" (logo.content_type) ";base64," (logo.data_base64) } alt=""; }
        },
        None => {
            let monogram = latchkey_core::catalog::monogram(&integration.name);
            html! { span.logo.monogram aria-hidden="true" { (PreEscaped(monogram)) } }
        }
    }
}

/// The way out of a page back to the vendor's app (Chift: "Cancel or Back to [account
/// name]"): after a success, "Back to …" carries the result; otherwise "Cancel / Back to …"
/// ends the attempt as cancelled.
pub enum Exit<'a> {
    Back(&'a str),
    Cancel(&'a str),
}

fn exit(brand: &Brand, exit: Option<Exit<'_>>) -> Markup {
    html! {
        @match exit {
            Some(Exit::Back(href)) => a.button href=(href) { "Back to " (brand.name) },
            Some(Exit::Cancel(href)) => a.button href=(href) { "Cancel / Back to " (brand.name) },
            None => {},
        }
    }
}

/// Where the marketplace's search form sends its GET: the page's path and the start's
/// own parameters, kept as hidden fields.
pub struct Search {
    pub action: String,
    pub keep: Vec<(String, String)>,
}

impl Search {
    fn href(&self, browse: &Browse, changes: &[(&str, &str)]) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.keep)
            .extend_pairs(browse.params(changes))
            .finish();
        if query.is_empty() {
            self.action.clone()
        } else {
            format!("{}?{query}", self.action)
        }
    }
}

fn card(o: &Offer, href: Option<String>) -> Markup {
    let inner = html! {
        (logo(&o.integration))
        span.what {
            span { (o.integration.name) }
            @if let Some(d) = &o.integration.description { small { (d) } }
        }
        @if o.connected { span.badge { "Connected" } }
    };
    html! {
        li {
            @match href {
                Some(h) => a.card href=(h) { (inner) },
                None => div.card { (inner) },
            }
        }
    }
}

/// The integrations a consumer may connect (activation links without one): a searchable
/// grid by category, a page at a time, each card marked "Connected" when the consumer has
/// a working connection to it. `href` gives a card's link; without one (a used link,
/// after a success) the card only shows its state. Without `search` every offer is shown.
pub fn marketplace(
    brand: &Brand,
    shelf: &Shelf,
    search: Option<&Search>,
    href: impl Fn(&Integration) -> Option<String>,
    notice: Option<&str>,
    way_out: Option<Exit<'_>>,
) -> Response {
    let nonce = search.map(|_| new_token("").expose().to_owned());
    let browse = &shelf.browse;
    let body = html! {
        h1 { "Connect your software to " (brand.name) }
        @if let Some(n) = notice { p.ok role="status" { (n) } }
        @if let Some(search) = search {
            p.lead { "Choose an app. You sign in to it, and " (brand.name) " can then work with it for you." }
            form #search .search role="search" method="get" action=(search.action) {
                @for (k, v) in &search.keep { input type="hidden" name=(k) value=(v); }
                @if let Some(c) = browse.category { input type="hidden" name="category" value=(c.slug()); }
                label.visually-hidden for="q" { "Search apps" }
                input #q type="search" name="q" value=(browse.query) placeholder="Search apps" autocomplete="off";
                button type="submit" { "Search" }
            }
            @if !shelf.categories.is_empty() {
                nav.categories aria-label="Categories" {
                    a href=(search.href(browse, &[("category", ""), ("page", "1")]))
                        aria-current=[browse.category.is_none().then_some("page")] { "All" }
                    @for c in &shelf.categories {
                        a href=(search.href(browse, &[("category", c.slug()), ("page", "1")]))
                            aria-current=[(browse.category == Some(*c)).then_some("page")] { (c.title()) }
                    }
                }
            }
        }
        div #results aria-live="polite" {
            @if shelf.matching == 0 {
                @if browse.query.is_empty() && browse.category.is_none() {
                    p { "No integrations are available yet." }
                } @else {
                    p { "No apps match your search." }
                }
            } @else if search.is_some() {
                p.visually-hidden { (shelf.matching) " apps" }
            }
            ul.grid {
                @for o in &shelf.offers { (card(o, href(&o.integration))) }
            }
            @if let (Some(search), true) = (search, shelf.pages > 1) {
                nav.pages aria-label="Pages" {
                    @if browse.page > 1 {
                        a.button rel="prev" href=(search.href(browse, &[("page", &(browse.page - 1).to_string())])) { "Previous" }
                    } @else { span {} }
                    span { "Page " (browse.page) " of " (shelf.pages) }
                    @if browse.page < shelf.pages {
                        a.button rel="next" href=(search.href(browse, &[("page", &(browse.page + 1).to_string())])) { "Next" }
                    } @else { span {} }
                }
            }
        }
        div.actions { (exit(brand, way_out)) }
    };
    page(
        StatusCode::OK,
        layout(
            "Connect your software",
            brand,
            false,
            nonce.as_deref(),
            body,
        ),
        nonce.as_deref(),
    )
}

/// The form for parameters and credentials the chosen auth option needs.
pub fn form(
    brand: &Brand,
    integration: &Integration,
    action: &str,
    fields: &[FormField],
    help: Option<&str>,
    error: Option<&FormError>,
    cancel: Option<&str>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let at_field = |name: &str| error.filter(|e| e.field == Some(name));
    let general = error.filter(|e| !fields.iter().any(|f| e.field == Some(f.name.as_str())));
    let nonce = new_token("").expose().to_owned();
    let body = html! {
        div.provider {
            (logo(integration))
            h1 { "Connect " (integration.name) }
        }
        @if let Some(h) = help { p.help { (h) } }
        @if let Some(e) = general { p.error role="alert" { (e.message) } }
        // Nothing to type: say what the button does (a link opened by a mail
        // scanner must not connect, so the consumer confirms).
        @if fields.is_empty() {
            p { (brand.name) " will connect to your " (integration.name) " account. There is nothing to fill in." }
        }
        form method="post" action=(action) data-busy="Connecting…" {
            @for f in fields {
                @let id = f.name.replace('.', "-");
                @let wrong = at_field(&f.name);
                @let described = match (&f.help, wrong) {
                    (Some(_), Some(_)) => Some(format!("{id}-help {id}-error")),
                    (Some(_), None) => Some(format!("{id}-help")),
                    (None, Some(_)) => Some(format!("{id}-error")),
                    (None, None) => None,
                };
                div.field {
                    label for=(id) { (f.label) }
                    input #(id) name=(f.name) type=(if f.secret { "password" } else { "text" })
                        value=(f.value) required[f.required] autocomplete="off" spellcheck="false"
                        aria-invalid=[wrong.map(|_| "true")] aria-describedby=[described];
                    @if let Some(h) = &f.help { small #{(id) "-help"} { (h) } }
                    @if let Some(e) = wrong { p.field-error #{(id) "-error"} role="alert" { (e.message) } }
                }
            }
            div.actions {
                button.primary type="submit" { "Connect" }
                @if let Some(href) = cancel { (exit(brand, Some(Exit::Cancel(href)))) }
            }
        }
        @if let Some(docs) = &integration.docs_url {
            p.help { a href=(docs) rel="noopener" target="_blank" { "How " (integration.name) " connections work" } }
        }
    };
    page(
        status,
        layout(&integration.name, brand, true, Some(&nonce), body),
        Some(&nonce),
    )
}

/// What a failure means to the person in front of the page; the stable code goes along
/// for the vendor's support.
fn explain(code: &str) -> &'static str {
    match code {
        "access_denied" => "Access was not granted, so nothing was connected.",
        "provider_error" => "The app reported a problem while you signed in. Please try again.",
        "token_exchange_failed" => "We could not finish signing you in. Please try again.",
        "invalid_parameters" => {
            "Some of the details were not accepted. Please check them and try again."
        }
        "integration_unavailable" => "This app cannot be connected right now.",
        "invalid_link" | "invalid_state" | "issuer_mismatch" => {
            "This sign-in is no longer valid. Please start again."
        }
        _ => "Something went wrong on our side. Please try again.",
    }
}

/// Where an attempt ends when the browser is not sent back to the vendor.
pub fn result(
    brand: &Brand,
    outcome: &Outcome,
    retry: Option<&str>,
    marketplace: Option<&str>,
    way_out: Option<Exit<'_>>,
) -> Response {
    let (status, title, class, message, code) = match outcome {
        Outcome::Connected { .. } => (
            StatusCode::OK,
            "Connected",
            "ok",
            "Your software is connected.",
            None,
        ),
        Outcome::Failed(e) => (
            StatusCode::BAD_REQUEST,
            "Connection failed",
            "error",
            explain(e.code()),
            Some(e.code()),
        ),
        Outcome::Cancelled => (
            StatusCode::OK,
            "Cancelled",
            "",
            "Nothing was connected. You can close this window.",
            None,
        ),
    };
    let body = html! {
        h1 class=(class) { (title) }
        p { (message) }
        @if let Some(code) = code { p.code data-error-code=(code) { "Error code: " (code) } }
        div.actions {
            @if let Some(r) = retry { a.button.primary href=(r) { "Try again" } }
            @if let Some(m) = marketplace { a.button href=(m) { "Back to the list" } }
            (exit(brand, way_out))
        }
    };
    page(status, layout(title, brand, true, None, body), None)
}

/// Posts the result to `window.opener` at exactly `origin`, then closes; without an
/// opener it follows `fallback` (or shows the payload's outcome).
pub fn message(brand: &Brand, origin: &str, payload: &Value, fallback: Option<&Url>) -> Response {
    let nonce = new_token("").expose().to_owned();
    // JSON inside a script: escape `<` so no value can close the element.
    let data = serde_json::json!({ "origin": origin, "payload": payload, "fallback": fallback.map(Url::as_str) })
        .to_string()
        .replace('<', "\\u003c");
    let script = format!(
        "(function(){{var d={data};if(window.opener){{window.opener.postMessage(d.payload,d.origin);window.close();}}\
         else if(d.fallback){{window.location.replace(d.fallback);}}}})();"
    );
    let said = match payload["connectionStatus"].as_str() {
        Some("active") => "Connected. You can close this window.",
        Some("cancelled") => "Cancelled. You can close this window.",
        _ => "The connection failed. You can close this window.",
    };
    let body = html! {
        h1 { "Connection" }
        p { (said) }
        script nonce=(nonce) { (PreEscaped(script)) }
    };
    page(
        StatusCode::OK,
        layout("Connection", brand, true, None, body),
        Some(&nonce),
    )
}

/// A page that says one thing, optionally with one button that posts to `action`
/// (a reminder's opt-out).
pub fn notice(
    status: StatusCode,
    brand: &Brand,
    title: &str,
    message: &str,
    action: Option<(&str, &str)>,
) -> Response {
    let body = html! {
        h1 { (title) }
        p { (message) }
        @if let Some((href, label)) = action {
            form method="post" action=(href) {
                div.actions { button.primary type="submit" { (label) } }
            }
        }
    };
    page(status, layout(title, brand, true, None, body), None)
}

/// A plain error page (an unusable link, a forged callback).
pub fn error(status: StatusCode, brand: &Brand, message: &str, back: Option<&Url>) -> Response {
    let body = html! {
        h1.error { "Cannot connect" }
        p { (message) }
        @if let Some(b) = back { div.actions { a.button href=(b.as_str()) { "Back to " (brand.name) } } }
    };
    page(
        status,
        layout("Cannot connect", brand, true, None, body),
        None,
    )
}

/// A 302 to `location` with the page security headers.
pub fn redirect(location: &str) -> Response {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::FOUND;
    secure(&mut response, None);
    response.headers_mut().insert(
        "location",
        location.parse().expect("URLs are valid header values"),
    );
    response
}

fn page(status: StatusCode, markup: Markup, script_nonce: Option<&str>) -> Response {
    let mut response = Response::new(Body::Text(markup.into_string()));
    *response.status_mut() = status;
    secure(&mut response, script_nonce);
    response.headers_mut().insert(
        "content-type",
        "text/html; charset=utf-8".parse().expect("static header"),
    );
    response
}

/// The security headers of every popup page: no framing, no referrer, no caching, and a
/// CSP that allows only our inline style, images inline, requests to this origin (the
/// marketplace's live search) and, where needed, one nonce'd script.
pub fn secure(response: &mut Response, script_nonce: Option<&str>) {
    let script = script_nonce.map_or("'none'".to_owned(), |n| format!("'nonce-{n}'"));
    let csp = format!(
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {script}; connect-src 'self'; \
         form-action 'self' https: http://127.0.0.1:* http://localhost:*; base-uri 'none'; frame-ancestors 'none'"
    );
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        csp.parse().expect("static header"),
    );
    headers.insert("x-frame-options", "DENY".parse().expect("static header"));
    headers.insert(
        "referrer-policy",
        "no-referrer".parse().expect("static header"),
    );
    headers.insert("cache-control", "no-store".parse().expect("static header"));
    headers.insert(
        "x-content-type-options",
        "nosniff".parse().expect("static header"),
    );
}

/// The response for an attempt's end: a redirect, a `postMessage` page, the marketplace,
/// or a local result page with the popup's own `links`.
pub fn respond(
    brand: &Brand,
    outcome: &Outcome,
    conclusion: Conclusion,
    links: &Links,
) -> Response {
    match conclusion.next {
        Next::Redirect(url) => redirect(url.as_str()),
        Next::Message {
            origin,
            payload,
            fallback,
        } => message(brand, &origin, &payload, fallback.as_ref()),
        Next::Marketplace { back } => {
            // After a success: the consumer's connections, nothing to pick.
            let connected: Vec<Offer> = conclusion
                .offers
                .into_iter()
                .filter(|o| o.connected)
                .collect();
            marketplace(
                brand,
                &Shelf::all(&connected),
                None,
                |_| None,
                Some("Your software is connected."),
                back.as_ref().map(|b| Exit::Back(b.as_str())),
            )
        }
        Next::Page {
            back,
            retry,
            cancel,
            marketplace,
        } => {
            let way_out = match (&back, cancel) {
                (Some(b), _) => Some(Exit::Back(b.as_str())),
                (None, true) => Some(Exit::Cancel(links.cancel.as_str())),
                (None, false) => None,
            };
            result(
                brand,
                outcome,
                Some(links.retry.as_str()).filter(|_| retry),
                Some(links.marketplace.as_str()).filter(|_| marketplace),
                way_out,
            )
        }
    }
}
