use lambda_http::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::Response;
use crate::clock::rfc3339;

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

/// Rewrites `*_at` integer fields to RFC 3339 strings, recursively.
pub fn rfc3339_timestamps(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::Number(n) if key.ends_with("_at") => {
                        if let Some(secs) = n.as_i64() {
                            *v = Value::String(rfc3339(secs));
                        }
                    }
                    other => rfc3339_timestamps(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rfc3339_timestamps),
        _ => {}
    }
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
