use lambda_http::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::Response;
use latchkey_domain::clock::rfc3339_timestamps;

/// A JSON response. Every `*_at` integer (epoch seconds inside the domain) is rendered as
/// an RFC 3339 UTC timestamp, so the whole API speaks one time format.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    json_value(
        status,
        serde_json::to_value(value).expect("responses serialize"),
    )
}

/// [`json`] for a body already built as a `Value` (the views): taken as it is, where
/// `json(&value)` would copy it first.
pub fn json_value(status: StatusCode, mut body: Value) -> Response {
    rfc3339_timestamps(&mut body);
    let mut response = Response::new(body.to_string().into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        "application/json".parse().expect("static header"),
    );
    headers.insert("cache-control", "no-store".parse().expect("static header"));
    response
}

pub fn no_content() -> Response {
    let mut response = Response::new(lambda_http::Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// One page of a list endpoint: `{"data": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Listed<T: Serialize> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl From<Listed<Value>> for Value {
    fn from(listed: Listed<Value>) -> Self {
        let mut map = serde_json::Map::with_capacity(2);
        map.insert("data".into(), Value::Array(listed.data));
        map.insert(
            "next_cursor".into(),
            listed.next_cursor.map_or(Value::Null, Value::String),
        );
        Value::Object(map)
    }
}
