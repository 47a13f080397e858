//! The credential vault (docs/ARCHITECTURE.md §6). Two real modes, chosen by configuration:
//!
//! - `secretsmanager`: one Secrets Manager secret per owner (connection, integration app,
//!   account), named `{prefix}/{account}/{owner}`;
//! - `sealed`: AES-256-GCM ciphertext kept inside the owner's item, with the account and
//!   owner ids as associated data, under a data key held in Secrets Manager (or, locally,
//!   a key file created on first run with mode 0600).
//!
//! A `secretsmanager` vault given the data key also opens sealed references, so a
//! deployment can move from `sealed` to `secretsmanager`; a `sealed` vault has no means to
//! open Secrets Manager references (docs/ARCHITECTURE.md §6).

mod sealed;
mod secrets_manager;

use latchkey_domain::deadline::budget;
use latchkey_domain::{Credentials, SecretRef, SecretScope};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use sealed::{Keyring, SealingKey, key_id};
pub use secrets_manager::SecretsManager;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VaultMode {
    SecretsManager,
    Sealed,
}

impl std::str::FromStr for VaultMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "secretsmanager" => Ok(Self::SecretsManager),
            "sealed" => Ok(Self::Sealed),
            other => Err(format!(
                "unknown vault mode {other:?}: use secretsmanager or sealed"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Wrong key, tampered blob, or a reference used under another scope.
    #[error("the secret cannot be opened under this scope")]
    Unopenable,
    #[error("the secret no longer exists")]
    Missing,
    #[error("this vault is not configured for {0:?} secrets")]
    NotConfigured(VaultMode),
    #[error("vault backend error")]
    Backend(#[source] latchkey_domain::error::Cause),
    /// Secrets Manager did not answer before the invocation's deadline.
    #[error("the vault did not answer in time")]
    TimedOut,
}

/// The longest a vault call may take outside an invocation deadline (the SDK gives up
/// sooner on its own); inside one, what is left of it.
const CALL_LIMIT: Duration = Duration::from_secs(15);

/// `work`, cut to the invocation's deadline: a stalled Secrets Manager call must not hold
/// the request until Lambda kills it (API Gateway would answer a bare 500).
async fn bounded<T>(work: impl Future<Output = Result<T, VaultError>>) -> Result<T, VaultError> {
    tokio::time::timeout(budget(CALL_LIMIT), work)
        .await
        .unwrap_or(Err(VaultError::TimedOut))
}

/// The `sealed` mode's data keys: at hand (a key file, a test), or read from their Secrets
/// Manager secret on first use, so a cold start makes no network call for them and a
/// function that never opens a secret (the catalog) never reads them. A managed keyring is
/// read again every few minutes, and at once (at most every few seconds) when a blob names
/// a key it lacks: after a rotation, warm instances seal with the new key and open what
/// others sealed with it.
pub struct DataKey {
    loaded: tokio::sync::RwLock<Option<(Instant, Arc<Keyring>)>>,
    secret: Option<(SecretsManager, String)>,
}

/// How long a managed keyring is used before it is read again.
const KEYRING_TTL: Duration = Duration::from_secs(300);
/// The soonest a blob under an unknown key makes the keyring be read again.
const KEYRING_RETRY: Duration = Duration::from_secs(5);

impl DataKey {
    pub fn managed(manager: SecretsManager, secret_id: impl Into<String>) -> Self {
        Self {
            loaded: tokio::sync::RwLock::new(None),
            secret: Some((manager, secret_id.into())),
        }
    }

    /// The keyring, read again once older than `max_age` (a fixed one never is). A
    /// failed read is not remembered: the next use tries again.
    async fn keyring(&self, max_age: Duration) -> Result<Arc<Keyring>, VaultError> {
        if let Some((at, keys)) = &*self.loaded.read().await
            && (self.secret.is_none() || at.elapsed() < max_age)
        {
            return Ok(keys.clone());
        }
        let (manager, secret_id) = self.secret.as_ref().expect("a keyring or its secret");
        let mut loaded = self.loaded.write().await;
        if let Some((at, keys)) = &*loaded
            && at.elapsed() < max_age
        {
            return Ok(keys.clone());
        }
        let keys = Arc::new(Box::pin(manager.keyring(secret_id)).await?);
        *loaded = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }

    async fn seal(&self, scope: &SecretScope, plaintext: &[u8]) -> Result<String, VaultError> {
        Ok(self.keyring(KEYRING_TTL).await?.seal(scope, plaintext))
    }

    async fn open(&self, scope: &SecretScope, blob: &str) -> Result<Vec<u8>, VaultError> {
        let keys = self.keyring(KEYRING_TTL).await?;
        let unknown = sealed::key_id(blob).is_some_and(|id| !keys.ids().contains(&id));
        if unknown && self.secret.is_some() {
            return self.keyring(KEYRING_RETRY).await?.open(scope, blob);
        }
        keys.open(scope, blob)
    }
}

impl From<SealingKey> for DataKey {
    fn from(key: SealingKey) -> Self {
        Keyring::from(key).into()
    }
}

impl From<Keyring> for DataKey {
    fn from(keys: Keyring) -> Self {
        Self {
            loaded: tokio::sync::RwLock::new(Some((Instant::now(), Arc::new(keys)))),
            secret: None,
        }
    }
}

/// Every Secrets Manager call is boxed: the SDK's futures are deep, and each use-case's
/// future (each test's) would nest them past the compiler's layout depth limit. One
/// allocation next to a network call.
pub struct Vault {
    mode: VaultMode,
    sealing: Option<DataKey>,
    manager: Option<SecretsManager>,
}

impl Vault {
    /// `sealed` mode with the given data key.
    pub fn sealed(key: impl Into<DataKey>) -> Self {
        Self {
            mode: VaultMode::Sealed,
            sealing: Some(key.into()),
            manager: None,
        }
    }

    /// `secretsmanager` mode; a data key, when given, still opens older sealed secrets.
    pub fn secrets_manager(manager: SecretsManager, sealing: Option<DataKey>) -> Self {
        Self {
            mode: VaultMode::SecretsManager,
            sealing,
            manager: Some(manager),
        }
    }

    pub fn mode(&self) -> VaultMode {
        self.mode
    }

    /// Stores (or replaces) the scope's secret. Idempotent for equal content.
    pub async fn put(
        &self,
        scope: &SecretScope,
        credentials: &Credentials,
    ) -> Result<SecretRef, VaultError> {
        self.store(scope, credentials, false).await
    }

    /// [`Vault::put`] for an owner that has no secret yet (a new connection): in
    /// `secretsmanager` mode the secret is created first, one call instead of two.
    pub async fn put_new(
        &self,
        scope: &SecretScope,
        credentials: &Credentials,
    ) -> Result<SecretRef, VaultError> {
        self.store(scope, credentials, true).await
    }

    async fn store(
        &self,
        scope: &SecretScope,
        credentials: &Credentials,
        new: bool,
    ) -> Result<SecretRef, VaultError> {
        let plaintext = serde_json::to_vec(credentials).expect("credentials serialize");
        bounded(async {
            match self.mode {
                VaultMode::Sealed => Ok(SecretRef::Sealed {
                    blob: self.sealing()?.seal(scope, &plaintext).await?,
                }),
                VaultMode::SecretsManager => {
                    let (name, version) =
                        Box::pin(self.manager()?.put(scope, &plaintext, new)).await?;
                    Ok(SecretRef::SecretsManager {
                        name,
                        version: Some(version),
                    })
                }
            }
        })
        .await
    }

    pub async fn get(
        &self,
        scope: &SecretScope,
        reference: &SecretRef,
    ) -> Result<Credentials, VaultError> {
        let plaintext = bounded(async {
            match reference {
                SecretRef::Sealed { blob } => self.sealing()?.open(scope, blob).await,
                SecretRef::SecretsManager { name, version } => {
                    Box::pin(self.manager()?.get(scope, name, version.as_deref())).await
                }
            }
        })
        .await?;
        serde_json::from_slice(&plaintext).map_err(|_| VaultError::Unopenable)
    }

    /// Deletes the secret. Sealed secrets live in their owner's item and go with it.
    pub async fn delete(
        &self,
        scope: &SecretScope,
        reference: &SecretRef,
    ) -> Result<(), VaultError> {
        match reference {
            SecretRef::Sealed { .. } => Ok(()),
            SecretRef::SecretsManager { name, .. } => {
                bounded(Box::pin(self.manager()?.delete(scope, name))).await
            }
        }
    }

    /// After `lost`'s write lost its owner item's conditional update to `kept`'s: what is
    /// read never changed (references name their version), and this puts `AWSCURRENT` back
    /// on the version in use, so the console and rotation tools see it too. Sealed
    /// references have nothing to undo.
    pub async fn yield_to(
        &self,
        scope: &SecretScope,
        lost: &SecretRef,
        kept: &SecretRef,
    ) -> Result<(), VaultError> {
        match (lost, kept) {
            (
                SecretRef::SecretsManager {
                    name,
                    version: Some(lost),
                },
                SecretRef::SecretsManager {
                    name: kept_name,
                    version: Some(kept),
                },
            ) if name == kept_name && lost != kept => {
                Box::pin(self.manager()?.make_current(scope, name, lost, kept)).await
            }
            _ => Ok(()),
        }
    }

    fn sealing(&self) -> Result<&DataKey, VaultError> {
        self.sealing
            .as_ref()
            .ok_or(VaultError::NotConfigured(VaultMode::Sealed))
    }

    /// The data keys as they are now (current first), for re-sealing after a rotation.
    pub async fn keyring(&self) -> Result<Arc<Keyring>, VaultError> {
        self.sealing()?.keyring(Duration::ZERO).await
    }

    fn manager(&self) -> Result<&SecretsManager, VaultError> {
        self.manager
            .as_ref()
            .ok_or(VaultError::NotConfigured(VaultMode::SecretsManager))
    }
}

impl From<VaultError> for latchkey_domain::FlowError {
    fn from(e: VaultError) -> Self {
        latchkey_domain::FlowError::internal(e)
    }
}
