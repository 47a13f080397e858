//! Keeping connections alive and usable (docs/ARCHITECTURE.md §5): refresh under a per-connection lease,
//! the scheduled refresh run, calls to the third-party API with the connection's
//! credentials, and disconnecting (revoke, then delete).

mod disconnect;
mod refresh;
mod schedule;
mod upstream;

pub use disconnect::{Owner, disconnect, disconnect_all};
pub use refresh::{Fresh, LEASE_SECONDS, Need, Renewal, ensure_fresh, load};
pub use schedule::{RunError, RunOptions, RunReport, run};
pub use upstream::{Caller, Outbound, access_token, send};
