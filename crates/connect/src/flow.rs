//! The connection flow (docs/ARCHITECTURE.md §4): from a start (activation link or popup
//! parameters) through an auth mode to a stored connection, and back to the vendor with
//! the result. Shared by the `popup` and `callback` functions.

mod begin;
mod complete;
mod finish;
pub mod grants;
mod install;
pub mod redirect;
mod start;
pub mod workspace_token;

pub use begin::{FlowCookie, Redirect, Step, connect};
pub use complete::{Completion, Issued, complete};
pub use finish::{Ended, Finished, Protocol, Refusal, finish};
pub use install::{Installed, install};
pub use redirect::{Ending, Next, Outcome, RedirectPolicy};
pub use start::{Grant, Start, StartRequest, resolve};

use latchkey_core::App;
use latchkey_domain::{AuthOption, ClientSecret, Integration};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_domain::{FlowError, Secret};

/// The account's OAuth app for an auth option: client id and, from the vault, its secret.
pub async fn app_client(
    app: &App,
    integration: &Integration,
    option: &AuthOption,
) -> Result<Option<(String, Option<Secret>)>, FlowError> {
    let Some(client) = option.method.client() else {
        return Ok(None);
    };
    let secret = match &client.client_secret {
        Some(ClientSecret::Stored(reference)) => {
            let scope = SecretScope::new(
                &integration.account_id,
                format!("{}.{}", integration.id, option.key),
            );
            match app.vault.get(&scope, reference).await? {
                Credentials::ClientSecret { client_secret } => Some(client_secret),
                _ => {
                    return Err(FlowError::internal(
                        "the OAuth app secret has the wrong shape",
                    ));
                }
            }
        }
        Some(ClientSecret::Plain(_)) => {
            return Err(FlowError::internal("an unsealed client secret was stored"));
        }
        None => None,
    };
    Ok(Some((client.client_id.clone(), secret)))
}

/// Path of the OAuth 2.0 callback under the public URL.
pub const OAUTH_CALLBACK_PATH: &str = "oauth/callback";

/// Path of the OAuth 1.0a callback under the public URL.
pub const OAUTH1_CALLBACK_PATH: &str = "oauth1/callback";

/// The flow cookie's name for a given `state` hash: one cookie per flow, so two popups in
/// one browser do not overwrite each other's binding.
pub fn flow_cookie_name(state_hash: &str) -> String {
    format!("lk_flow_{}", &state_hash[..16.min(state_hash.len())])
}
