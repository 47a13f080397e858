use crate::FieldError;

/// Why a connection attempt failed. `code()` is what the vendor's redirect receives as
/// `error`; nothing here carries provider text or exception messages to the browser.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the link is invalid, expired or already used")]
    InvalidLink,
    #[error("the authorization state is invalid, expired or already used")]
    InvalidState,
    #[error("the authorization response came from an unexpected issuer")]
    IssuerMismatch,
    #[error("the provider refused access ({0})")]
    ProviderDenied(String),
    #[error("the token endpoint failed: {0}")]
    TokenExchange(&'static str),
    #[error("{0}")]
    InvalidParameter(FieldError),
    #[error("the integration is not available")]
    IntegrationUnavailable,
    #[error("internal error")]
    Internal(#[source] crate::error::Cause),
}

impl FlowError {
    /// A failure inside Latchkey, with its cause.
    pub fn internal(cause: impl Into<crate::error::Cause>) -> Self {
        FlowError::Internal(cause.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            FlowError::InvalidLink => "invalid_link",
            FlowError::InvalidState => "invalid_state",
            FlowError::IssuerMismatch => "issuer_mismatch",
            FlowError::ProviderDenied(code) if code == "access_denied" => "access_denied",
            FlowError::ProviderDenied(_) => "provider_error",
            FlowError::TokenExchange(_) => "token_exchange_failed",
            FlowError::InvalidParameter(_) => "invalid_parameters",
            FlowError::IntegrationUnavailable => "integration_unavailable",
            FlowError::Internal(_) => "internal_error",
        }
    }

    /// Structured, safe detail for `errorData`.
    pub fn data(&self) -> serde_json::Value {
        match self {
            FlowError::ProviderDenied(code) => serde_json::json!({ "provider_error": code }),
            FlowError::TokenExchange(reason) => serde_json::json!({ "reason": reason }),
            FlowError::InvalidParameter(e) => serde_json::json!({ "field": e.field }),
            _ => serde_json::json!({}),
        }
    }

    /// A provider's `error` value, kept only if it looks like an RFC 6749 error code.
    pub fn provider(code: &str) -> Self {
        let safe = code.len() <= 64
            && !code.is_empty()
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        FlowError::ProviderDenied(if safe {
            code.to_owned()
        } else {
            "invalid_error_code".into()
        })
    }
}

impl From<FieldError> for FlowError {
    fn from(e: FieldError) -> Self {
        FlowError::InvalidParameter(e)
    }
}
