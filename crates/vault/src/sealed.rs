//! `sealed` mode: AES-256-GCM, a fresh 96-bit nonce per seal, the scope as associated data.
//! Blob format: `v2.` + the key's id + `.` + base64url(nonce || ciphertext || tag); blobs of
//! earlier releases (`v1.` + the same, no key id) are opened by trying each key.
//!
//! A [`Keyring`] holds the current key (which seals) and retired ones (which still open),
//! so the data key can be rotated while everything sealed under the old one stays
//! readable until it is re-sealed (`latchkey vault rotate-key`).

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

const V1: &str = "v1.";
const V2: &str = "v2.";
const NONCE_LEN: usize = 12;

pub struct SealingKey {
    cipher: Aes256Gcm,
    /// Names the key in blobs: 8 hex digits of a hash of it (no use to an attacker).
    id: String,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"latchkey data key id\n");
        hasher.update(bytes);
        let id = hex::encode(&hasher.finalize()[..4]);
        let key = Key::<Aes256Gcm>::from(bytes);
        Self {
            cipher: Aes256Gcm::new(&key),
            id,
        }
    }

    /// The id blobs sealed with this key carry.
    pub fn id(&self) -> &str {
        &self.id
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
        format!("{V2}{}.{}", self.id, URL_SAFE_NO_PAD.encode(out))
    }

    pub fn open(&self, scope: &SecretScope, blob: &str) -> Result<Vec<u8>, VaultError> {
        let body = match key_id(blob) {
            Some(id) if id == self.id => &blob[V2.len() + id.len() + 1..],
            Some(_) => return Err(VaultError::Unopenable),
            None => blob.strip_prefix(V1).ok_or(VaultError::Unopenable)?,
        };
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
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

/// The id of the key that sealed `blob`; `None` for a blob of an earlier release.
pub fn key_id(blob: &str) -> Option<&str> {
    blob.strip_prefix(V2)?.split_once('.').map(|(id, _)| id)
}

/// The data keys: the first seals, every one opens (the others are retired keys whose
/// blobs have not all been re-sealed yet). As text: one base64 key per line, current first.
pub struct Keyring {
    keys: Vec<SealingKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

impl From<SealingKey> for Keyring {
    fn from(key: SealingKey) -> Self {
        Self { keys: vec![key] }
    }
}

impl Keyring {
    /// From a key file's or secret's text: one key a line (see
    /// [`SealingKey::from_secret_text`]), the current one first.
    pub fn from_text(text: &str) -> Result<Self, VaultError> {
        let keys = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(SealingKey::from_secret_text)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(VaultError::Backend("the data key text holds no key".into()));
        }
        Ok(Self { keys })
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
                file.write_all(SealingKey::generate_base64().as_bytes())
                    .map_err(io)?;
                file.sync_all().map_err(io)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        Self::from_text(&std::fs::read_to_string(path).map_err(io)?)
    }

    /// The keys' ids, the current one first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(SealingKey::id).collect()
    }

    pub fn current(&self) -> &SealingKey {
        &self.keys[0]
    }

    pub fn seal(&self, scope: &SecretScope, plaintext: &[u8]) -> String {
        self.current().seal(scope, plaintext)
    }

    /// Opens with the key the blob names (an older blob: whichever key opens it).
    pub fn open(&self, scope: &SecretScope, blob: &str) -> Result<Vec<u8>, VaultError> {
        match key_id(blob) {
            Some(id) => self
                .keys
                .iter()
                .find(|k| k.id == id)
                .ok_or(VaultError::Unopenable)?
                .open(scope, blob),
            None => self
                .keys
                .iter()
                .find_map(|k| k.open(scope, blob).ok())
                .ok_or(VaultError::Unopenable),
        }
    }

    /// Whether `blob` was sealed with a key other than the current one.
    pub fn is_retired(&self, blob: &str) -> bool {
        key_id(blob) != Some(self.current().id())
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
