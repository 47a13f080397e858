//! Console sessions: created at sign-in, read (expiry-checked) on every console request,
//! deleted at sign-out.

use super::{Store, Versioned, encode};
use crate::{Record, StoreResult, keys};
use latchkey_domain::ConsoleSession;

pub trait Sessions {
    fn create_session(
        &self,
        session: &ConsoleSession,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The unexpired session for this token hash.
    fn session(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<ConsoleSession>>> + Send;
    /// Ends the session (nothing happens when it is gone already).
    fn end_session(&self, token_hash: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

impl Sessions for Store {
    async fn create_session(&self, session: &ConsoleSession) -> StoreResult<()> {
        let record = Record::new(
            keys::console_session(&session.token_hash),
            "session",
            encode(session),
        )
        .expires_at(session.expires_at);
        self.create(vec![record], "token").await
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<ConsoleSession>> {
        let found: Option<Versioned<ConsoleSession>> = self
            .get(keys::console_session(token_hash), "session")
            .await?;
        Ok(found.map(|v| v.value))
    }

    async fn end_session(&self, token_hash: &str) -> StoreResult<()> {
        let _: Option<ConsoleSession> = self
            .take(keys::console_session(token_hash), "session")
            .await?;
        Ok(())
    }
}
