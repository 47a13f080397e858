//! A vendor's signed-in console session: opened with a full-scope API key, held by the
//! browser as a random token (stored only as its SHA-256), ended by sign-out, by its age,
//! or by the key that opened it being revoked.

use serde::{Deserialize, Serialize};

use crate::AccountId;
use crate::token::token_hash;

/// How long a console session lasts from sign-in (a working day), whatever its use.
pub const CONSOLE_SESSION_TTL_SECONDS: i64 = 8 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleSession {
    pub token_hash: String,
    pub account_id: AccountId,
    /// The SHA-256 of the API key it was opened with: revoking that key ends the session.
    pub key_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl ConsoleSession {
    pub fn new(token: &str, account_id: AccountId, key_hash: String, now: i64) -> Self {
        Self {
            token_hash: token_hash(token),
            account_id,
            key_hash,
            created_at: now,
            expires_at: now + CONSOLE_SESSION_TTL_SECONDS,
        }
    }
}

/// The form token that proves a console POST came from one of the session's own pages:
/// derived from the session token (which only the browser's `HttpOnly` cookie and this
/// server see), so it needs no storage and a page of another origin cannot know it.
pub fn csrf_token(session_token: &str) -> String {
    token_hash(&format!("latchkey-console-csrf:{session_token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_keeps_only_hashes_and_expires_after_its_ttl() {
        let s = ConsoleSession::new("lks_secret", AccountId::from("acc_1"), "h".into(), 100);
        assert_ne!(s.token_hash, "lks_secret");
        assert_eq!(s.token_hash, token_hash("lks_secret"));
        assert_eq!(s.expires_at, 100 + CONSOLE_SESSION_TTL_SECONDS);
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_ne!(csrf_token("a"), token_hash("a"));
    }
}
