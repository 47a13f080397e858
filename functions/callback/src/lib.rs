//! `callback`: where providers send the browser back (`GET /oauth/callback`,
//! `GET /oauth1/callback`). The connect service ties the request to its flow and finishes
//! it (docs/ARCHITECTURE.md §4); this crate reads the request and renders the answer.

use std::collections::BTreeMap;

use async_trait::async_trait;
use latchkey_connect::flow::{Finished, Outcome, Protocol, Refusal, finish};
use latchkey_core::App;
use latchkey_domain::FlowError;
use latchkey_pages::{flow_cookie, respond};
use latchkey_web::{
    ApiError, Handler, Operation, PathParams, Request, Response, StatusCode, query_params,
};

pub struct Callback;

#[async_trait]
impl Handler for Callback {
    async fn handle(
        &self,
        operation: Operation,
        _: PathParams,
        request: Request,
        app: &App,
    ) -> Result<Response, ApiError> {
        match operation {
            Operation::OAuthCallback => Ok(callback(app, &request, Protocol::OAuth2).await),
            Operation::OAuth1Callback => Ok(callback(app, &request, Protocol::OAuth1).await),
            _ => Err(ApiError::NotFound("route")),
        }
    }
}

async fn callback(app: &App, request: &Request, protocol: Protocol) -> Response {
    let query: BTreeMap<String, String> = query_params(request).into_iter().collect();
    let cookie = |name: &str| flow_cookie::read(request, name);
    match finish(app, protocol, &query, cookie).await {
        Ok(Finished::Refused(refusal)) => refused(refusal),
        Ok(Finished::Ended(ended)) => {
            if let Outcome::Failed(e @ FlowError::Internal(_)) = &ended.outcome {
                latchkey_web::log_error(e, "OAuth callback failed");
            }
            let mut response = respond(
                &ended.account_name,
                &ended.outcome,
                ended.conclusion,
                &ended.links,
            );
            flow_cookie::clear(&mut response, &ended.cookie_name);
            response
        }
        Err(e) => {
            latchkey_web::log_error(&e, "OAuth callback failed");
            latchkey_pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Latchkey",
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
    latchkey_pages::error(StatusCode::BAD_REQUEST, "Latchkey", message, None)
}
