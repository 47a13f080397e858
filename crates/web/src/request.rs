use std::collections::HashMap;

use serde::de::DeserializeOwned;

use crate::{ApiError, Request};
use latchkey_store::Cursor;

/// The query string as a map (last value wins). Parsed from the URI, which is the same
/// under API Gateway and the local gateway.
pub fn query_params(request: &Request) -> HashMap<String, String> {
    request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// An `application/x-www-form-urlencoded` body as a map (last value of a name wins).
pub fn form_body(request: &Request) -> std::collections::BTreeMap<String, String> {
    url::form_urlencoded::parse(request.body().as_ref())
        .into_owned()
        .collect()
}

/// `If-Match` (RFC 9110 §13.1.1) against the version just read: passes when the header
/// is absent, `*`, or lists the version's strong entity tag (`"7"`, the `ETag` a read
/// answered); otherwise the write must not happen (412). Weak tags never match.
pub fn check_if_match(request: &Request, version: u64) -> Result<(), ApiError> {
    let Some(header) = request.headers().get("if-match") else {
        return Ok(());
    };
    let current = crate::response::etag(version);
    let matches = header.to_str().is_ok_and(|listed| {
        listed
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag == current)
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed)
    }
}

/// A JSON request body, with errors that name the JSON path of the offending field.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != "application/json" && !media.ends_with("+json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes: &[u8] = request.body().as_ref();
    let de =
        &mut serde_json::Deserializer::from_slice(if bytes.is_empty() { b"{}" } else { bytes });
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // serde names unknown fields only in its message; lift it into `field`.
        let unknown = inner
            .to_string()
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        // The path already ends at an unknown field; at the top level it is ".".
        let field = match path.as_str() {
            "." => unknown,
            p => Some(p.to_owned()),
        };
        let detail = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "the body is not valid JSON".to_owned()
            }
            _ => strip_position(&inner.to_string()),
        };
        ApiError::MalformedBody { field, detail }
    })
}

/// serde_json appends " at line 1 column 42", which means nothing to an API client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A `true`/`false` query flag, `false` when absent.
pub fn flag(query: &HashMap<String, String>, field: &'static str) -> Result<bool, ApiError> {
    match query.get(field).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::BadQuery {
            field,
            detail: "must be true or false".into(),
        }),
    }
}

/// `limit` (1–100, default 50) and `cursor` of a list request.
#[derive(Debug, Clone)]
pub struct PageParams {
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

impl PageParams {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 100;

    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let limit = match query.get("limit") {
            None => Self::DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=Self::MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::BadQuery {
                    field: "limit",
                    detail: format!("must be a whole number from 1 to {}", Self::MAX_LIMIT),
                })?,
        };
        let cursor = query
            .get("cursor")
            .filter(|c| !c.is_empty())
            .map(|c| Cursor::parse(c))
            .transpose()?;
        Ok(Self { limit, cursor })
    }
}
