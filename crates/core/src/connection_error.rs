//! Why a connection cannot be used right now: what the credentials, proxy and refresh
//! paths answer, mapped to problems once, in the web layer.

use latchkey_domain::FlowError;
use latchkey_store::StoreError;
use latchkey_vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("connection not found")]
    NotFound,
    #[error("the connection needs to be re-authorised by its user")]
    NeedsReauth,
    #[error("the connection is {0} and cannot be used")]
    Unusable(&'static str),
    #[error("the connection is pending: its user has not completed its activation link yet")]
    Pending,
    /// Asked to refresh credentials that only the user can renew (API key, basic, …).
    #[error("this connection's credentials cannot be renewed without its user")]
    NotRefreshable,
    /// The refresh failed and the stored token has expired; a stable code, no provider text.
    #[error("the credentials could not be refreshed ({0})")]
    RefreshFailed(String),
    /// The refresh failed for good: the connection just went to `error`.
    #[error("the credentials cannot be refreshed any more ({0}): the connection is in error")]
    Errored(String),
    #[error("another refresh of this connection is still running; retry shortly")]
    Busy,
    /// The invocation's deadline came before the work was done; what was done is kept.
    #[error(
        "ran out of time before finishing; what was done is kept: send the request again to continue"
    )]
    OutOfTime,
    /// The third-party API did not answer; a stable code.
    #[error("the third-party API did not answer ({0})")]
    Upstream(&'static str),
    #[error("the integration cannot be used: {0}")]
    Integration(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A failure inside Latchkey while using the integration (not the provider's answer).
    #[error("internal error while using the integration")]
    Internal(#[source] FlowError),
}

impl From<FlowError> for ConnectionError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Internal(_) => ConnectionError::Internal(e),
            other => ConnectionError::Integration(other.code().to_owned()),
        }
    }
}
