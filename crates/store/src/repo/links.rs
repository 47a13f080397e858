//! Activation links and connection flows: short-lived (expiring on read) and single-use.

use super::{Store, Versioned, encode};
use crate::{Record, StoreResult, keys};
use latchkey_domain::{Activation, ConnectionFlow};

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
