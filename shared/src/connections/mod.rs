//! Keeping connections alive and usable (DESIGN §5): refresh under a per-connection lease,
//! the scheduled refresh run, calls to the third-party API with the connection's
//! credentials, and disconnecting (revoke, then delete).

mod disconnect;
mod refresh;
mod schedule;
mod upstream;

pub use disconnect::disconnect;
pub use refresh::{Fresh, LEASE_SECONDS, Need, Renewal, ensure_fresh, load};
pub use schedule::{RunOptions, RunReport, run};
pub use upstream::{Outbound, access_token, send};

use crate::flow::FlowError;
use crate::store::StoreError;
use crate::vault::VaultError;

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("connection not found")]
    NotFound,
    #[error("the connection needs to be re-authorised by its user")]
    NeedsReauth,
    #[error("the connection is {0} and cannot be used")]
    Unusable(&'static str),
    /// The refresh failed and the stored token has expired; a stable code, no provider text.
    #[error("the credentials could not be refreshed ({0})")]
    RefreshFailed(String),
    #[error("another refresh of this connection is still running; retry shortly")]
    Busy,
    /// The third-party API did not answer; a stable code.
    #[error("the third-party API did not answer ({0})")]
    Upstream(&'static str),
    #[error("the integration cannot be used: {0}")]
    Integration(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<FlowError> for ConnectionError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Internal(detail) => ConnectionError::Store(StoreError::Backend(detail)),
            other => ConnectionError::Integration(other.code().to_owned()),
        }
    }
}
