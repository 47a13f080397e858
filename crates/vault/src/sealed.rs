//! `sealed` mode: AES-256-GCM, a fresh 96-bit nonce per seal, the scope as associated data.
//! Blob format: `v1.` + base64url(nonce || ciphertext || tag).

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::Digest;

use crate::VaultError;
use latchkey_domain::SecretScope;
use latchkey_domain::token::random_bytes;

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;

pub struct SealingKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let key = Key::<Aes256Gcm>::from(bytes);
        Self {
            cipher: Aes256Gcm::new(&key),
        }
    }

    /// A key from its base64 text (as kept in a key file or a Secrets Manager secret).
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| VaultError::Backend("the data key is not base64".into()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| VaultError::Backend("the data key is not 32 bytes".into()))?;
        Ok(Self::from_bytes(bytes))
    }

    /// A key from a secret's text: 32 bytes in base64 as they are, or else (a generated
    /// password, as CloudFormation's `GenerateSecretString` makes) the SHA-256 of a text of
    /// at least 32 characters.
    pub fn from_secret_text(text: &str) -> Result<Self, VaultError> {
        if let Ok(key) = Self::from_base64(text) {
            return Ok(key);
        }
        let text = text.trim();
        if text.len() < 32 {
            return Err(VaultError::Backend(
                "the data key secret is shorter than 32 characters".into(),
            ));
        }
        Ok(Self::from_bytes(
            sha2::Sha256::digest(text.as_bytes()).into(),
        ))
    }

    /// A fresh random key, base64 encoded, for key files and provisioning.
    pub fn generate_base64() -> String {
        STANDARD.encode(random_bytes::<32>())
    }

    /// Loads the key file, creating it (mode 0600, never overwritten) on first run.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        let io = |e: std::io::Error| {
            VaultError::Backend(format!("key file {}: {e}", path.display()).into())
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(Self::generate_base64().as_bytes())
                    .map_err(io)?;
                file.sync_all().map_err(io)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        Self::from_base64(&std::fs::read_to_string(path).map_err(io)?)
    }

    pub fn seal(&self, scope: &SecretScope, plaintext: &[u8]) -> String {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let aad = associated_data(scope);
        let ciphertext = self
            .cipher
            .encrypt(
                &Nonce::from(nonce_bytes),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    pub fn open(&self, scope: &SecretScope, blob: &str) -> Result<Vec<u8>, VaultError> {
        let raw = blob
            .strip_prefix(PREFIX)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(VaultError::Unopenable)?;
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at the nonce length");
        let aad = associated_data(scope);
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Unopenable)
    }
}

/// Length-prefixed so that ("a:b", "c") and ("a", "b:c") never collide.
fn associated_data(scope: &SecretScope) -> Vec<u8> {
    format!(
        "latchkey/v1/{}:{}/{}:{}",
        scope.account_id.len(),
        scope.account_id,
        scope.owner_id.len(),
        scope.owner_id
    )
    .into_bytes()
}
