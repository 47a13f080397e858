//! The connection flow (DESIGN §4): from a start (activation link or popup parameters)
//! through an auth mode to a stored connection, and back to the vendor with the result.
//! Shared by the `popup` and `callback` functions.

mod complete;
mod error;
pub mod oauth2;
mod pkce;
pub mod redirect;
pub mod template;

pub use complete::{Completion, complete};
pub use error::FlowError;
pub use pkce::Pkce;
pub use redirect::{Outcome, RedirectPolicy};

/// Path of the OAuth 2.0 callback under the public URL.
pub const OAUTH_CALLBACK_PATH: &str = "oauth/callback";

/// The flow cookie's name for a given `state` hash: one cookie per flow, so two popups in
/// one browser do not overwrite each other's binding.
pub fn flow_cookie_name(state_hash: &str) -> String {
    format!("lk_flow_{}", &state_hash[..16.min(state_hash.len())])
}
