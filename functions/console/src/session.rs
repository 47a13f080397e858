//! Console sessions: sign-in with a full-scope API key, the session cookie, and the checks
//! every POST passes (its `Origin` is ours, and it carries the session's CSRF token).

use cookie::{Cookie, SameSite};
use latchkey_core::App;
use latchkey_domain::token::{new_token, token_hash};
use latchkey_domain::{CONSOLE_SESSION_TTL_SECONDS, ConsoleSession, KeyScope, csrf_token};
use latchkey_pages::flow_cookie;
use latchkey_store::{Accounts, Sessions};
use latchkey_web::{ApiError, Request, Response};

/// A signed-in browser: its session and the token its cookie holds.
pub struct Session {
    pub token: String,
    pub value: ConsoleSession,
}

impl Session {
    pub fn csrf(&self) -> String {
        csrf_token(&self.token)
    }
}

/// On https the cookie carries the `__Host-` prefix: the browser takes it only from this
/// host (Secure, `Path=/`, no `Domain`). Loopback http (local use) cannot.
fn cookie_name(app: &App) -> &'static str {
    if https(app) {
        "__Host-lk_console"
    } else {
        "lk_console"
    }
}

fn https(app: &App) -> bool {
    app.public_url().scheme() == "https"
}

fn set_cookie(app: &App, response: &mut Response, value: &str, max_age: i64) {
    let cookie = Cookie::build((cookie_name(app), value.to_owned()))
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age))
        .http_only(true)
        .secure(https(app))
        .same_site(SameSite::Strict)
        .build();
    // The value is base64url: always a valid header value.
    if let Ok(value) = cookie.to_string().parse() {
        response.headers_mut().append("set-cookie", value);
    }
}

/// The request's live session: its cookie names an unexpired session whose key is still
/// live. A revoked key ends the sessions it opened.
pub async fn current(app: &App, request: &Request) -> Result<Option<Session>, ApiError> {
    let Some(token) = flow_cookie::read(request, cookie_name(app)) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let Some(value) = app.store.session(&hash).await? else {
        return Ok(None);
    };
    let key = app.store.api_key(&value.key_hash).await?;
    if !key.is_some_and(|k| k.value.live(app.now()) && k.value.allows(KeyScope::Full)) {
        app.store.end_session(&hash).await?;
        return Ok(None);
    }
    Ok(Some(Session { token, value }))
}

/// Why a sign-in was refused, in words for the form.
pub enum Refused {
    Unknown,
    Scoped,
}

/// Opens a session for a live full-scope key: a fresh token every time (a cookie planted
/// before sign-in names nothing afterwards), any session the browser held ended.
pub async fn sign_in(
    app: &App,
    request: &Request,
    key: &str,
    response: &mut Response,
) -> Result<Result<(), Refused>, ApiError> {
    let key_hash = token_hash(key.trim());
    let Some(found) = app.store.api_key(&key_hash).await? else {
        return Ok(Err(Refused::Unknown));
    };
    if !found.value.live(app.now()) {
        return Ok(Err(Refused::Unknown));
    }
    if !found.value.allows(KeyScope::Full) {
        return Ok(Err(Refused::Scoped));
    }
    if let Some(old) = flow_cookie::read(request, cookie_name(app)) {
        app.store.end_session(&token_hash(&old)).await?;
    }
    let token = new_token("lks");
    let session = ConsoleSession::new(
        token.expose(),
        found.value.account_id.clone(),
        key_hash,
        app.now(),
    );
    app.store.create_session(&session).await?;
    set_cookie(app, response, token.expose(), CONSOLE_SESSION_TTL_SECONDS);
    Ok(Ok(()))
}

/// Ends the session server-side and clears the cookie.
pub async fn sign_out(
    app: &App,
    session: &Session,
    response: &mut Response,
) -> Result<(), ApiError> {
    app.store.end_session(&session.value.token_hash).await?;
    set_cookie(app, response, "", 0);
    Ok(())
}

/// Whether a POST comes from one of our own pages: the browser's `Origin` is ours
/// (forms of other sites cannot forge it).
pub fn same_origin(app: &App, request: &Request) -> bool {
    let ours = app.public_url().origin().ascii_serialization();
    request
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin == ours)
}

/// Whether a POST carries the session's CSRF token (compared as hashes: no timing leak).
pub fn carries_csrf(session: &Session, form: &std::collections::BTreeMap<String, String>) -> bool {
    form.get("csrf")
        .is_some_and(|given| token_hash(given) == token_hash(&session.csrf()))
}
