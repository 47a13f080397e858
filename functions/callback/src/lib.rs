//! `callback`: where the browser comes back from elsewhere. Providers send it to an
//! integration's redirect URI, `GET /oauth/callback/{integration_id}`: the connect service
//! ties the request to its flow and finishes it (docs/ARCHITECTURE.md §4). A reminder email sends it to
//! `/reminders/{token}` (reconnect) and `/reminders/{token}/opt-out` (§5). This crate
//! reads the request and renders the answer.

use std::collections::BTreeMap;

use async_trait::async_trait;
use latchkey_connect::flow::{Finished, Outcome, Refusal, finish};
use latchkey_connect::reminders::{self, Reconnect};
use latchkey_core::App;
use latchkey_domain::FlowError;
use latchkey_pages::{Brand, flow_cookie, respond};
use latchkey_web::metrics;
use latchkey_web::{
    ApiError, Handler, Operation, PathParams, Request, Response, StatusCode, query_params,
};

pub struct Callback;

#[async_trait]
impl Handler for Callback {
    async fn handle(
        &self,
        operation: Operation,
        params: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        match operation {
            Operation::OAuthCallback => Ok(callback(app, &request, params.get("id")).await),
            Operation::ReminderReconnect => Ok(reminder_reconnect(app, params.get("token")).await),
            Operation::ReminderOptOutOffer => Ok(opt_out_offer(app, params.get("token")).await),
            Operation::ReminderOptOut => Ok(opt_out(app, params.get("token")).await),
            _ => Err(ApiError::NotFound("route")),
        }
    }
}

async fn callback(app: &App, request: &Request, integration_id: &str) -> Response {
    let query: BTreeMap<String, String> = query_params(request).into_iter().collect();
    let cookie = |name: &str| flow_cookie::read(request, name);
    match finish(app, integration_id, &query, cookie).await {
        Ok(Finished::Refused(refusal)) => refused(refusal),
        Ok(Finished::Ended(ended)) => {
            if let Outcome::Failed(e @ FlowError::Internal(_)) = &ended.outcome {
                latchkey_web::log_error(e, "OAuth callback failed");
            }
            match &ended.outcome {
                Outcome::Connected { .. } => metrics::report(&[], &[("CallbackSucceeded", 1)]),
                Outcome::Failed(e) => {
                    metrics::report(&[("ErrorCode", e.code())], &[("CallbackFailed", 1)])
                }
                Outcome::Cancelled => {}
            }
            let mut response = respond(
                &Brand::from(&ended.account),
                &ended.outcome,
                ended.conclusion,
                &ended.links,
            );
            flow_cookie::clear(&mut response, &ended.cookie_name);
            response
        }
        Err(e) => {
            latchkey_web::log_error(&e, "OAuth callback failed");
            metrics::report(&[("ErrorCode", "internal")], &[("CallbackFailed", 1)]);
            latchkey_pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &Brand::named("Latchkey"),
                "Something went wrong. Please try again.",
                None,
            )
        }
    }
}

fn refused(refusal: Refusal) -> Response {
    let message = match refusal {
        Refusal::Malformed => "This sign-in response is not valid.",
        Refusal::Expired => "This sign-in has expired or was already used. Please start again.",
        Refusal::OtherBrowser => {
            "This sign-in was started in another browser. Please start again from the same window."
        }
        Refusal::Gone => "This sign-in is no longer valid.",
    };
    latchkey_pages::error(
        StatusCode::BAD_REQUEST,
        &Brand::named("Latchkey"),
        message,
        None,
    )
}

/// A reminder's link that cannot be used (unknown, expired) or a store failure.
fn reminder_error(e: FlowError) -> Response {
    if let FlowError::InvalidLink = e {
        return latchkey_pages::error(
            StatusCode::NOT_FOUND,
            &Brand::named("Latchkey"),
            "This reminder link is not valid or has expired. Ask for a new one.",
            None,
        );
    }
    latchkey_web::log_error(&e, "reminder link failed");
    latchkey_pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &Brand::named("Latchkey"),
        "Something went wrong. Please try again.",
        None,
    )
}

async fn reminder_reconnect(app: &App, token: &str) -> Response {
    match reminders::reconnect(app, token).await {
        Ok(Reconnect::Link(url)) => latchkey_pages::redirect(url.as_str()),
        Ok(Reconnect::NotNeeded { account_name }) => latchkey_pages::notice(
            StatusCode::OK,
            &Brand::named(&account_name),
            "Nothing to reconnect",
            "This connection works again (or was removed). You can close this window.",
            None,
        ),
        Err(e) => reminder_error(e),
    }
}

/// Confirms first: mail scanners open links, and a GET must change nothing.
async fn opt_out_offer(app: &App, token: &str) -> Response {
    let action = app.public_url().join(&format!("reminders/{token}/opt-out"));
    match reminders::opt_out_offer(app, token).await {
        Ok(account_name) => latchkey_pages::notice(
            StatusCode::OK,
            &Brand::named(&account_name),
            "Stop reminder emails",
            &format!(
                "{account_name} will stop emailing you when one of your connections needs you to sign in again."
            ),
            action.as_ref().ok().map(|a| (a.as_str(), "Stop reminders")),
        ),
        Err(e) => reminder_error(e),
    }
}

/// The page's button and mail clients' one-click unsubscribe (RFC 8058) both post here.
async fn opt_out(app: &App, token: &str) -> Response {
    match reminders::opt_out(app, token).await {
        Ok(account_name) => latchkey_pages::notice(
            StatusCode::OK,
            &Brand::named(&account_name),
            "Reminders stopped",
            &format!("{account_name} will not send you reminder emails any more."),
            None,
        ),
        Err(e) => reminder_error(e),
    }
}
