//! The popup's input: a query string, a JSON body, or a form whose `payload` field holds
//! the JSON, deserialized into the connect service's [`StartRequest`].

use latchkey_connect::flow::StartRequest;
use latchkey_web::{Request, query_params};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The query string as a JSON object of strings (last value of a name wins).
fn query_object(request: &Request) -> Map<String, Value> {
    query_params(request)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// Every field reads text leniently, so this cannot fail. One deserializer (`Value`) for
/// every source keeps one copy of the derived code in the binary.
fn start_request(object: Map<String, Value>) -> StartRequest {
    StartRequest::deserialize(Value::Object(object)).unwrap_or_default()
}

/// The start parameters of a query string.
pub fn from_query(request: &Request) -> StartRequest {
    start_request(query_object(request))
}

/// A JSON body, or a form body whose `payload` field holds the JSON; query parameters
/// fill what the body leaves out. A body that is not a JSON object counts as empty.
pub fn from_body(request: &Request) -> StartRequest {
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body: &[u8] = request.body().as_ref();
    let fields = if content_type.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "payload")
            .and_then(|(_, v)| serde_json::from_str::<Map<String, Value>>(&v).ok())
    } else {
        serde_json::from_slice::<Map<String, Value>>(body).ok()
    };
    let mut merged = query_object(request);
    merged.extend(fields.unwrap_or_default());
    start_request(merged)
}
