//! Creating accounts and API keys (CLI and the local gateway's first start).

use crate::catalog::{CatalogError, seed_builtins};
use latchkey_api::Timestamp;
use latchkey_domain::Secret;
use latchkey_domain::token::{new_id, new_token, token_hash};
use latchkey_domain::{Account, AccountId, ApiKey, FieldError, KeyScope, NewApiKey};
use latchkey_store::Accounts;
use latchkey_store::{Store, StoreError};

/// The vault owner id of an account's workspace-token secret.
pub const JWT_SECRET_OWNER: &str = "workspace-jwt";

/// Why a key could not be created or revoked.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("API key not found")]
    NotFound,
    /// Revoking it would leave the account with no key that can manage it.
    #[error("this is the account's last full-scope key: create another first, or pass force=true")]
    LastFullKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A fresh API key for `account_id`. The key is returned once and stored only as its hash.
pub async fn create_api_key(
    store: &Store,
    account_id: &AccountId,
    input: NewApiKey,
) -> Result<(ApiKey, Secret), KeyError> {
    let now = store.now();
    let expires_at = match &input.expires_at {
        None => None,
        Some(text) => match Timestamp::parse(text) {
            Some(t) if t.0 > now => Some(t.0),
            _ => {
                return Err(FieldError::new(
                    "expires_at",
                    "must be an RFC 3339 time in the future, e.g. 2027-01-31T00:00:00Z",
                )
                .into());
            }
        },
    };
    let mut scopes = input.scopes.unwrap_or_else(|| vec![KeyScope::Full]);
    scopes.sort();
    scopes.dedup();
    let secret = new_token("lk");
    let key = ApiKey {
        id: new_id("key"),
        account_id: account_id.clone(),
        hash: token_hash(secret.expose()),
        label: input.label.map(|l| l.trim().to_owned()),
        scopes,
        expires_at,
        last_used_at: None,
        created_at: now,
    };
    key.validate()?;
    store.create_api_key(&key).await?;
    Ok((key, secret))
}

/// Revokes the account's key `id`, effective on the next request. The account's last
/// working full-scope key is kept unless `force`: without one, nobody can manage it.
pub async fn revoke_api_key(
    store: &Store,
    account_id: &AccountId,
    id: &str,
    force: bool,
) -> Result<ApiKey, KeyError> {
    let now = store.now();
    let keys = store.api_keys(account_id).await?;
    let key = keys
        .iter()
        .find(|k| k.value.id == id)
        .ok_or(KeyError::NotFound)?
        .value
        .clone();
    let full = |k: &ApiKey| k.live(now) && k.scopes.contains(&KeyScope::Full);
    let others_full = keys.iter().any(|k| k.value.id != id && full(&k.value));
    if full(&key) && !others_full && !force {
        return Err(KeyError::LastFullKey);
    }
    store.delete_api_key(&key).await?;
    Ok(key)
}

/// A new account with the built-in catalog and one API key.
pub async fn create_account(store: &Store, name: &str) -> Result<(Account, Secret), CatalogError> {
    let account = Account::new(
        latchkey_domain::AccountId::generate(),
        name.trim().to_owned(),
        store.now(),
    );
    account.validate()?;
    store.create_account(&account).await?;
    seed_builtins(store, &account.id).await?;
    let first = NewApiKey {
        label: Some("initial".into()),
        ..NewApiKey::default()
    };
    let (_, secret) = create_api_key(store, &account.id, first)
        .await
        .map_err(|e| match e {
            KeyError::Store(e) => CatalogError::from(e),
            KeyError::Invalid(e) => CatalogError::from(e),
            KeyError::NotFound | KeyError::LastFullKey => unreachable!("creating revokes nothing"),
        })?;
    Ok((account, secret))
}
