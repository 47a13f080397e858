use lambda_http::http::{HeaderValue, StatusCode};
use serde::Serialize;

use crate::Response;

/// A JSON response, serialized straight from its view (`latchkey_api`): timestamps are
/// already RFC 3339 there, so the whole API speaks one time format.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_string(value).expect("responses serialize");
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        "application/json".parse().expect("static header"),
    );
    headers.insert("cache-control", "no-store".parse().expect("static header"));
    response
}

/// The entity tag of a stored version: what `ETag` answers and `If-Match` names.
pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a quoted number is a header value")
}

/// `response` with the `ETag` of the version it shows, for a later `If-Match`.
pub fn with_etag(mut response: Response, version: u64) -> Response {
    response.headers_mut().insert("etag", etag(version));
    response
}

pub fn no_content() -> Response {
    let mut response = Response::new(lambda_http::Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
