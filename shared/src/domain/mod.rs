//! The resources of DESIGN §3 and their validation rules. Pure: no I/O, no AWS types.

mod account;
mod activation;
mod connection;
mod consumer;
mod flow;
mod integration;
mod validate;
mod webhook;

pub use account::{Account, AccountPatch, ApiKey, SigningSecret};
pub use activation::{ACTIVATION_TTL_SECONDS, Activation, ActivationLink, NewActivation};
pub use connection::{
    Connection, ConnectionStatus, ImportedTokens, InstallConnection, REFRESH_MARGIN_SECONDS,
    RefreshState, SHORT_LIVED_SECONDS,
};
pub use consumer::{Consumer, ConsumerPatch, NewConsumer};
pub use flow::{CONNECTION_FLOW_TTL_SECONDS, ConnectionFlow};
pub use integration::{
    ApiDefinition, AuthMethod, AuthOption, Capture, CaptureSource, ClientAuth, ClientSecret,
    HttpVerb, Integration, IntegrationInput, IntegrationStatus, Logo, OAuthClient, ParameterSpec,
    TokenPlacement,
};
pub use validate::{FieldError, placeholders, validate_origin, validate_public_url};
pub use webhook::{EventType, WEBHOOK_MAX_ATTEMPTS, WebhookDelivery};
