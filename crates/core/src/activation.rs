//! Activation links: a random token (only its hash is stored), valid 30 minutes, that opens
//! the popup for one consumer.

use latchkey_store::Links;

use crate::App;
use latchkey_domain::token::{new_token, token_hash};
use latchkey_domain::{AccountId, Activation, ConsumerId, FlowError, NewActivation, Secret};

/// Stores the activation `input` describes; answers the link's URL and expiry.
pub async fn issue(
    app: &App,
    account_id: &AccountId,
    consumer_id: &ConsumerId,
    input: NewActivation,
) -> Result<(url::Url, i64), FlowError> {
    let (token, activation) = mint(app, account_id, consumer_id, input, false).await?;
    let url = app
        .public_url()
        .join(&format!("connect/{}", token.expose()))
        .map_err(FlowError::internal)?;
    Ok((url, activation.expires_at))
}

/// Stores an activation and answers its token; `workspace` marks one made from a
/// workspace token (the popup that opened it is the vendor's own).
pub async fn mint(
    app: &App,
    account_id: &AccountId,
    consumer_id: &ConsumerId,
    input: NewActivation,
    workspace: bool,
) -> Result<(Secret, Activation), FlowError> {
    let token = new_token("lka");
    let mut activation = input.into_activation(
        token_hash(token.expose()),
        account_id.clone(),
        consumer_id.clone(),
        app.now(),
    )?;
    activation.workspace = workspace;
    app.store.create_activation(&activation).await?;
    Ok((token, activation))
}
