//! One error enum for the HTTP layer, mapped once to `application/problem+json` (RFC 9457)
//! with a stable `code` (also the last segment of `type`) and, where one is at fault, the
//! `field`. Internal details are logged, never sent.

use lambda_http::http::StatusCode;
use serde_json::json;

use crate::Response;
use latchkey_domain::error::{Cause, Chain};
use latchkey_domain::{FieldError, KeyScope};
use latchkey_store::StoreError;
use latchkey_vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid API key is required: Authorization: Bearer <key>")]
    Unauthorized,
    #[error("this API key lacks the scope {} this operation needs", .0.as_str())]
    Forbidden(KeyScope),
    #[error("{0}")]
    LastFullKey(String),
    #[error(
        "the integration still has connections: delete it with ?cascade=true to disconnect them too"
    )]
    HasConnections,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("{detail}")]
    MalformedBody {
        field: Option<String>,
        detail: String,
    },
    #[error("{field}: {detail}")]
    BadQuery { field: &'static str, detail: String },
    #[error("{0} is already in use")]
    Duplicate(&'static str),
    #[error("the resource was changed concurrently; read it again and retry")]
    Stale,
    #[error(
        "the resource changed since the version If-Match names was read; nothing was written: read it again (its ETag) and retry"
    )]
    PreconditionFailed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("unsupported media type: send application/json")]
    UnsupportedMediaType,
    #[error(
        "the connection needs to be re-authorised by its user (send them an activation link with connection_id)"
    )]
    NeedsReauth,
    #[error("{0}")]
    ConnectionUnusable(String),
    #[error("the connection is pending: its user has not completed its activation link yet")]
    Pending,
    #[error("this connection's credentials cannot be renewed without its user")]
    NotRefreshable,
    #[error("the credentials could not be refreshed ({0}) and the current ones have expired")]
    RefreshFailed(String),
    #[error("another refresh of this connection is still running; retry shortly")]
    RefreshInProgress,
    #[error(
        "ran out of time before finishing; what was done is kept: send the request again to continue"
    )]
    Unfinished,
    #[error("a service Latchkey depends on did not answer in time; retry shortly")]
    Unavailable,
    /// `upstream_unreachable`, `upstream_timeout`, `upstream_response_too_large`.
    #[error("the third-party API call failed ({0})")]
    Upstream(&'static str),
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::LastFullKey(_) | ApiError::HasConnections => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedBody { .. } | ApiError::BadQuery { .. } => StatusCode::BAD_REQUEST,
            ApiError::Duplicate(_) | ApiError::Stale => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NeedsReauth
            | ApiError::ConnectionUnusable(_)
            | ApiError::Pending
            | ApiError::NotRefreshable => StatusCode::CONFLICT,
            ApiError::RefreshFailed(_) => StatusCode::BAD_GATEWAY,
            ApiError::RefreshInProgress | ApiError::Unfinished | ApiError::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Upstream("upstream_timeout") => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "insufficient_scope",
            ApiError::LastFullKey(_) => "last_full_key",
            ApiError::HasConnections => "has_connections",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Invalid(_) => "validation_failed",
            ApiError::MalformedBody { .. } => "malformed_body",
            ApiError::BadQuery { .. } => "invalid_query",
            ApiError::Duplicate(_) => "duplicate",
            ApiError::Stale => "concurrent_update",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::NeedsReauth => "needs_reauth",
            ApiError::ConnectionUnusable(_) => "connection_unusable",
            ApiError::Pending => "pending",
            ApiError::NotRefreshable => "not_refreshable",
            ApiError::RefreshFailed(_) => "refresh_failed",
            ApiError::RefreshInProgress => "refresh_in_progress",
            ApiError::Unfinished => "unfinished",
            ApiError::Unavailable => "unavailable",
            ApiError::Upstream(code) => code,
            ApiError::Internal(_) => "internal",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::Invalid(e) => Some(e.field.clone()),
            ApiError::MalformedBody { field, .. } => field.clone(),
            ApiError::BadQuery { field, .. } => Some((*field).to_owned()),
            ApiError::Duplicate(field) => Some((*field).to_owned()),
            ApiError::PreconditionFailed => Some("If-Match".to_owned()),
            _ => None,
        }
    }

    pub fn into_response(self) -> Response {
        if let ApiError::Internal(_) = &self {
            log_error(&self, "request failed");
        }
        let status = self.status();
        let mut body = json!({
            "type": format!("urn:latchkey:problem:{}", self.code()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "code": self.code(),
            "detail": self.to_string(),
        });
        if let Some(field) = self.field() {
            body["field"] = json!(field);
        }
        if let ApiError::Forbidden(scope) = &self {
            body["required_scope"] = json!(scope.as_str());
        }
        let mut response = Response::new(body.to_string().into());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            "content-type",
            "application/problem+json".parse().expect("static header"),
        );
        headers.insert("cache-control", "no-store".parse().expect("static header"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert("retry-after", "1".parse().expect("static header"));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert("www-authenticate", "Bearer".parse().expect("static header"));
        }
        response
    }
}

impl From<latchkey_core::accounts::KeyError> for ApiError {
    fn from(e: latchkey_core::accounts::KeyError) -> Self {
        use latchkey_core::accounts::KeyError as E;
        match e {
            E::Invalid(e) => e.into(),
            E::NotFound => ApiError::NotFound("API key"),
            E::LastFullKey => ApiError::LastFullKey(e.to_string()),
            E::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(field) => ApiError::Duplicate(field),
            StoreError::Stale | StoreError::ConditionFailed => ApiError::Stale,
            StoreError::BadCursor => ApiError::BadQuery {
                field: "cursor",
                detail: "is not a cursor this listing returned".into(),
            },
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::TimedOut => ApiError::Unavailable,
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<latchkey_core::ConnectionError> for ApiError {
    fn from(e: latchkey_core::ConnectionError) -> Self {
        use latchkey_core::ConnectionError as E;
        match e {
            E::NotFound => ApiError::NotFound("connection"),
            E::NeedsReauth => ApiError::NeedsReauth,
            E::Pending => ApiError::Pending,
            E::NotRefreshable => ApiError::NotRefreshable,
            E::Unusable(_) | E::Integration(_) => ApiError::ConnectionUnusable(e.to_string()),
            E::RefreshFailed(code) | E::Errored(code) => ApiError::RefreshFailed(code),
            E::Busy => ApiError::RefreshInProgress,
            E::OutOfTime => ApiError::Unfinished,
            E::Upstream(code) => ApiError::Upstream(code),
            E::Store(e) => e.into(),
            E::Vault(e) => e.into(),
            E::Internal(e) => ApiError::Internal(Box::new(e)),
        }
    }
}

/// Logs an error that ends a request (as a problem document or a page) with its whole
/// chain of causes: once, here, where it stops travelling.
pub fn log_error(error: &(dyn std::error::Error + 'static), what: &str) {
    tracing::error!(error = %Chain(error), "{what}");
}
