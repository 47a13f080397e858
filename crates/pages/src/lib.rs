//! The browser-facing pages, server-rendered (maud escapes every value), with the
//! security headers of docs/ARCHITECTURE.md §4 on every one.

pub mod flow_cookie;

use latchkey_connect::flow::{Conclusion, Links, Next, Offer, Outcome};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;
use url::Url;

use latchkey_domain::Integration;
use latchkey_domain::token::new_token;
use latchkey_web::{Body, Response, StatusCode};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1f2328}\
h1{font-size:1.3rem}ul{list-style:none;padding:0}li{margin:.4rem 0}\
a.card,button{display:flex;align-items:center;gap:.6rem;padding:.6rem .8rem;border:1px solid #d0d7de;border-radius:8px;\
text-decoration:none;color:inherit;background:#fff;font:inherit;cursor:pointer}\
img{width:28px;height:28px}label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}\
.error{color:#b42318}.ok{color:#067647}.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1rem}\
.badge{margin-left:auto;font-size:.8rem;color:#067647;border:1px solid #abefc6;background:#ecfdf3;border-radius:999px;padding:.1rem .5rem}\
div.card{display:flex;align-items:center;gap:.6rem;padding:.6rem .8rem;border:1px solid #d0d7de;border-radius:8px}\
.what{display:flex;flex-direction:column}.what small,.help{color:#59636e;font-size:.85rem}";

/// One field of a connection form.
pub struct FormField {
    pub name: String,
    pub label: String,
    pub secret: bool,
    pub required: bool,
    pub value: String,
}

fn layout(title: &str, account_name: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · " (account_name) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

/// The integration's logo, or a monogram of its name when it has none.
fn logo(integration: &Integration) -> Markup {
    match latchkey_core::catalog::logo(integration) {
        Some(logo) => html! {
            img src={ "data:" (logo.content_type) ";base64," (logo.data_base64) } alt="";
        },
        None => {
            let monogram = latchkey_core::catalog::monogram(&integration.name);
            html! { span.monogram aria-hidden="true" { (PreEscaped(monogram)) } }
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

fn exit(account_name: &str, exit: Option<Exit<'_>>) -> Markup {
    html! {
        @match exit {
            Some(Exit::Back(href)) => a.card href=(href) { "Back to " (account_name) },
            Some(Exit::Cancel(href)) => a.card href=(href) { "Cancel / Back to " (account_name) },
            None => {},
        }
    }
}

/// The integrations a consumer may connect (activation links without one), each marked
/// "Connected" when the consumer has a working connection to it. `href` gives a card's
/// link; without one (a used link, after a success) the card only shows its state.
pub fn marketplace(
    account_name: &str,
    offers: &[Offer],
    href: impl Fn(&Integration) -> Option<String>,
    notice: Option<&str>,
    way_out: Option<Exit<'_>>,
) -> Response {
    page(
        StatusCode::OK,
        layout(
            "Connect your software",
            account_name,
            html! {
                h1 { "Connect your software to " (account_name) }
                @if let Some(n) = notice { p.ok role="status" { (n) } }
                @if offers.is_empty() {
                    p { "No integrations are available yet." }
                }
                ul {
                    @for o in offers {
                        @let card = html! {
                            (logo(&o.integration))
                            span.what {
                                span { (o.integration.name) }
                                @if let Some(d) = &o.integration.description { small { (d) } }
                            }
                            @if o.connected { span.badge { "Connected" } }
                        };
                        li {
                            @match href(&o.integration) {
                                Some(h) => a.card href=(h) { (card) },
                                None => div.card { (card) },
                            }
                        }
                    }
                }
                div.actions { (exit(account_name, way_out)) }
            },
        ),
        None,
    )
}

/// The form for parameters and credentials the chosen auth option needs.
pub fn form(
    account_name: &str,
    integration: &Integration,
    action: &str,
    fields: &[FormField],
    help: Option<&str>,
    error: Option<&str>,
    cancel: Option<&str>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        status,
        layout(
            &integration.name,
            account_name,
            html! {
                h1 { (logo(integration)) " Connect " (integration.name) }
                @if let Some(h) = help { p.help { (h) } }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                // Nothing to type: say what the button does (a link opened by a mail
                // scanner must not connect, so the consumer confirms).
                @if fields.is_empty() {
                    p { (account_name) " will connect to your " (integration.name) " account. There is nothing to fill in." }
                }
                form method="post" action=(action) {
                    @for f in fields {
                        label for=(f.name) { (f.label) }
                        input id=(f.name) name=(f.name) type=(if f.secret { "password" } else { "text" })
                            value=(f.value) required[f.required] autocomplete="off";
                    }
                    div.actions {
                        button type="submit" { "Connect" }
                        (exit(account_name, cancel.map(Exit::Cancel)))
                    }
                }
            },
        ),
        None,
    )
}

/// Where an attempt ends when the browser is not sent back to the vendor.
pub fn result(
    account_name: &str,
    outcome: &Outcome,
    retry: Option<&str>,
    marketplace: Option<&str>,
    way_out: Option<Exit<'_>>,
) -> Response {
    let (status, title, class, message) = match outcome {
        Outcome::Connected { .. } => (
            StatusCode::OK,
            "Connected",
            "ok",
            "Your software is connected.".to_owned(),
        ),
        Outcome::Failed(e) => (
            StatusCode::BAD_REQUEST,
            "Connection failed",
            "error",
            format!("The connection could not be made ({}).", e.code()),
        ),
        Outcome::Cancelled => (
            StatusCode::OK,
            "Cancelled",
            "",
            "Nothing was connected. You can close this window.".to_owned(),
        ),
    };
    page(
        status,
        layout(
            title,
            account_name,
            html! {
                h1 class=(class) { (title) }
                p { (message) }
                div.actions {
                    @if let Some(r) = retry { a.card href=(r) { "Try again" } }
                    @if let Some(m) = marketplace { a.card href=(m) { "Back to the list" } }
                    (exit(account_name, way_out))
                }
            },
        ),
        None,
    )
}

/// Posts the result to `window.opener` at exactly `origin`, then closes; without an
/// opener it follows `fallback` (or shows the payload's outcome).
pub fn message(
    account_name: &str,
    origin: &str,
    payload: &Value,
    fallback: Option<&Url>,
) -> Response {
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
    page(
        StatusCode::OK,
        layout(
            "Connection",
            account_name,
            html! {
                p { (said) }
                script nonce=(nonce) { (PreEscaped(script)) }
            },
        ),
        Some(&nonce),
    )
}

/// A page that says one thing, optionally with one button that posts to `action`
/// (a reminder's opt-out).
pub fn notice(
    status: StatusCode,
    account_name: &str,
    title: &str,
    message: &str,
    action: Option<(&str, &str)>,
) -> Response {
    page(
        status,
        layout(
            title,
            account_name,
            html! {
                h1 { (title) }
                p { (message) }
                @if let Some((href, label)) = action {
                    form method="post" action=(href) {
                        div.actions { button type="submit" { (label) } }
                    }
                }
            },
        ),
        None,
    )
}

/// A plain error page (an unusable link, a forged callback).
pub fn error(
    status: StatusCode,
    account_name: &str,
    message: &str,
    back: Option<&Url>,
) -> Response {
    result_with_status(status, account_name, message, back)
}

fn result_with_status(
    status: StatusCode,
    account_name: &str,
    message: &str,
    back: Option<&Url>,
) -> Response {
    page(
        status,
        layout(
            "Cannot connect",
            account_name,
            html! {
                h1.error { "Cannot connect" }
                p { (message) }
                @if let Some(b) = back { div.actions { a.card href=(b.as_str()) { "Back to " (account_name) } } }
            },
        ),
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
/// CSP that allows only our inline style and, where needed, one nonce'd script.
pub fn secure(response: &mut Response, script_nonce: Option<&str>) {
    let script = script_nonce.map_or("'none'".to_owned(), |n| format!("'nonce-{n}'"));
    let csp = format!(
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {script}; \
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
    account_name: &str,
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
        } => message(account_name, &origin, &payload, fallback.as_ref()),
        Next::Marketplace { back } => marketplace(
            account_name,
            &conclusion.offers,
            |_| None,
            Some("Your software is connected."),
            back.as_ref().map(|b| Exit::Back(b.as_str())),
        ),
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
                account_name,
                outcome,
                Some(links.retry.as_str()).filter(|_| retry),
                Some(links.marketplace.as_str()).filter(|_| marketplace),
                way_out,
            )
        }
    }
}
