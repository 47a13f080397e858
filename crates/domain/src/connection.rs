use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AccountId, ConnectionId, ConsumerId, IntegrationId};

use crate::Secret;
use crate::SecretRef;
use crate::validate::Metadata;

/// Access tokens are refreshed when they have less than this left (or, for tokens that
/// live shorter than twice this, when half their lifetime is gone).
pub const REFRESH_MARGIN_SECONDS: i64 = 30 * 60;

/// A connection whose refreshes have failed, temporarily, for this long stops being
/// retried and goes to `error`: with backoff capped at an hour, 30 to 50 attempts (jittered).
pub const GIVE_UP_AFTER_SECONDS: i64 = 24 * 3600;

/// The longest token lifetime taken as an expiry (10 years): a provider saying more
/// means the token does not expire; an import saying more is refused.
pub const MAX_TOKEN_LIFETIME_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// When a token that lives `seconds` from `now` expires: `None` (no expiry) for a lifetime
/// that is not a positive finite number of at most [`MAX_TOKEN_LIFETIME_SECONDS`], so no
/// provider value (`"inf"`, `1e300`) can overflow the arithmetic.
pub fn expiry_after(now: i64, seconds: f64) -> Option<i64> {
    (seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TOKEN_LIFETIME_SECONDS as f64)
        .then(|| now.saturating_add(seconds as i64))
}

/// Tokens living shorter than this are flagged: the schedule cannot keep them fresh, only
/// on-demand refresh (credentials endpoint, proxy) can.
pub const SHORT_LIVED_SECONDS: i64 = 5 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    /// Refreshing failed for good (the provider refused the app, the integration is gone,
    /// or temporary failures lasted a day): out of the schedule until re-authorised.
    Error,
    NeedsReauth,
    /// Installed without credentials (Cyclr: install, then authenticate in the popup):
    /// visible, not usable, gone with its activation link unless completed.
    Pending,
}

impl ConnectionStatus {
    /// Its name, as the JSON writes it: also the inventory's key part and the console's
    /// `?status=`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Active => "active",
            ConnectionStatus::Error => "error",
            ConnectionStatus::NeedsReauth => "needs_reauth",
            ConnectionStatus::Pending => "pending",
        }
    }

    /// A status the inventory lists (`active`, `needs_reauth`, `error`), by its name.
    pub fn listed(name: &str) -> Option<Self> {
        match name {
            "active" => Some(ConnectionStatus::Active),
            "needs_reauth" => Some(ConnectionStatus::NeedsReauth),
            "error" => Some(ConnectionStatus::Error),
            _ => None,
        }
    }
}

/// What a failed refresh left the connection with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshFailure {
    /// Only the user can fix it: the connection needs re-authorisation.
    NeedsReauth,
    /// Not retried any more: the connection is in `error`.
    Error,
    /// Retried later; the current access token still works meanwhile.
    TokenStillValid,
    /// Retried later; the current access token has expired.
    Expired,
}

/// Refresh bookkeeping, kept on the connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefreshState {
    pub last_success_at: Option<i64>,
    pub last_failure_at: Option<i64>,
    /// When the current run of failures began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<i64>,
    #[serde(default)]
    pub consecutive_failures: u32,
    /// A stable error code, never provider text.
    pub last_error: Option<String>,
    /// Earliest time the scheduler tries again after a transient failure.
    pub retry_at: Option<i64>,
    /// Set while a scheduled refresh is under way ([`Connection::record_refresh_attempt`]):
    /// the schedule waits until then should the attempt never report back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_backoff_until: Option<i64>,
}

