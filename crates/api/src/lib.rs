//! Latchkey's API contract: the view of each resource as responses and webhooks carry it,
//! built from the domain type with `From`, and the one source of the OpenAPI schemas, so
//! the document cannot drift from what is sent. Timestamps are epoch seconds inside
//! Latchkey and RFC 3339 UTC here ([`Timestamp`]). No runtime dependency: the contract
//! links into every function and the CLI alike.

mod account;
mod connection;
mod consumer;
mod credentials;
mod integration;
mod timestamp;

use serde::Serialize;

pub use account::{AccountView, ApiKeyView, CreatedApiKeyView, WebhookDeliveryView};
pub use connection::{ConnectionView, InstalledView, RefreshView, WebhookEvent};
pub use consumer::ConsumerView;
pub use credentials::CredentialsView;
pub use integration::IntegrationView;
pub use timestamp::Timestamp;

/// One page of a list endpoint: `{"data": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Listed<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The answer to `POST /v1/consumers/{id}/connections`: the link to send the consumer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "ActivationLink")]
pub struct ActivationLinkView {
    pub url: String,
    pub expires_at: Timestamp,
}
