//! `secretsmanager` mode: one secret per owner, `{prefix}/{account}/{owner}`.

use aws_sdk_secretsmanager::Client;

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError;
use aws_sdk_secretsmanager::primitives::Blob;

use crate::{Keyring, VaultError};
use latchkey_domain::SecretScope;
use latchkey_domain::token::random_bytes;

type LazyClient = std::sync::LazyLock<Client, Box<dyn FnOnce() -> Client + Send>>;

#[derive(Clone, Debug)]
pub struct SecretsManager {
    /// Built on first use: a cold start whose request never opens the vault does not pay
    /// for it (the SDK's endpoint rules and TLS set-up, a third of a function's init).
    client: std::sync::Arc<LazyClient>,
    prefix: String,
}

fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> VaultError {
    VaultError::Backend(Box::new(e))
}

impl SecretsManager {
    /// `prefix` separates deployments sharing an AWS account, e.g. `latchkey/prod`.
    pub fn new(sdk: &aws_config::SdkConfig, prefix: impl Into<String>) -> Self {
        let sdk = sdk.clone();
        Self {
            client: std::sync::Arc::new(LazyClient::new(Box::new(move || Client::new(&sdk)))),
            prefix: prefix.into().trim_end_matches('/').to_owned(),
        }
    }

    fn client(&self) -> &Client {
        &self.client
    }

    fn name_for(&self, scope: &SecretScope) -> String {
        format!("{}/{}/{}", self.prefix, scope.account_id, scope.owner_id)
    }

    /// Reads the `sealed` mode's data keys from their secret (see [`Keyring::from_text`]).
    pub async fn keyring(&self, secret_id: &str) -> Result<Keyring, VaultError> {
        Keyring::from_text(&self.data_key_text(secret_id).await?)
    }

    /// The data-key secret's text: one key a line, the current one first.
    pub async fn data_key_text(&self, secret_id: &str) -> Result<String, VaultError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(backend)?;
        out.secret_string()
            .map(str::to_owned)
            .ok_or_else(|| VaultError::Backend("the data key secret has no string value".into()))
    }

    /// Replaces the data-key secret's text (a new version becomes current).
    pub async fn set_data_key_text(&self, secret_id: &str, text: &str) -> Result<(), VaultError> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(text)
            .send()
            .await
            .map(drop)
            .map_err(backend)
    }

    /// Writes a new version (or creates the secret) and answers its name and version id.
    /// The version id is ours (`ClientRequestToken`): the SDK's retries reuse it, so a
    /// retried write is not a new version, and the caller records it in the owner's item.
    /// `new`: the secret most likely does not exist yet (a new connection), so creating it
    /// is tried first: one call instead of two.
    pub(super) async fn put(
        &self,
        scope: &SecretScope,
        plaintext: &[u8],
        new: bool,
    ) -> Result<(String, String), VaultError> {
        let name = self.name_for(scope);
        let version = hex::encode(random_bytes::<16>());
        if !new {
            match self.put_value(&name, &version, plaintext).await {
                Ok(()) => return Ok((name, version)),
                Err(e)
                    if !e
                        .as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Err(backend(e));
                }
                Err(_) => {}
            }
        }
        let create = self
            .client
            .create_secret()
            .name(&name)
            .client_request_token(&version)
            .secret_binary(Blob::new(plaintext))
            .description("Latchkey credentials")
            .send()
            .await;
        match create {
            Ok(_) => Ok((name, version)),
            // It exists (another writer created it first, or it was not new after all):
            // write our value as a new version.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                self.put_value(&name, &version, plaintext)
                    .await
                    .map_err(backend)?;
                Ok((name, version))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn put_value(
        &self,
        name: &str,
        version: &str,
        plaintext: &[u8],
    ) -> Result<(), SdkError<PutSecretValueError, HttpResponse>> {
        self.client
            .put_secret_value()
            .secret_id(name)
            .client_request_token(version)
            .secret_binary(Blob::new(plaintext))
            .send()
            .await
            .map(drop)
    }

    pub(super) async fn get(
        &self,
        scope: &SecretScope,
        name: &str,
        version: Option<&str>,
    ) -> Result<Vec<u8>, VaultError> {
        if name != self.name_for(scope) {
            return Err(VaultError::Unopenable);
        }
        let out = self
            .client()
            .get_secret_value()
            .secret_id(name)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await;
        match out {
            Ok(out) => out
                .secret_binary()
                .map(|b| b.as_ref().to_vec())
                .ok_or(VaultError::Unopenable),
            // A deleted secret waits out its recovery window as "marked for deletion".
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_resource_not_found_exception() || s.is_invalid_request_exception()
                }) =>
            {
                Err(VaultError::Missing)
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// Moves `AWSCURRENT` from version `from` to `to`; refused (and harmless) when `from`
    /// no longer holds it.
    pub(super) async fn make_current(
        &self,
        scope: &SecretScope,
        name: &str,
        from: &str,
        to: &str,
    ) -> Result<(), VaultError> {
        if name != self.name_for(scope) {
            return Err(VaultError::Unopenable);
        }
        self.client()
            .update_secret_version_stage()
            .secret_id(name)
            .version_stage("AWSCURRENT")
            .remove_from_version_id(from)
            .move_to_version_id(to)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) async fn delete(&self, scope: &SecretScope, name: &str) -> Result<(), VaultError> {
        if name != self.name_for(scope) {
            return Err(VaultError::Unopenable);
        }
        // Keep Secrets Manager's recovery window: a mistaken delete stays recoverable.
        match self.client().delete_secret().secret_id(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_resource_not_found_exception() || s.is_invalid_request_exception()
                }) =>
            {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }
}
