//! The built-in catalog (`catalog/providers/{key}.json`, logos in `catalog/logos/`) and the
//! integration operations both the API and the CLI use: seeding and syncing an account,
//! sealing OAuth app secrets, importing.

use std::borrow::Cow;

use base64::Engine;
use latchkey_domain::AccountId;
use latchkey_domain::{
    ClientSecret, FieldError, Integration, IntegrationInput, IntegrationStatus, Logo,
};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_store::Integrations;
use latchkey_store::{Store, StoreError, Versioned};
use latchkey_vault::{Vault, VaultError};
use sha2::{Digest, Sha256};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
}

/// Built-in integration templates by key, parsed on first use: only creating or syncing
/// an account needs them, so no Lambda cold start pays for it.
pub fn builtins() -> &'static [IntegrationInput] {
    static BUILTINS: std::sync::LazyLock<Vec<IntegrationInput>> = std::sync::LazyLock::new(|| {
        embedded::PROVIDERS
            .iter()
            .map(|(key, json)| {
                serde_json::from_str(json)
                    .unwrap_or_else(|e| panic!("catalog/providers/{key}.json: {e} (tested)"))
            })
            .collect()
    });
    &BUILTINS
}

pub fn builtin(key: &str) -> Option<&'static IntegrationInput> {
    let i = embedded::PROVIDERS
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()?;
    builtins().get(i)
}

/// A built-in's brand icon (SVG), if simple-icons has one; found without parsing the
/// catalog, so a page showing logos never pays for it.
pub fn builtin_icon(key: &str) -> Option<&'static str> {
    let i = embedded::LOGOS
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()?;
    Some(embedded::LOGOS[i].1)
}