/// A consumer's live link to an integration. Secrets are only referenced, never held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub account_id: AccountId,
    pub consumer_id: ConsumerId,
    pub integration_id: IntegrationId,
    pub auth_option_key: String,
    pub name: String,
    /// The vendor's note on this connection (Cyclr's install `Description`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The vendor's own data on this connection (`PATCH /v1/connections/{id}`).
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
    /// Non-secret connection parameters (`subdomain`, captured `instance_url`, …).
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    pub status: ConnectionStatus,
    /// When the current access token stops working; `None` when it does not expire.
    pub access_expires_at: Option<i64>,
    /// When the current access token was obtained (its lifetime sets the refresh margin).
    #[serde(default)]
    pub access_issued_at: Option<i64>,
    /// Whether the credentials can be renewed without the user (refresh token,
    /// client credentials, custom token endpoint).
    #[serde(default)]
    pub refreshable: bool,
    #[serde(default)]
    pub refresh: RefreshState,
    pub credentials: Option<SecretRef>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Connection {
    /// The current access token's lifetime, when both ends are known.
    pub fn token_lifetime(&self) -> Option<i64> {
        Some(self.access_expires_at? - self.access_issued_at?)
    }

    /// When the scheduler should refresh this connection: [`REFRESH_MARGIN_SECONDS`]
    /// before the access token expires (half its lifetime for short tokens), or at a
    /// pending retry after a transient failure. Only active, refreshable, expiring
    /// connections are ever scheduled.
    pub fn refresh_due_at(&self) -> Option<i64> {
        let due = self.renewal_due_at()?;
        Some(
            self.refresh
                .attempt_backoff_until
                .map_or(due, |t| t.max(due)),
        )
    }

    /// [`Connection::refresh_due_at`] without an unfinished attempt's backoff: a caller
    /// that needs the token waits for the attempt (the lease) rather than skip it.
    fn renewal_due_at(&self) -> Option<i64> {
        if self.status != ConnectionStatus::Active || !self.refreshable {
            return None;
        }
        let expires = self.access_expires_at?;
        let margin = self.token_lifetime().map_or(REFRESH_MARGIN_SECONDS, |l| {
            (l / 2).min(REFRESH_MARGIN_SECONDS)
        });
        Some(self.refresh.retry_at.unwrap_or(expires - margin))
    }

    /// Whether the access token should be renewed before use at `now`: it is inside its
    /// refresh margin (a pending retry is respected until the token really expires).
    pub fn needs_refresh(&self, now: i64) -> bool {
        let expired = self.access_expires_at.is_some_and(|e| e <= now);
        self.renewal_due_at().is_some_and(|due| due <= now) || (self.refreshable && expired)
    }

    /// A refresh succeeded at `now`: the new credentials are in the vault at `reference`,
    /// failures are forgotten, and the schedule follows the new expiry.
    pub fn record_renewal(&mut self, now: i64, expires_at: Option<i64>, reference: SecretRef) {
        self.access_expires_at = expires_at;
        self.access_issued_at = Some(now);
        self.credentials = Some(reference);
        self.refresh.last_success_at = Some(now);
        self.refresh.consecutive_failures = 0;
        self.refresh.failing_since = None;
        self.refresh.last_error = None;
        self.refresh.retry_at = None;
        self.refresh.attempt_backoff_until = None;
        self.updated_at = now;
    }

    /// A scheduled refresh is about to call the provider at `now`. Written before the
    /// call, so a run that dies during it (killed at its timeout, out of memory) leaves
    /// the connection waiting out a backoff instead of first in line for the next run: the
    /// attempt counts as a failure (`interrupted`) until its outcome is written over it.
    pub fn record_refresh_attempt(&mut self, now: i64) {
        self.refresh.last_failure_at = Some(now);
        self.refresh.consecutive_failures += 1;
        self.refresh.last_error = Some("interrupted".to_owned());
        self.refresh.failing_since.get_or_insert(now);
        let wait = crate::backoff::backoff_seconds(self.refresh.consecutive_failures, 60, 3600);
        self.refresh.attempt_backoff_until = Some(now + wait);
        self.updated_at = now;
    }

    /// A refresh failed at `now` with the stable `code`. A refused grant (`invalid_grant`)
    /// means only the user can fix it: the connection needs re-authorisation and leaves
    /// the schedule. Another `permanent` failure (the provider refused the app, the
    /// integration is gone), or temporary ones that have lasted [`GIVE_UP_AFTER_SECONDS`],
    /// put it in `error`, out of the schedule too. Otherwise it is retried with jittered
    /// exponential backoff (one minute, doubling, capped at an hour), the current token
    /// kept while it works.
    pub fn record_refresh_failure(
        &mut self,
        now: i64,
        code: &str,
        permanent: bool,
    ) -> RefreshFailure {
        self.refresh.last_failure_at = Some(now);
        self.refresh.consecutive_failures += 1;
        self.refresh.last_error = Some(code.to_owned());
        self.refresh.attempt_backoff_until = None;
        let since = *self.refresh.failing_since.get_or_insert(now);
        self.updated_at = now;
        if code == "invalid_grant" {
            self.status = ConnectionStatus::NeedsReauth;
            self.refresh.retry_at = None;
            return RefreshFailure::NeedsReauth;
        }
        if permanent || now - since >= GIVE_UP_AFTER_SECONDS {
            self.status = ConnectionStatus::Error;
            self.refresh.retry_at = None;
            return RefreshFailure::Error;
        }
        let wait = crate::backoff::backoff_seconds(self.refresh.consecutive_failures, 60, 3600);
        self.refresh.retry_at = Some(now + wait);
        if self.access_expires_at.is_some_and(|e| e > now) {
            RefreshFailure::TokenStillValid
        } else {
            RefreshFailure::Expired
        }
    }
}

