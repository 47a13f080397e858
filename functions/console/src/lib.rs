//! `console`: the vendor's console at `/console/`. A browser signs in with a full-scope
//! API key and gets a session cookie; pages read the account's data from the store and
//! every action is the API's own request, answered in process (`api`), so a failed action
//! shows the API's problem next to its field and changes nothing.

mod api;
mod connections;
mod consumers;
mod integrations;
mod keys;
mod session;
mod settings;

use std::collections::BTreeMap;

use async_trait::async_trait;
use latchkey_core::App;
use latchkey_domain::Account;
use latchkey_pages::console::{self, Frame, Notice, Section};
use latchkey_pages::{Brand, FormError};
use latchkey_store::Accounts;
use latchkey_web::{
    ApiError, Handler, Method, Operation, PathParams, Request, Response, form_body, query_params,
};

use session::Session;

pub struct Console;

#[async_trait]
impl Handler for Console {
    async fn handle(
        &self,
        operation: Operation,
        params: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        let base = format!("{}console/", app.public_url());
        match operation {
            Operation::ConsoleSignInForm => {
                let signed_out = query_params(&request).contains_key("signed_out");
                return Ok(console::sign_in(&base, None, signed_out));
            }
            Operation::ConsoleSignIn => return sign_in(app, &request, &base).await,
            _ => {}
        }
        let Some(session) = session::current(app, &request).await? else {
            return Ok(latchkey_pages::redirect(&format!("{base}sign-in")));
        };
        let form = if request.method() == Method::POST {
            let form = form_body(&request);
            if !session::same_origin(app, &request) || !session::carries_csrf(&session, &form) {
                return Ok(console::refused(&base));
            }
            form
        } else {
            BTreeMap::new()
        };
        let Some(account) = app.store.account(&session.value.account_id).await? else {
            return Err(ApiError::NotFound("account"));
        };
        let cx = Cx {
            app,
            session: &session,
            account: &account.value,
            base: &base,
            csrf: session.csrf(),
        };
        let id = params.get("id");
        let query = query_params(&request);
        Ok(match operation {
            Operation::ConsoleHome => latchkey_pages::redirect(&format!("{base}connections")),
            Operation::ConsoleSignOut => {
                let mut response = console::see_other(&format!("{base}sign-in?signed_out=1"));
                session::sign_out(app, &session, &mut response).await?;
                response
            }
            Operation::ConsoleIntegrations => integrations::list(&cx, &query).await?,
            Operation::ConsoleIntegrationNew => integrations::new(&cx),
            Operation::ConsoleIntegrationCreate => integrations::create(&cx, &form).await?,
            Operation::ConsoleIntegration => integrations::show(&cx, id, &query).await?,
            Operation::ConsoleIntegrationSave => integrations::save(&cx, id, &form).await?,
            Operation::ConsoleConsumers => consumers::list(&cx, &query, &[], None).await?,
            Operation::ConsoleConsumerCreate => consumers::create(&cx, &form).await?,
            Operation::ConsoleConsumer => {
                let done = done(&query);
                consumers::show(&cx, id, None, done.as_ref(), None).await?
            }
            Operation::ConsoleConsumerSave => consumers::save(&cx, id, &form).await?,
            Operation::ConsoleConsumerLink => consumers::link(&cx, id, &form).await?,
            Operation::ConsoleConnections => connections::list(&cx, &query).await?,
            Operation::ConsoleConnection => connections::show(&cx, id, &query).await?,
            Operation::ConsoleConnectionAction => connections::act(&cx, id, &form).await?,
            Operation::ConsoleApiKeys => keys::list(&cx, &query).await?,
            Operation::ConsoleApiKeyCreate => keys::create(&cx, &form).await?,
            Operation::ConsoleApiKeyRevoke => keys::revoke(&cx, id).await?,
            Operation::ConsoleSettings => settings::show(&cx, &query).await?,
            Operation::ConsoleSettingsSave => settings::save(&cx, &form).await?,
            _ => return Err(ApiError::NotFound("route")),
        })
    }
}

/// What a signed-in request's handlers share.
pub(crate) struct Cx<'a> {
    app: &'a App,
    session: &'a Session,
    account: &'a Account,
    base: &'a str,
    csrf: String,
}

impl Cx<'_> {
    fn frame(&self, section: Section) -> Frame<'_> {
        Frame {
            brand: Brand::from(self.account),
            base: self.base,
            csrf: &self.csrf,
            section,
        }
    }

    fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The API's answer to `method path` with `body`, as this account.
    async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, api::Problem> {
        let account = &self.session.value.account_id;
        api::call(self.app, account, method, path, body, None).await
    }

    /// [`Cx::api`] over the stored version the page showed (`If-Match`): a save over a
    /// newer one is refused and changes nothing.
    async fn api_if_match(
        &self,
        method: Method,
        path: &str,
        body: serde_json::Value,
        version: u64,
    ) -> Result<serde_json::Value, api::Problem> {
        let account = &self.session.value.account_id;
        api::call(self.app, account, method, path, Some(body), Some(version)).await
    }

    /// A page that is not there (another account's id, or a deleted one).
    fn not_found(&self, section: Section, what: &str) -> Response {
        console::missing(&self.frame(section), what)
    }
}

/// A problem as the form shows it. Next to its field, the API's "field: " prefix of the
/// detail would say the field's name twice.
fn form_error(problem: &api::Problem) -> FormError<'_> {
    let field = problem.field.as_deref();
    let message = match (field, problem.detail.split_once(": ")) {
        (Some(field), Some((named, rest))) if field.ends_with(named) => rest,
        _ => &problem.detail,
    };
    FormError { field, message }
}

/// The notice of a done action (`?done=` after a redirect): a fixed text, none from the URL.
fn done(query: &std::collections::HashMap<String, String>) -> Option<Notice<'static>> {
    Some(Notice::Done(match query.get("done")?.as_str() {
        "saved" => "Saved.",
        "created" => "Created. Enable it with your OAuth app below when it needs one.",
        "refreshed" => "Refreshed: the connection has a new token.",
        "disconnected" => "Disconnected.",
        "revoked" => "The key is revoked: requests with it are refused from now on.",
        "deleted" => "Deleted: its connections were disconnected first.",
        _ => return None,
    }))
}

async fn sign_in(app: &App, request: &Request, base: &str) -> Result<Response, ApiError> {
    if !session::same_origin(app, request) {
        return Ok(console::refused(base));
    }
    let form = form_body(request);
    let key = form.get("api_key").map(String::as_str).unwrap_or("");
    if key.trim().is_empty() {
        return Ok(console::sign_in(base, Some("Paste an API key."), false));
    }
    let mut response = console::see_other(base);
    Ok(
        match session::sign_in(app, request, key, &mut response).await? {
            Ok(()) => response,
            Err(session::Refused::Unknown) => console::sign_in(
                base,
                Some("This key is not valid: it may be mistyped, revoked or expired."),
                false,
            ),
            Err(session::Refused::Scoped) => console::sign_in(
                base,
                Some("This key has the connect scope only. Sign in with a full-scope key."),
                false,
            ),
        },
    )
}
