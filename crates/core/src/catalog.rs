//! The built-in catalog (`shared/catalog/builtin.json`) and the integration operations
//! both the API and the CLI use: seeding an account, sealing OAuth app secrets, importing.

use latchkey_domain::AccountId;
use latchkey_domain::{ClientSecret, FieldError, Integration, IntegrationInput, IntegrationStatus};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_store::Integrations;
use latchkey_store::{Store, StoreError};
use latchkey_vault::{Vault, VaultError};

const BUILTIN_JSON: &str = include_str!("../catalog/builtin.json");

/// Built-in integration templates, parsed on first use: only creating an account needs
/// them, so no Lambda cold start pays for it.
pub fn builtins() -> &'static [IntegrationInput] {
    static BUILTINS: std::sync::LazyLock<Vec<IntegrationInput>> = std::sync::LazyLock::new(|| {
        serde_json::from_str(BUILTIN_JSON).expect("shared/catalog/builtin.json is valid (tested)")
    });
    &BUILTINS
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

fn secret_scope(integration: &Integration, option_key: &str) -> SecretScope {
    SecretScope::new(
        &integration.account_id,
        format!("{}.{}", integration.id, option_key),
    )
}

/// An option given without a client secret keeps the one `previous` had for the same
/// option key and client id, so a `PUT` need not repeat secrets it does not change. Not
/// when an endpoint URL changed: the kept secret would go to the new endpoint, so whoever
/// may edit the integration could read it there. Then the secret must be given again.
pub fn inherit_client_secrets(
    integration: &mut Integration,
    previous: &Integration,
) -> Result<(), FieldError> {
    for (i, option) in integration.auth_options.iter_mut().enumerate() {
        let key = option.key.clone();
        let urls: Vec<(&str, String)> = option
            .method
            .urls()
            .into_iter()
            .map(|(name, url)| (name, url.to_owned()))
            .collect();
        if let Some(Some(client)) = option.method.client_mut()
            && client.client_secret.is_none()
        {
            let Some(before) = previous.auth_option(&key) else {
                continue;
            };
            let kept = before
                .method
                .client()
                .filter(|c| c.client_id == client.client_id)
                .and_then(|c| c.client_secret.clone());
            if kept.is_none() {
                continue;
            }
            let moved = before
                .method
                .urls()
                .into_iter()
                .map(|(name, url)| (name, url.to_owned()))
                .ne(urls.iter().cloned());
            if moved {
                return Err(FieldError::new(
                    format!("auth_options[{i}].client.client_secret"),
                    "is required again when an endpoint URL changes",
                ));
            }
            client.client_secret = kept;
        }
    }
    Ok(())
}

/// Moves every plain OAuth client secret into the vault.
pub async fn seal_client_secrets(
    integration: &mut Integration,
    vault: &Vault,
) -> Result<(), VaultError> {
    let ids = (integration.account_id.clone(), integration.id.clone());
    for option in &mut integration.auth_options {
        let key = option.key.clone();
        if let Some(Some(client)) = option.method.client_mut()
            && let Some(ClientSecret::Plain(secret)) = &client.client_secret
        {
            let scope = SecretScope::new(&ids.0, format!("{}.{}", ids.1, key));
            let credentials = Credentials::ClientSecret {
                client_secret: secret.clone(),
            };
            client.client_secret =
                Some(ClientSecret::Stored(vault.put(&scope, &credentials).await?));
        }
    }
    Ok(())
}

/// Deletes the vault entries of an integration's OAuth apps (best effort per entry).
pub async fn forget_client_secrets(
    integration: &Integration,
    vault: &Vault,
) -> Result<(), VaultError> {
    for option in &integration.auth_options {
        if let Some(ClientSecret::Stored(reference)) = option
            .method
            .client()
            .and_then(|c| c.client_secret.as_ref())
        {
            vault
                .delete(&secret_scope(integration, &option.key), reference)
                .await?;
        }
    }
    Ok(())
}

/// Creates an integration from an input: validated, secrets sealed, key unique. An
/// active integration needs every OAuth app it names.
pub async fn create_integration(
    store: &Store,
    vault: &Vault,
    account_id: &AccountId,
    input: IntegrationInput,
    builtin: Option<String>,
) -> Result<Integration, CatalogError> {
    let mut integration = input.into_integration(
        latchkey_domain::IntegrationId::generate(),
        account_id.clone(),
        builtin,
        store.now(),
    )?;
    require_apps_when_active(&integration)?;
    seal_client_secrets(&mut integration, vault).await?;
    if let Err(e) = store.create_integration(&integration).await {
        forget_client_secrets(&integration, vault).await.ok();
        return Err(e.into());
    }
    Ok(integration)
}

pub fn require_apps_when_active(integration: &Integration) -> Result<(), FieldError> {
    if integration.status == IntegrationStatus::Active
        && let Some(i) = integration.options_missing_client().first()
    {
        return Err(FieldError::new(
            format!("auth_options[{i}].client"),
            "an active integration needs the OAuth app's client_id and client_secret",
        ));
    }
    Ok(())
}

/// Adds every built-in integration to a new account, inactive until the account gives
/// its OAuth app credentials (API-key and basic ones need none, so they start active).
pub async fn seed_builtins(
    store: &Store,
    vault: &Vault,
    account_id: &AccountId,
) -> Result<usize, CatalogError> {
    for template in builtins() {
        let mut input = template.clone();
        let needs_app = input.auth_options.iter().any(|o| o.method.needs_app());
        input.status = if needs_app {
            IntegrationStatus::Inactive
        } else {
            IntegrationStatus::Active
        };
        let key = input.key.clone();
        create_integration(store, vault, account_id, input, Some(key)).await?;
    }
    Ok(builtins().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_validates_and_keys_are_unique() {
        assert!(builtins().len() >= 15);
        let mut keys = std::collections::BTreeSet::new();
        for template in builtins() {
            let integration = template
                .clone()
                .into_integration("int_x".into(), "acc_x".into(), None, 0)
                .unwrap_or_else(|e| panic!("{}: {e}", template.key));
            assert!(
                keys.insert(integration.key.clone()),
                "duplicate key {}",
                integration.key
            );
        }
    }
}
