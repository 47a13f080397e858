//! The HTTP layer every function shares: the route table, request parsing, API-key
//! authentication, and the one mapping of errors to RFC 9457 problem documents.
//! Handlers are plain async functions over [`Request`] and [`App`](latchkey_core::App),
//! callable in a test without any Lambda runtime.

mod auth;
pub mod lambda;
pub mod metrics;
mod problem;
mod request;
mod response;
pub mod routes;
pub mod setup;
pub mod telemetry;

pub use auth::{SignedIn, authenticate};
pub use lambda_http::Body;
pub use lambda_http::http::{Method, StatusCode};
pub use problem::{ApiError, log_error};
pub use request::{IfMatch, PageParams, check_if_match, flag, form_body, json_body, query_params};
pub use response::{etag, json, no_content, with_etag};
pub use routes::{Function, Operation, PathParams, ROUTES, Route};

pub type Request = lambda_http::http::Request<Body>;
pub type Response = lambda_http::http::Response<Body>;

/// Largest request body any route accepts (a custom integration with its logo fits).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What each function crate implements: answer one operation of its routes.
#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    async fn handle(
        &self,
        operation: Operation,
        params: PathParams,
        request: Request,
        app: &latchkey_core::App,
    ) -> Result<Response, ApiError>;
}

/// Routes `request` to `handler` if the route belongs to `function`; every error becomes
/// a problem response here, once. Used by both the Lambda mains and the local gateway.
/// Everything logged while answering carries the request's span: route, Lambda request
/// id, and the account once the API key names it.
pub async fn dispatch(
    function: Option<Function>,
    handler: &dyn Handler,
    request: Request,
    app: &latchkey_core::App,
) -> Response {
    use lambda_http::RequestExt;
    use tracing::Instrument;
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = tracing::field::Empty,
        request_id = tracing::field::Empty,
        account_id = tracing::field::Empty,
    );
    let deadline = request.lambda_context_ref().map(|context| {
        span.record("request_id", context.request_id.as_str());
        answer_by(context.deadline())
    });
    let base = app
        .derives_public_url()
        .then(|| serving_base(&request))
        .flatten();
    let routed = route(function, handler, request, app).instrument(span);
    let based = async move {
        match base {
            Some(base) => latchkey_core::serving_at(base, routed).await,
            None => routed.await,
        }
    };
    match deadline {
        Some(deadline) => latchkey_domain::deadline::within(deadline, based).await,
        None => based.await,
    }
}

/// Where an API Gateway request arrived: `https://{domainName}/`, with the stage as the
/// first path segment unless it is `$default`.
fn serving_base(request: &Request) -> Option<url::Url> {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let RequestContext::ApiGatewayV2(context) = request.request_context_ref()? else {
        return None;
    };
    let domain = context.domain_name.as_deref()?;
    let stage = match context.stage.as_deref() {
        None | Some("$default") => String::new(),
        Some(stage) => format!("{stage}/"),
    };
    url::Url::parse(&format!("https://{domain}/{stage}")).ok()
}

/// Time kept after every wait of an invocation to write what it produced (a rotated
/// refresh token, a flow's result) and answer, before the function's own timeout.
pub const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// The instant an invocation ending at `deadline` must have finished waiting by.
pub fn answer_by(deadline: std::time::SystemTime) -> std::time::Instant {
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    std::time::Instant::now() + left.saturating_sub(ANSWER_MARGIN)
}

async fn route(
    function: Option<Function>,
    handler: &dyn Handler,
    request: Request,
    app: &latchkey_core::App,
) -> Response {
    let path = request.uri().path().to_owned();
    let outcome = match routes::find(request.method(), &path) {
        Ok((route, _)) if function.is_some_and(|f| f != route.function) => {
            Err(ApiError::NotFound("route"))
        }
        Ok((route, params)) => {
            tracing::Span::current().record("route", route.path);
            if request.body().len() > MAX_BODY_BYTES {
                Err(ApiError::PayloadTooLarge)
            } else {
                handler.handle(route.operation, params, request, app).await
            }
        }
        Err(miss) => Err(miss),
    };
    outcome.unwrap_or_else(|e| e.into_response())
}
