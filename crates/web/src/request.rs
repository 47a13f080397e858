use std::collections::HashMap;

use serde::de::DeserializeOwned;

use crate::{ApiError, Request};
use latchkey_store::{Cursor, StoreError};

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
/// answered); otherwise the write must not happen (412). Weak tags never match. Checked
/// before the body is read, as preconditions are.
pub fn check_if_match(request: &Request, version: u64) -> Result<IfMatch, ApiError> {
    let mut lines = request.headers().get_all("if-match").iter().peekable();
    if lines.peek().is_none() {
        return Ok(IfMatch(false));
    }
    let current = crate::response::etag(version);
    // Repeated header lines are one list (RFC 9110 §5.3).
    let matches = lines.any(|line| {
        line.to_str().is_ok_and(|listed| {
            listed
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.as_bytes() == current.as_bytes())
        })
    });
    if matches {
        Ok(IfMatch(true))
    } else {
        Err(ApiError::PreconditionFailed)
    }
}

/// Whether a write was conditional on `If-Match`.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(bool);

impl IfMatch {
    /// The answer to a write at the version read that lost to another write meanwhile: for
    /// a conditional request the version it named is gone (412), else 409.
    pub fn lost(self, e: StoreError) -> ApiError {
        match e {
            StoreError::Stale if self.0 => ApiError::PreconditionFailed,
            e => e.into(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_if_match(lines: &[&str]) -> Request {
        let mut request = Request::default();
        for line in lines {
            request
                .headers_mut()
                .append("if-match", line.parse().unwrap());
        }
        request
    }

    #[test]
    fn if_match_compares_strong_tags_over_every_line() {
        let passes = |lines: &[&str]| check_if_match(&with_if_match(lines), 7).is_ok();
        assert!(passes(&[]), "no precondition");
        assert!(passes(&["\"7\""]));
        assert!(passes(&["*"]));
        assert!(passes(&["\"3\", \"7\""]));
        assert!(passes(&["\"3\"", "\"7\""]), "repeated lines are one list");
        assert!(!passes(&["\"3\""]));
        assert!(!passes(&["W/\"7\""]), "a weak tag never matches");
        assert!(!passes(&["7"]), "an entity tag is quoted");
    }

    #[test]
    fn a_conditional_write_that_loses_the_race_is_a_failed_precondition() {
        let conditional = check_if_match(&with_if_match(&["\"7\""]), 7).unwrap();
        let plain = check_if_match(&with_if_match(&[]), 7).unwrap();
        assert!(matches!(
            conditional.lost(StoreError::Stale),
            ApiError::PreconditionFailed
        ));
        assert!(matches!(plain.lost(StoreError::Stale), ApiError::Stale));
    }
}
