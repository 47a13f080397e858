//! Random identifiers and bearer tokens, and the one-way hash under which tokens are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::Secret;

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the OS random source is unavailable");
    buf
}

/// A server-generated id such as `con_3q2x…`: a type prefix and 128 random bits in
/// lowercase base32, so ids are unguessable and safe in URLs and DynamoDB keys.
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes = random_bytes::<16>();
    let mut bits: u128 = u128::from_be_bytes(bytes);
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for _ in 0..26 {
        out.push(ALPHABET[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    out
}

/// A fresh 256-bit bearer token (API key, activation token, OAuth `state`), URL-safe.
pub fn new_token(prefix: &str) -> Secret {
    let body = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    Secret::new(if prefix.is_empty() {
        body
    } else {
        format!("{prefix}_{body}")
    })
}

/// The SHA-256 of a token, hex encoded: what the stores keep instead of the token.
/// Tokens carry 256 random bits, so an unsalted fast hash is the right tool here.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_unique_and_url_safe() {
        let a = new_id("con");
        let b = new_id("con");
        assert_ne!(a, b);
        assert!(a.starts_with("con_") && a.len() == 30, "{a}");
        assert!(
            a[4..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn tokens_carry_256_bits_and_hash_stably() {
        let t = new_token("lk");
        let body = t.expose().strip_prefix("lk_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_eq!(token_hash(t.expose()), token_hash(t.expose()));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
