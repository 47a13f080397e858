//! What every call to a provider's token endpoint shares: one timeout and a cap on the
//! answer, so a slow or endless response cannot hold or exhaust a Lambda.

use std::time::Duration;

use latchkey_domain::FlowError;

/// The whole exchange, connect to last byte (reqwest's request timeout covers the body).
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);

/// No token endpoint answers with more than a few kilobytes.
pub const TOKEN_BODY_LIMIT: usize = 64 * 1024;

/// Why an answer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Connection failed, timed out or broke off.
    Unreachable,
    /// The body passed the limit; the rest is never read.
    TooLarge,
}

impl From<ReadError> for FlowError {
    fn from(e: ReadError) -> Self {
        FlowError::TokenExchange(match e {
            ReadError::Unreachable => "unreachable",
            ReadError::TooLarge => "response_too_large",
        })
    }
}

/// Reads a response body chunk by chunk and stops at `limit` bytes.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| ReadError::Unreachable)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
