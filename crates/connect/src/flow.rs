//! The connection flow (docs/ARCHITECTURE.md §4): from a start (activation link or popup
//! parameters) through an auth mode to a stored connection, and back to the vendor with
//! the result. Shared by the `popup` and `callback` functions.

mod begin;
mod complete;
mod finish;
mod install;
mod marketplace;
pub mod redirect;
mod sealed;
mod start;
pub mod workspace_token;

pub use begin::{FlowCookie, Redirect, Step, connect};
pub use complete::{Completion, Issued, complete};
pub use finish::{Ended, Finished, Refusal, finish};
pub use install::{Installed, install};
use latchkey_core::App;
pub use marketplace::{Conclusion, Offer, conclude, offers};
pub use redirect::{Ending, Links, Next, Outcome, RedirectPolicy};

pub use start::{Grant, Start, StartRequest, resolve};

/// The flow cookie's name for a given `state` hash: one cookie per flow, so two popups in
/// one browser do not overwrite each other's binding. On https it carries the `__Host-`
/// prefix: the browser then takes it only from this host (Secure, Path=/, no Domain), so
/// a sibling subdomain cannot plant a binding. Loopback http (local use) cannot.
pub fn flow_cookie_name(app: &App, state_hash: &str) -> String {
    let prefix = if app.public_url().scheme() == "https" {
        "__Host-"
    } else {
        ""
    };
    format!(
        "{prefix}lk_flow_{}",
        &state_hash[..16.min(state_hash.len())]
    )
}
