//! Consumers created on first use (Cyclr: "If said user does not exist, they will be
//! created by this call"), by a workspace token or a link by reference.

use latchkey_domain::{AccountId, Consumer, ConsumerId, FieldError, NewConsumer};
use latchkey_store::{Consumers, StoreError};

use crate::App;

/// Why a consumer could not be created on first use.
#[derive(Debug, thiserror::Error)]
pub enum FirstUseError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The consumer `reference` names, created from `input` (name defaults to the reference).
/// Of two first uses at once, the reference's uniqueness lets one create it and the other
/// read it.
pub async fn first_use(
    app: &App,
    account_id: &AccountId,
    reference: &str,
    mut input: NewConsumer,
) -> Result<Consumer, FirstUseError> {
    if input.name.trim().is_empty() {
        input.name = reference.to_owned();
    }
    input.internal_reference = Some(reference.to_owned());
    let consumer = input
        .into_consumer(ConsumerId::generate(), account_id.clone(), app.now())
        .map_err(FirstUseError::Invalid)?;
    match app.store.create_consumer(&consumer).await {
        Ok(()) => {
            tracing::info!(consumer_id = %consumer.id, "consumer created on first use");
            Ok(consumer)
        }
        Err(StoreError::Duplicate(_)) => app
            .store
            .consumer_by_reference(account_id, reference)
            .await?
            .map(|c| c.value)
            .ok_or(FirstUseError::Store(StoreError::Stale)),
        Err(e) => Err(e.into()),
    }
}
