//! The cookie that binds a redirect-based flow to the browser that started it:
//! `HttpOnly; Secure; SameSite=Lax` (Lax, so the provider's top-level redirect back to
//! the callback carries it), one per flow.

use cookie::{Cookie, SameSite};
use latchkey_connect::flow::FlowCookie;
use latchkey_web::{Request, Response};

fn build(name: String, value: String, max_age_seconds: i64) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .build()
}

fn append(response: &mut Response, cookie: &Cookie<'_>) {
    // Names and values are base64url and hex: always a valid header value.
    if let Ok(value) = cookie.to_string().parse() {
        response.headers_mut().append("set-cookie", value);
    }
}

/// Sets the flow cookie on `response`.
pub fn set(response: &mut Response, cookie: &FlowCookie) {
    let built = build(
        cookie.name.clone(),
        cookie.value.clone(),
        cookie.max_age_seconds,
    );
    append(response, &built);
}

/// Clears the flow cookie `name` (the flow is used up).
pub fn clear(response: &mut Response, name: &str) {
    append(response, &build(name.to_owned(), String::new(), 0));
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn read(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}
