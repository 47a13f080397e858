//! Latchkey's application core: the [`App`] context every handler borrows (store, vault,
//! public URL, outbound HTTP client), accounts and API keys, the integration catalog, and
//! signed webhooks. No protocol client (`latchkey-providers`) and no HTTP server or page
//! types: the catalog function links only this.

pub mod accounts;
pub mod activation;
mod app;
pub mod catalog;
mod connection_error;
pub mod consumers;
pub mod rekey;
pub mod status;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhooks;

pub use app::{App, FirstAttempt, PublicAddresses, serving_at};
pub use connection_error::ConnectionError;
