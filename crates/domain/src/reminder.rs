//! Reminder emails (Chift: a consumer's `email` is "used for automated reminders"): when a
//! connection breaks, its consumer is emailed a way to reconnect it, again after a delay
//! while it stays broken, at most a few times, unless they opted out.

use serde::{Deserialize, Serialize};

use crate::validate::{Checked, FieldError};
use crate::{AccountId, ConnectionId, ConsumerId};

/// A failed send is retried this many times, with backoff, then that reminder is dropped.
pub const REMINDER_MAX_ATTEMPTS: u32 = 8;

/// How long an email's reconnect and opt-out links work.
pub const REMINDER_LINK_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// An account's reminder policy (`PATCH /v1/account` `reminders`). Off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    /// Email consumers when one of their connections needs them (default `false`).
    #[serde(default)]
    pub enabled: bool,
    /// Hours between reminders while the connection stays broken (1–720, default 24).
    #[serde(default = "default_repeat")]
    pub repeat_after_hours: u32,
    /// Reminders per broken connection, the first included (1–10, default 3).
    #[serde(default = "default_max")]
    pub max_reminders: u32,
}

fn default_repeat() -> u32 {
    24
}

fn default_max() -> u32 {
    3
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            repeat_after_hours: default_repeat(),
            max_reminders: default_max(),
        }
    }
}

impl ReminderSettings {
    pub fn validate(&self) -> Checked {
        if !(1..=720).contains(&self.repeat_after_hours) {
            return Err(FieldError::new(
                "reminders.repeat_after_hours",
                "must be between 1 and 720",
            ));
        }
        if !(1..=10).contains(&self.max_reminders) {
            return Err(FieldError::new(
                "reminders.max_reminders",
                "must be between 1 and 10",
            ));
        }
        Ok(())
    }
}

/// The outbox item of one broken connection's reminders: at most one per connection,
/// in the `schedule` index by its next send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminder {
    pub connection_id: ConnectionId,
    pub account_id: AccountId,
    pub consumer_id: ConsumerId,
    /// Reminders sent so far for this breakage.
    pub sent: u32,
    /// Failed attempts at the next one.
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

impl Reminder {
    /// The first reminder for a connection that broke at `now`, due at once.
    pub fn new(
        connection_id: ConnectionId,
        account_id: AccountId,
        consumer_id: ConsumerId,
        now: i64,
    ) -> Self {
        Self {
            connection_id,
            account_id,
            consumer_id,
            sent: 0,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        }
    }

    /// One was sent at `now`: schedules the next after the account's delay, or `false`
    /// when that was the last.
    pub fn after_sent(&mut self, now: i64, settings: &ReminderSettings) -> bool {
        self.sent += 1;
        self.attempts = 0;
        self.next_attempt_at = now + i64::from(settings.repeat_after_hours) * 3600;
        self.sent < settings.max_reminders
    }

    /// A send failed at `now`: retried with jittered backoff (one minute, doubling, capped
    /// at an hour), `false` once [`REMINDER_MAX_ATTEMPTS`] is reached.
    pub fn after_failed_attempt(&mut self, now: i64) -> bool {
        self.attempts += 1;
        self.next_attempt_at = now + crate::backoff::backoff_seconds(self.attempts, 60, 3600);
        self.attempts < REMINDER_MAX_ATTEMPTS
    }

    /// When the item may be forgotten: a while after its next send.
    pub fn expires_at(&self) -> i64 {
        self.next_attempt_at + 3 * 24 * 3600
    }
}

/// What one email's links open: a bearer token (stored as its hash) naming the
/// connection to reconnect and the consumer who may opt out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderLink {
    pub token_hash: String,
    pub account_id: AccountId,
    pub consumer_id: ConsumerId,
    pub connection_id: ConnectionId,
    pub created_at: i64,
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reminder() -> Reminder {
        Reminder::new("con_1".into(), "acc_1".into(), "csm_1".into(), 100)
    }

    #[test]
    fn reminders_repeat_after_the_delay_up_to_the_maximum() {
        let settings = ReminderSettings {
            enabled: true,
            repeat_after_hours: 24,
            max_reminders: 2,
        };
        let mut r = reminder();
        assert_eq!(r.next_attempt_at, 100, "the first is due at once");
        assert!(r.after_sent(200, &settings));
        assert_eq!(r.next_attempt_at, 200 + 24 * 3600);
        assert!(!r.after_sent(300, &settings), "the second was the last");
    }

    #[test]
    fn failed_sends_back_off_then_give_up() {
        let mut r = reminder();
        for _ in 1..REMINDER_MAX_ATTEMPTS {
            assert!(r.after_failed_attempt(1000));
            assert!(r.next_attempt_at > 1000);
        }
        assert!(!r.after_failed_attempt(1000));
    }

    #[test]
    fn settings_are_bounded_and_default_off() {
        let parsed: ReminderSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, ReminderSettings::default());
        assert!(!parsed.enabled);
        let bad = ReminderSettings {
            repeat_after_hours: 0,
            ..parsed
        };
        assert_eq!(
            bad.validate().unwrap_err().field,
            "reminders.repeat_after_hours"
        );
        let bad = ReminderSettings {
            max_reminders: 11,
            ..parsed
        };
        assert_eq!(bad.validate().unwrap_err().field, "reminders.max_reminders");
    }
}
