//! Activation links and connection flows: short-lived (expiring on read) and single-use.

use super::{Store, Versioned, encode};
use crate::{Record, StoreError, StoreResult, keys};
use latchkey_domain::{AccountId, Activation, ConnectionFlow};

pub trait Links {
    fn create_activation(
        &self,
        activation: &Activation,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The unexpired activation for this token hash, left in place.
    fn activation(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<Activation>>> + Send;
    /// Records a workspace token's `jti` as used until `expires_at`; `false` when it was
    /// used already (of concurrent callers exactly one gets `true`).
    fn use_jti(
        &self,
        account_id: &AccountId,
        jti_hash: &str,
        expires_at: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Consumes the activation: of concurrent callers exactly one gets it.
    fn consume_activation(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<Activation>>> + Send;
    fn create_flow(&self, flow: &ConnectionFlow) -> impl Future<Output = StoreResult<()>> + Send;
    /// The unexpired flow for this `state` hash, left in place (checked before consuming).
    fn flow(
        &self,
        state_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<ConnectionFlow>>> + Send;
    /// Consumes the flow for this `state` hash: a replayed callback finds nothing.
    fn consume_flow(
        &self,
        state_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<ConnectionFlow>>> + Send;
}

impl Links for Store {
    async fn create_activation(&self, activation: &Activation) -> StoreResult<()> {
        let record = Record::new(
            keys::activation(&activation.token_hash),
            "activation",
            encode(activation),
        )
        .expires_at(activation.expires_at);
        self.create(vec![record], "token").await
    }

    async fn activation(&self, token_hash: &str) -> StoreResult<Option<Activation>> {
        let found: Option<Versioned<Activation>> =
            self.get(keys::activation(token_hash), "activation").await?;
        Ok(found.map(|v| v.value))
    }

    async fn use_jti(
        &self,
        account_id: &AccountId,
        jti_hash: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let record = Record::new(keys::used_jti(account_id, jti_hash), "jti", "{}".to_owned())
            .expires_at(expires_at);
        match self.create(vec![record], "jti").await {
            Ok(()) => Ok(true),
            Err(StoreError::Duplicate(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn consume_activation(&self, token_hash: &str) -> StoreResult<Option<Activation>> {
        self.take(keys::activation(token_hash), "activation").await
    }

    async fn create_flow(&self, flow: &ConnectionFlow) -> StoreResult<()> {
        let record = Record::new(keys::flow(&flow.state_hash), "flow", encode(flow))
            .expires_at(flow.expires_at);
        self.create(vec![record], "state").await
    }

    async fn flow(&self, state_hash: &str) -> StoreResult<Option<ConnectionFlow>> {
        let found: Option<Versioned<ConnectionFlow>> =
            self.get(keys::flow(state_hash), "flow").await?;
        Ok(found.map(|v| v.value))
    }

    async fn consume_flow(&self, state_hash: &str) -> StoreResult<Option<ConnectionFlow>> {
        self.take(keys::flow(state_hash), "flow").await
    }
}
