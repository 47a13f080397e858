//! Latchkey's common crate: the domain (accounts, integrations, consumers, activations,
//! connection flows, connections), the stores that persist it (DynamoDB and embedded
//! SQLite behind one [`store::Table`] trait), and the credential [`vault::Vault`].
//!
//! Domain code never sees `aws_sdk_*` types: only `store::dynamo` and the vault's
//! Secrets Manager backend do.

pub mod accounts;
pub mod app;
pub mod backoff;
pub mod catalog;
pub mod clock;
pub mod connections;
pub mod domain;
pub mod flow;
pub mod http;
pub mod lambda;
pub mod pages;
pub mod secret;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub mod vault;
pub mod webhooks;

pub use clock::{Clock, ManualClock, SystemClock};
pub use secret::Secret;
