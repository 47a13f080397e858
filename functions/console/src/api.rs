//! The console acts through the API: each action is the API's own request, answered in
//! this process by the API's handler for the signed-in account. Validation, cascades,
//! revocation and webhooks are therefore exactly the API's, and so are its problems.

use latchkey_core::App;
use latchkey_domain::AccountId;
use latchkey_web::{Body, Function, Handler, Method, Request, SignedIn, dispatch, etag, routes};
use serde_json::Value;

/// A problem the API answered, for the form: the field it names and its detail.
#[derive(Debug, Clone)]
pub struct Problem {
    pub field: Option<String>,
    pub detail: String,
}

impl Problem {
    /// Refused for `If-Match`: the stored version is newer than the one the page showed.
    pub fn is_stale(&self) -> bool {
        self.field.as_deref() == Some("If-Match")
    }
}

fn handler_for(function: Function) -> Option<&'static dyn Handler> {
    Some(match function {
        Function::Catalog => &latchkey_catalog::Catalog,
        Function::Consumers => &latchkey_consumers::Consumers,
        Function::Links => &latchkey_links::Links,
        Function::Connections => &latchkey_connections::Connections,
        Function::Popup | Function::Callback | Function::Console => return None,
    })
}

/// `method path` with `body` (JSON) as `account`, only over the stored version
/// `if_match` when given: the answer's JSON (`null` when empty), or its problem.
pub async fn call(
    app: &App,
    account: &AccountId,
    method: Method,
    path: &str,
    body: Option<Value>,
    if_match: Option<u64>,
) -> Result<Value, Problem> {
    let mut request = Request::new(body.map_or(Body::Empty, |b| Body::Text(b.to_string())));
    *request.method_mut() = method.clone();
    *request.uri_mut() = path.parse().expect("console paths are valid URIs");
    let headers = request.headers_mut();
    headers.insert(
        "content-type",
        "application/json".parse().expect("static header"),
    );
    if let Some(version) = if_match {
        headers.insert("if-match", etag(version));
    }
    request.extensions_mut().insert(SignedIn(account.clone()));
    let route = routes::find(&method, path)
        .ok()
        .and_then(|(route, _)| Some((route.function, handler_for(route.function)?)))
        .expect("the console calls API routes only");
    let response = dispatch(Some(route.0), route.1, request, app).await;
    let status = response.status().as_u16();
    let json: Value = match response.body() {
        Body::Empty => Value::Null,
        body => serde_json::from_slice(body.as_ref()).unwrap_or(Value::Null),
    };
    if (200..300).contains(&status) {
        return Ok(json);
    }
    let text = |name: &str| json[name].as_str().map(str::to_owned);
    Err(Problem {
        field: text("field"),
        detail: text("detail").unwrap_or_else(|| "The action failed.".to_owned()),
    })
}

/// An activation link the API answered: its URL and expiry (epoch seconds).
pub fn link(answer: &Value) -> (String, i64) {
    let url = answer["url"].as_str().unwrap_or_default().to_owned();
    let expires_at = answer["expires_at"]
        .as_str()
        .and_then(latchkey_api::Timestamp::parse)
        .map_or(0, |t| t.0);
    (url, expires_at)
}
