use serde::{Deserialize, Serialize};

use crate::{AccountId, ConnectionId, ConsumerId, IntegrationId};

use crate::validate::{Checked, FieldError, optional_text, required_text};

/// Activation links are valid for 30 minutes, checked on every read.
pub const ACTIVATION_TTL_SECONDS: i64 = 30 * 60;

/// What an activation link's token grants: one consumer of one account may connect
/// (a given integration, or any from the marketplace). Stored under the token's hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activation {
    pub token_hash: String,
    pub account_id: AccountId,
    pub consumer_id: ConsumerId,
    /// Absent: the link opens the marketplace.
    pub integration_id: Option<IntegrationId>,
    /// Display name of the connection to create.
    pub name: String,
    pub redirect: bool,
    /// Set when the link re-authorises an existing connection.
    pub connection_id: Option<ConnectionId>,
    /// Made from a workspace token: the popup is the vendor's own, so it always ends at
    /// the vendor's `redirectUri` (never the marketplace's own ending).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub workspace: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

/// `POST /v1/consumers/{id}/connections` (or `…/by-reference/{internal_reference}/…`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivation {
    #[serde(default)]
    pub name: String,
    pub integration_id: Option<IntegrationId>,
    #[serde(default)]
    pub redirect: bool,
    pub connection_id: Option<ConnectionId>,
    /// Only with `POST /v1/consumers/by-reference/{internal_reference}/connections`: the
    /// consumer to create when no consumer has that reference and the account creates
    /// consumers on first use (default name: the reference).
    pub consumer: Option<crate::NewConsumer>,
}

impl NewActivation {
    pub fn validate(&self) -> Checked {
        required_text("name", &self.name, 200)?;
        if let Some(id) = &self.integration_id {
            required_text("integration_id", id, 64)?;
        }
        if let Some(id) = &self.connection_id {
            required_text("connection_id", id, 64)?;
        }
        Ok(())
    }

    pub fn into_activation(
        self,
        token_hash: String,
        account_id: AccountId,
        consumer_id: ConsumerId,
        now: i64,
    ) -> Result<Activation, FieldError> {
        self.validate()?;
        optional_text("token_hash", &token_hash, 64)?;
        Ok(Activation {
            token_hash,
            account_id,
            consumer_id,
            integration_id: self.integration_id,
            name: self.name.trim().to_owned(),
            redirect: self.redirect,
            connection_id: self.connection_id,
            workspace: false,
            created_at: now,
            expires_at: now + ACTIVATION_TTL_SECONDS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_lives_thirty_minutes_and_needs_a_name() {
        let a = NewActivation {
            name: "QuickBooks".into(),
            ..Default::default()
        }
        .into_activation("h".into(), "acc".into(), "csm".into(), 1_000)
        .unwrap();
        assert_eq!(a.expires_at, 1_000 + 1_800);
        assert!(!a.redirect);
        let err = NewActivation::default()
            .into_activation("h".into(), "acc".into(), "csm".into(), 1_000)
            .unwrap_err();
        assert_eq!(err.field, "name");
    }
}