/// `PATCH /v1/connections/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    /// At most 200 characters.
    pub name: Option<String>,
    /// Replaces the metadata object (a JSON object of at most 8 KiB); `null` clears it.
    #[serde(default, deserialize_with = "crate::validate::present")]
    pub metadata: Option<Option<Metadata>>,
}

impl Connection {
    /// Applies a patch and validates the result; on error `self` is unchanged.
    pub fn patched(&self, patch: ConnectionPatch, now: i64) -> Result<Self, crate::FieldError> {
        let mut next = self.clone();
        if let Some(name) = patch.name {
            next.name = name.trim().to_owned();
            crate::validate::required_text("name", &next.name, 200)?;
        }
        if let Some(data) = patch.metadata {
            next.metadata = data.unwrap_or_default();
            crate::validate::metadata("metadata", &next.metadata)?;
        }
        next.updated_at = now;
        Ok(next)
    }
}

/// `POST /v1/consumers/{id}/connections/install`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallConnection {
    pub integration_id: IntegrationId,
    /// Which of the integration's auth options; default: the first that takes the
    /// credentials given.
    pub auth_option_key: Option<String>,
    /// Default: the integration's name.
    pub name: Option<String>,
    /// A note on the installed connection, shown with it (at most 1000 characters).
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// An API key as plain text, or base64 of `username:password` for basic auth.
    pub auth_value: Option<Secret>,
    /// OAuth 2.0 tokens obtained elsewhere, to import.
    pub tokens: Option<ImportedTokens>,
    /// A path below the integration's `base_url` to `GET` with the credentials; a 2xx
    /// answer makes `authenticated` true.
    pub verify_path: Option<String>,
    /// Keep the consumer's other connections to this integration (default: replace them).
    #[serde(default)]
    pub allow_multiple_connections: bool,
}

