//! `popup`: the hosted connection popup. Starts from an activation link
//! (`/connect/{token}`) or Integration.App-style parameters (`/connection-popup`), shows the
//! marketplace or the integration's form, and hands the consumer's choice to the connect
//! service: off to the provider for OAuth (the `callback` function finishes), or
//! connected here for API key, basic, client-credentials and custom-token modes.

mod form;
mod input;

use std::collections::BTreeMap;

use async_trait::async_trait;
use latchkey_connect::flow::{
    Links, Outcome, Start, StartRequest, Step, conclude, connect, offers, resolve,
};
use latchkey_core::App;
use latchkey_domain::{FieldError, FlowError};
use latchkey_pages::{Brand, Browse, Exit, Search, Shelf, flow_cookie, respond};
use latchkey_web::{ApiError, Handler, Operation, PathParams, Request, Response, StatusCode};

pub struct Popup;

#[async_trait]
impl Handler for Popup {
    async fn handle(
        &self,
        operation: Operation,
        params: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        let query = request.uri().query();
        Ok(match operation {
            Operation::ConnectLanding => {
                let start = input::from_query(&request);
                run(app, params.get("token"), start, None, query).await
            }
            Operation::ConnectSubmit => {
                let start = input::from_query(&request);
                let form = latchkey_web::form_body(&request);
                run(app, params.get("token"), start, Some(form), query).await
            }
            Operation::PopupStart => {
                let start = input::from_query(&request);
                let token = start.token.clone().unwrap_or_default();
                run(app, &token, start, None, query).await
            }
            Operation::PopupSubmit => {
                let start = input::from_body(&request);
                let token = start.token.clone().unwrap_or_default();
                run(app, &token, start, None, None).await
            }
            Operation::ConnectScript => connect_script(),
            _ => return Err(ApiError::NotFound("route")),
        })
    }
}

/// The vendor's frontend helper (`sdk/connect.js`), loaded by pages of any origin.
fn connect_script() -> Response {
    const SCRIPT: &str = include_str!("../../../sdk/connect.js");
    let mut response = Response::new(SCRIPT.into());
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-type", "text/javascript; charset=utf-8"),
        ("cache-control", "public, max-age=3600"),
        ("x-content-type-options", "nosniff"),
        ("cross-origin-resource-policy", "cross-origin"),
    ] {
        headers.insert(name, value.parse().expect("static header"));
    }
    response
}

/// Runs a start: GET shows what is needed (or goes straight to the provider), POST takes
/// the form and connects.
async fn run(
    app: &App,
    token: &str,
    request: StartRequest,
    form: Option<BTreeMap<String, String>>,
    query: Option<&str>,
) -> Response {
    let start = match resolve(app, token, request, query.unwrap_or("")).await {
        Ok(start) => start,
        Err(e) => return start_error(&e),
    };
    if let Some(invalid) = &start.invalid_input {
        return finish(app, &start, Outcome::Failed(invalid.clone().into())).await;
    }
    if start.request.cancel {
        return finish(app, &start, Outcome::Cancelled).await;
    }
    let Some(integration) = start.integration.clone() else {
        return match offers(app, &start.account.id, &start.consumer.id).await {
            Ok(offers) => latchkey_pages::marketplace(
                &Brand::from(&start.account),
                &Shelf::new(&offers, Browse::from_query(query.unwrap_or(""))),
                Some(&search(&start)),
                |i| Some(start.landing_url(&[("integrationId", &i.id)])),
                None,
                cancel_link(&start).as_deref().map(Exit::Cancel),
            ),
            Err(e) => start_error(&e),
        };
    };
    let option = match &start.request.auth_option_key {
        Some(key) => integration.auth_option(key),
        None => integration.auth_options.first(),
    };
    let Some(option) = option.cloned() else {
        let unknown = FieldError::new("authOptionKey", "names no auth option of this integration");
        return finish(app, &start, Outcome::Failed(unknown.into())).await;
    };
    let mut parameters = start.request.connection_parameters.clone();
    let ask = form::Ask {
        integration: &integration,
        option: &option,
    };
    let fields = ask.fields(&parameters, form.as_ref());
    // A GET never completes a connection from an activation link: mail and chat link
    // scanners open links too. Nothing to type still takes a click (a POST), unless the
    // consumer is off to the provider anyway or the vendor's own app opened the popup.
    let at_once = option.method.redirects() || start.grant.workspace;
    let Some(form) = form.or_else(|| (fields.is_empty() && at_once).then(BTreeMap::new)) else {
        return ask.page(&start, &fields, None);
    };
    ask.take_parameters(&form, &mut parameters);
    // A missing parameter or credential is asked for again, not reported as a failure.
    if let Err(e) = ask.check(&parameters, &form) {
        let fields = ask.fields(&parameters, Some(&form));
        return ask.page(&start, &fields, Some(&e));
    }
    match connect(app, &start, &integration, &option, parameters, &form).await {
        Ok(Step::Redirect(redirect)) => {
            let mut response = latchkey_pages::redirect(redirect.url.as_str());
            flow_cookie::set(&mut response, &redirect.cookie);
            response
        }
        Ok(Step::Done(connection_id)) => {
            finish(app, &start, Outcome::Connected { connection_id }).await
        }
        // The provider refused what was typed (a verified key): ask again, not a failure.
        Err(FlowError::InvalidParameter(e)) if fields.iter().any(|f| f.name == e.field) => {
            ask.page(&start, &fields, Some(&e))
        }
        Err(e) => finish(app, &start, Outcome::Failed(e)).await,
    }
}

fn start_error(e: &FlowError) -> Response {
    let status = match e {
        FlowError::InvalidLink => StatusCode::GONE,
        FlowError::Internal(_) => {
            latchkey_web::log_error(e, "connection start failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let message = match e {
        FlowError::InvalidLink => "This link has expired or was already used. Ask for a new one.",
        FlowError::IntegrationUnavailable => "This integration is not available.",
        _ => "Something went wrong. Please try again.",
    };
    latchkey_pages::error(status, &Brand::named("Latchkey"), message, None)
}

/// The marketplace's search form: a GET to the landing page that keeps the start's own
/// parameters (not the browse's, which the form sets).
fn search(start: &Start) -> Search {
    let landing = start.landing_url(&[]);
    let (action, query) = landing.split_once('?').unwrap_or((&landing, ""));
    let keep = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| !matches!(k.as_str(), "q" | "category" | "page" | "integrationId"))
        .collect();
    Search {
        action: action.to_owned(),
        keep,
    }
}

/// "Cancel / Back to …", offered where the vendor has a page to go back to.
pub(crate) fn cancel_link(start: &Start) -> Option<String> {
    start
        .ending
        .target
        .as_ref()
        .map(|_| start.landing_url(&[("cancel", "true")]))
}

/// Sends the browser where docs/ARCHITECTURE.md §4 says, or shows the result here.
async fn finish(app: &App, start: &Start, outcome: Outcome) -> Response {
    if let Outcome::Failed(e @ FlowError::Internal(_)) = &outcome {
        latchkey_web::log_error(e, "connection failed");
    }
    let (account, consumer) = (&start.account.id, &start.consumer.id);
    match conclude(app, account, consumer, &start.ending, &outcome).await {
        Ok(conclusion) => {
            let links = Links {
                retry: start.landing_url(&[]),
                cancel: start.landing_url(&[("cancel", "true")]),
                marketplace: start.landing_url(&[("integrationId", "")]),
            };
            respond(&Brand::from(&start.account), &outcome, conclusion, &links)
        }
        Err(e) => start_error(&e),
    }
}
