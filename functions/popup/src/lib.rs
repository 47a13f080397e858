//! `popup`: the hosted connection popup. Starts from an activation link
//! (`/connect/{token}`) or Integration.App-style parameters (`/connection-popup`), shows the
//! marketplace or the integration's form, and runs the chosen auth mode: it redirects to
//! the provider for OAuth 2.0 (the `callback` function finishes), or completes API key,
//! basic, client-credentials and custom-token connections itself.

mod start;

use std::collections::BTreeMap;

use async_trait::async_trait;
use latchkey_core::App;
use latchkey_web::{ApiError, Handler, Operation, PathParams, Request, Response, query_params};

pub use start::StartInput;

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
        let query = query_params(&request);
        Ok(match operation {
            Operation::ConnectLanding => {
                let input = StartInput::from_query(&query);
                start::run(app, params.get("token"), input, None, request.uri().query()).await
            }
            Operation::ConnectSubmit => {
                let input = StartInput::from_query(&query);
                let form = form_body(&request);
                start::run(
                    app,
                    params.get("token"),
                    input,
                    Some(form),
                    request.uri().query(),
                )
                .await
            }
            Operation::PopupStart => {
                let input = StartInput::from_query(&query);
                let token = input.token.clone().unwrap_or_default();
                start::run(app, &token, input, None, request.uri().query()).await
            }
            Operation::PopupSubmit => {
                let input = StartInput::from_body(&request, &query);
                let token = input.token.clone().unwrap_or_default();
                start::run(app, &token, input, None, None).await
            }
            _ => return Err(ApiError::NotFound("route")),
        })
    }
}

/// An `application/x-www-form-urlencoded` body as a map (last value wins).
fn form_body(request: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(request.body().as_ref())
        .into_owned()
        .collect()
}