/// An integration's logo: the account's own, else its built-in's icon, else (for a
/// built-in) a monogram of its name.
pub fn logo(integration: &Integration) -> Option<Logo> {
    if let Some(own) = &integration.logo {
        return Some(own.clone());
    }
    let key = integration.builtin.as_deref()?;
    let svg =
        builtin_icon(key).map_or_else(|| Cow::Owned(monogram(&integration.name)), Cow::Borrowed);
    Some(Logo {
        content_type: "image/svg+xml".into(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(svg.as_bytes()),
    })
}

/// A neutral square with the first letters of `name`'s first two words (`Acme Books` →
/// `AB`), for an integration without a logo.
pub fn monogram(name: &str) -> String {
    let letters: String = name
        .split(|c: char| !c.is_alphanumeric())
        .filter_map(|word| word.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    let letters = if letters.is_empty() {
        "?".to_owned()
    } else {
        letters
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" role="img"><rect width="24" height="24" rx="5" fill="#64748b"/><text x="12" y="16.2" font-family="system-ui,sans-serif" font-size="{size}" font-weight="600" fill="#fff" text-anchor="middle">{letters}</text></svg>"##,
        size = if letters.chars().count() > 1 { 10 } else { 12 },
    )
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

/// A built-in as a new integration of `account_id`, its definition's fingerprint kept.
/// Inactive: a consumer's marketplace offers only what the account chose to enable (with
/// its OAuth app where the integration needs one), never a new release's additions.
fn from_template(
    template: &IntegrationInput,
    account_id: &AccountId,
    now: i64,
) -> Result<Integration, FieldError> {
    let mut input = template.clone();
    input.status = IntegrationStatus::Inactive;
    let mut integration = input.into_integration(
        latchkey_domain::IntegrationId::generate(),
        account_id.clone(),
        Some(template.key.clone()),
        now,
    )?;
    integration.builtin_revision = Some(fingerprint(&integration));
    Ok(integration)
}

/// What an account's copy of a built-in defines, without what the account adds (status,
/// logo, OAuth apps), hashed: equal fingerprints mean an untouched definition.
pub fn fingerprint(integration: &Integration) -> String {
    let mut options = integration.auth_options.clone();
    for option in &mut options {
        if let Some(client) = option.method.client_mut() {
            *client = None;
        }
    }
    let definition = serde_json::json!([
        integration.key,
        integration.name,
        integration.description,
        integration.categories,
        integration.docs_url,
        integration.parameters,
        options,
        integration.api,
    ]);
    let digest = Sha256::digest(definition.to_string());
    hex::encode(&digest[..12])
}

/// Adds every built-in integration to a new account, in a few batched writes.
pub async fn seed_builtins(store: &Store, account_id: &AccountId) -> Result<usize, CatalogError> {
    let integrations = builtins()
        .iter()
        .map(|template| from_template(template, account_id, store.now()))
        .collect::<Result<Vec<_>, _>>()?;
    store.create_integrations(&integrations).await?;
    Ok(integrations.len())
}

/// What `catalog sync` did to one account, by built-in key.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Synced {
    /// Built-ins the account did not have.
    pub added: Vec<String>,
    /// Untouched built-ins whose definition the catalog changed.
    pub updated: Vec<String>,
    /// Already as the catalog has them.
    pub current: usize,
    /// Built-ins the account edited: left as they are.
    pub edited: Vec<String>,
    /// Built-ins whose key a custom integration of the account already uses.
    pub key_taken: Vec<String>,
}

/// Brings an account's built-ins up to this release's catalog: adds the missing ones and
/// replaces the definition of every untouched one, keeping its id, status, logo and OAuth
/// apps. What the account edited is never changed.
pub async fn sync_builtins(
    store: &Store,
    vault: &Vault,
    account_id: &AccountId,
) -> Result<Synced, CatalogError> {
    let mut by_key = std::collections::BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_integrations(account_id, None, 100, cursor.as_ref())
            .await?;
        for integration in page.items {
            by_key.insert(integration.value.key.clone(), integration);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut synced = Synced::default();
    let mut missing = Vec::new();
    for template in builtins() {
        let key = template.key.clone();
        let Some(current) = by_key.remove(&key) else {
            missing.push(from_template(template, account_id, store.now())?);
            synced.added.push(key);
            continue;
        };
        if current.value.builtin.as_deref() != Some(&key) {
            synced.key_taken.push(key);
            continue;
        }
        let fresh = from_template(template, account_id, store.now())?;
        let revision = fresh.builtin_revision.clone();
        let seen = fingerprint(&current.value);
        if Some(&seen) == revision.as_ref() {
            if current.value.builtin_revision != revision {
                // Written before revisions were kept, as the catalog still has it.
                let mut next = current.value.clone();
                next.builtin_revision = revision;
                store
                    .update_integration(&Versioned {
                        value: next,
                        version: current.version,
                    })
                    .await?;
            }
            synced.current += 1;
            continue;
        }
        if current.value.builtin_revision.as_ref() != Some(&seen) {
            synced.edited.push(key);
            continue;
        }
        update_builtin(store, vault, current, fresh).await?;
        synced.updated.push(key);
    }
    // One conditional create each: unlike a new account's, these keys may be taken
    // meanwhile by an integration the account creates.
    for integration in missing {
        match store.create_integration(&integration).await {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) => {
                synced.added.retain(|k| *k != integration.key);
                synced.key_taken.push(integration.key);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(synced)
}

/// `current` takes `fresh`'s definition and keeps what the account gave it.
async fn update_builtin(
    store: &Store,
    vault: &Vault,
    current: Versioned<Integration>,
    mut fresh: Integration,
) -> Result<(), CatalogError> {
    fresh.id = current.value.id.clone();
    fresh.status = current.value.status;
    fresh.logo = current.value.logo.clone();
    fresh.created_at = current.value.created_at;
    for option in &mut fresh.auth_options {
        let kept = current
            .value
            .auth_option(&option.key)
            .and_then(|o| o.method.client().cloned());
        if let (Some(slot), Some(client)) = (option.method.client_mut(), kept) {
            *slot = Some(client);
        }
    }
    require_apps_when_active(&fresh)?;
    store
        .update_integration(&Versioned {
            value: fresh.clone(),
            version: current.version,
        })
        .await?;
    let mut dropped = current.value;
    dropped.auth_options.retain(|o| {
        fresh
            .auth_option(&o.key)
            .is_none_or(|n| n.method.client().is_none())
    });
    forget_client_secrets(&dropped, vault).await?;
    Ok(())
}
