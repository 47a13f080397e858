//! Latchkey's domain: the resources (docs/ARCHITECTURE.md §3) and their validation rules,
//! ids and tokens, secrets and the credentials the vault keeps, the clock, and why a
//! connection attempt fails. Pure: no I/O, no AWS, HTTP or page types; the compiler holds
//! this line, as none of those crates is a dependency.

pub mod auth;
pub mod backoff;
pub mod clock;
mod credentials;
pub mod deadline;
pub mod error;
mod flow_error;
mod ids;
mod secret;
pub mod token;

mod account;
mod activation;
mod connection;
mod console;
mod consumer;
mod flow;
mod integration;
mod reminder;
mod validate;
mod webhook;

pub use account::{
    Account, AccountPatch, ApiKey, Branding, KEY_USE_RECORD_SECONDS, KeyScope, NewApiKey,
    SigningSecret,
};
pub use activation::{ACTIVATION_TTL_SECONDS, Activation, NewActivation};
pub use auth::{
    AuthMethod, AuthOption, Capture, CaptureSource, ClientAuth, ClientSecret, CredentialField,
    HttpVerb, OAuthClient,
};
pub use connection::{
    Connection, ConnectionPatch, ConnectionStatus, GIVE_UP_AFTER_SECONDS, ImportedTokens,
    InstallConnection, MAX_TOKEN_LIFETIME_SECONDS, REFRESH_MARGIN_SECONDS, RefreshFailure,
    RefreshState, SHORT_LIVED_SECONDS, expiry_after,
};
pub use console::{CONSOLE_SESSION_TTL_SECONDS, ConsoleSession, csrf_token};
pub use consumer::{Consumer, ConsumerPatch, NewConsumer};
pub use flow::{CONNECTION_FLOW_TTL_SECONDS, ConnectionFlow};
pub use integration::{
    ApiDefinition, Category, Integration, IntegrationInput, IntegrationStatus, Logo, ParameterSpec,
    TokenPlacement,
};
pub use reminder::{
    REMINDER_LINK_TTL_SECONDS, REMINDER_MAX_ATTEMPTS, Reminder, ReminderLink, ReminderSettings,
};
pub use validate::{
    FieldError, METADATA_MAX_BYTES, Metadata, is_internal_host, is_internal_ip, optional_text,
    placeholders, validate_egress_url, validate_origin, validate_public_url,
};
pub use webhook::{DeliveryState, EventType, WEBHOOK_MAX_ATTEMPTS, WebhookDelivery};

pub use clock::{Clock, ManualClock, SystemClock};
pub use credentials::{Credentials, SecretRef, SecretScope};
pub use flow_error::FlowError;
pub use ids::{AccountId, ConnectionId, ConsumerId, IntegrationId};
pub use secret::Secret;