impl InstallConnection {
    /// The rules on free text; parameters and credentials are checked against the
    /// integration when installing.
    pub fn validate(&self) -> crate::validate::Checked {
        if let Some(d) = &self.description {
            crate::validate::optional_text("description", d, 1000)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportedTokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// Seconds from now.
    pub expires_in: Option<i64>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_expiry_never_overflows_and_a_decade_or_more_means_none() {
        use super::{MAX_TOKEN_LIFETIME_SECONDS, expiry_after};
        assert_eq!(expiry_after(1_000, 3600.0), Some(4_600));
        let decade = MAX_TOKEN_LIFETIME_SECONDS as f64;
        assert_eq!(
            expiry_after(1_000, decade),
            Some(1_000 + MAX_TOKEN_LIFETIME_SECONDS)
        );
        for never in [
            decade + 1.0,
            1e300,
            f64::INFINITY,
            f64::NAN,
            0.0,
            -5.0,
            9.3e18,
        ] {
            assert_eq!(expiry_after(i64::MAX - 10, never), None, "{never}");
        }
    }

    use super::*;

    fn connection(status: ConnectionStatus, refreshable: bool, exp: Option<i64>) -> Connection {
        Connection {
            id: "con_1".into(),
            account_id: "acc".into(),
            consumer_id: "csm".into(),
            integration_id: "int".into(),
            auth_option_key: "oauth".into(),
            name: "n".into(),
            description: None,
            parameters: BTreeMap::new(),
            status,
            access_expires_at: exp,
            access_issued_at: None,
            refreshable,
            metadata: Default::default(),
            refresh: RefreshState::default(),
            credentials: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn only_active_refreshable_expiring_connections_are_scheduled() {
        let due = connection(ConnectionStatus::Active, true, Some(10_000));
        assert_eq!(due.refresh_due_at(), Some(10_000 - REFRESH_MARGIN_SECONDS));
        let mut retrying = due.clone();
        retrying.refresh.retry_at = Some(9_000);
        assert_eq!(retrying.refresh_due_at(), Some(9_000));
        assert_eq!(
            connection(ConnectionStatus::Active, false, Some(100)).refresh_due_at(),
            None
        );
        assert_eq!(
            connection(ConnectionStatus::NeedsReauth, true, Some(100)).refresh_due_at(),
            None
        );
        assert_eq!(
            connection(ConnectionStatus::Active, true, None).refresh_due_at(),
            None
        );
    }

    #[test]
    fn short_tokens_refresh_at_half_life_and_are_flagged() {
        let mut c = connection(ConnectionStatus::Active, true, Some(1_240));
        c.access_issued_at = Some(1_000);
        assert_eq!(c.refresh_due_at(), Some(1_120));
        assert!(!c.needs_refresh(1_119) && c.needs_refresh(1_120));
        assert!(c.token_lifetime().is_some_and(|l| l < SHORT_LIVED_SECONDS));
        c.access_expires_at = Some(1_000 + 7_200);
        assert_eq!(c.refresh_due_at(), Some(8_200 - REFRESH_MARGIN_SECONDS));
        assert!(c.token_lifetime().is_some_and(|l| l >= SHORT_LIVED_SECONDS));
    }

    const NOW: i64 = 1_800_000_000;

    /// An active refreshable connection whose hour-long token expires in ten minutes.
    fn expiring() -> Connection {
        Connection {
            id: "con_1".into(),
            account_id: "acc_1".into(),
            consumer_id: "csm_1".into(),
            integration_id: "int_1".into(),
            auth_option_key: "oauth".into(),
            name: "Test".into(),
            description: None,
            parameters: BTreeMap::new(),
            status: ConnectionStatus::Active,
            access_expires_at: Some(NOW + 600),
            access_issued_at: Some(NOW + 600 - 3600),
            refreshable: true,
            metadata: Default::default(),
            refresh: RefreshState::default(),
            credentials: Some(SecretRef::Sealed { blob: "old".into() }),
            created_at: NOW - 3600,
            updated_at: NOW - 3600,
        }
    }

    #[test]
    fn a_token_inside_its_margin_is_due() {
        let c = expiring();
        assert_eq!(c.refresh_due_at(), Some(NOW + 600 - REFRESH_MARGIN_SECONDS));
        assert!(c.needs_refresh(NOW));
        assert!(!c.needs_refresh(NOW + 600 - REFRESH_MARGIN_SECONDS - 1));
    }

    #[test]
    fn a_renewal_forgets_failures_and_reschedules_from_the_new_expiry() {
        let mut c = expiring();
        c.record_refresh_failure(NOW - 120, "provider_unavailable", false);
        c.record_refresh_failure(NOW - 60, "provider_unavailable", false);
        let fresh = SecretRef::Sealed { blob: "new".into() };
        c.record_renewal(NOW, Some(NOW + 3600), fresh.clone());
        assert_eq!(c.credentials, Some(fresh));
        assert_eq!(c.refresh.consecutive_failures, 0);
        assert_eq!(
            (c.refresh.last_error.clone(), c.refresh.retry_at),
            (None, None)
        );
        assert_eq!(c.refresh.last_success_at, Some(NOW));
        assert_eq!(c.token_lifetime(), Some(3600));
        assert_eq!(
            c.refresh_due_at(),
            Some(NOW + 3600 - REFRESH_MARGIN_SECONDS)
        );
        assert!(!c.needs_refresh(NOW));
    }

    #[test]
    fn a_refused_grant_needs_the_user_and_leaves_the_schedule() {
        let mut c = expiring();
        assert_eq!(
            c.record_refresh_failure(NOW, "invalid_grant", false),
            RefreshFailure::NeedsReauth
        );
        assert_eq!(c.status, ConnectionStatus::NeedsReauth);
        assert_eq!(c.refresh_due_at(), None);
        assert_eq!(c.refresh.last_error.as_deref(), Some("invalid_grant"));
    }

    #[test]
    fn a_temporary_failure_backs_off_and_keeps_a_working_token() {
        let mut c = expiring();
        assert_eq!(
            c.record_refresh_failure(NOW, "provider_unavailable", false),
            RefreshFailure::TokenStillValid
        );
        assert_eq!(c.status, ConnectionStatus::Active);
        let first = c.refresh.retry_at.unwrap() - NOW;
        assert!((30..=60).contains(&first), "first retry after {first} s");
        // Not due again before the retry, due at it.
        assert!(!c.needs_refresh(NOW + first - 1));
        assert_eq!(c.refresh_due_at(), Some(NOW + first));
        let later = NOW + first;
        c.record_refresh_failure(later, "provider_unavailable", false);
        c.record_refresh_failure(later, "provider_unavailable", false);
        let third = c.refresh.retry_at.unwrap() - later;
        assert!((120..=240).contains(&third), "third retry after {third} s");
        assert_eq!(c.refresh.consecutive_failures, 3);
        // Once the token has expired, a failure says so.
        assert_eq!(
            c.record_refresh_failure(NOW + 600, "provider_unavailable", false),
            RefreshFailure::Expired
        );
    }

    #[test]
    fn a_permanent_failure_puts_the_connection_in_error_out_of_the_schedule() {
        let mut c = expiring();
        assert_eq!(
            c.record_refresh_failure(NOW, "invalid_client", true),
            RefreshFailure::Error
        );
        assert_eq!(c.status, ConnectionStatus::Error);
        assert_eq!(c.refresh_due_at(), None);
        assert_eq!(c.refresh.last_error.as_deref(), Some("invalid_client"));
    }

    #[test]
    fn temporary_failures_give_up_after_a_day_of_them() {
        let mut c = expiring();
        let mut now = NOW;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match c.record_refresh_failure(now, "provider_unavailable", false) {
                RefreshFailure::Error => break,
                _ => now = c.refresh.retry_at.expect("retried"),
            }
        }
        assert!(
            now - NOW >= GIVE_UP_AFTER_SECONDS,
            "gave up after {}s",
            now - NOW
        );
        // Retries after the first hour are jittered in 30–60 min: about 30 to 50 in a day.
        assert!((25..=55).contains(&attempts), "{attempts} attempts");
        assert_eq!(c.status, ConnectionStatus::Error);
        c.record_renewal(now, Some(now + 3600), c.credentials.clone().unwrap());
        assert_eq!(
            c.refresh.failing_since, None,
            "a success starts the count again"
        );
    }
}
