//! PKCE (RFC 7636), S256 only: our verifier, the `oauth2` crate's challenge.

use ::oauth2::{PkceCodeChallenge, PkceCodeVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use latchkey_domain::Secret;
use latchkey_domain::token::random_bytes;

pub struct Pkce {
    pub verifier: Secret,
    pub challenge: PkceCodeChallenge,
}

impl Pkce {
    pub fn new() -> Self {
        // 32 random bytes → a 43-character verifier, the RFC's recommended minimum entropy.
        Self::from_verifier(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    fn from_verifier(verifier: String) -> Self {
        let challenge =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.clone()));
        Self {
            verifier: Secret::new(verifier),
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_rfc_7636_example() {
        let pkce = super::Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(
            pkce.challenge.as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
