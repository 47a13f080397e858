//! How Latchkey's AWS calls (DynamoDB, Secrets Manager, SES) retry and give up: one
//! setting for the functions, the CLI and the tests, so the fault tests exercise what runs.

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

/// Standard mode (client-side token bucket, exponential backoff with full jitter; retries
/// throttling, 5xx and transient network errors) with 3 attempts and at most 1 s between
/// them: a throttled table or a brief 500 is absorbed within a second or two, and a call
/// that keeps failing gives up while the request can still answer in words.
pub fn retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1))
}

/// A stalled call gives up instead of holding the invocation to its timeout: 2 s to
/// connect, 5 s an attempt (a single-item call answers in milliseconds; the largest query
/// Latchkey makes reads one page), 12 s in all, inside the 28 s an HTTP function has.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(12))
        .build()
}
