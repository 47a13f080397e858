//! Latchkey's outbound protocol clients: OAuth 2.0 on the `oauth2` crate (authorization
//! URL, token requests with providers' quirks, revocation, captures), PKCE, OAuth 1.0a (HMAC-SHA1), custom token
//! endpoints, and URL templates whose host stays literal. They know the domain's
//! integration types and nothing of stores, vaults or HTTP servers.

pub mod custom_token;
pub mod oauth1;
pub mod oauth2;
pub mod pkce;
pub mod template;
pub mod wire;
