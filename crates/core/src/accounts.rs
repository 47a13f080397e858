//! Creating accounts and API keys (CLI and the local gateway's first start).

use crate::catalog::{CatalogError, seed_builtins};
use latchkey_domain::Secret;
use latchkey_domain::token::{new_id, new_token, token_hash};
use latchkey_domain::{Account, AccountId, ApiKey};
use latchkey_store::Accounts;
use latchkey_store::{Store, StoreError};
use latchkey_vault::Vault;

/// A fresh API key for `account_id`. The key is returned once and stored only as its hash.
pub async fn create_api_key(
    store: &Store,
    account_id: &AccountId,
    label: Option<String>,
) -> Result<(ApiKey, Secret), StoreError> {
    let secret = new_token("lk");
    let key = ApiKey {
        id: new_id("key"),
        account_id: account_id.clone(),
        hash: token_hash(secret.expose()),
        label,
        created_at: store.now(),
    };
    store.create_api_key(&key).await?;
    Ok((key, secret))
}

/// A new account with the built-in catalog and one API key.
pub async fn create_account(
    store: &Store,
    vault: &Vault,
    name: &str,
) -> Result<(Account, Secret), CatalogError> {
    let account = Account::new(
        latchkey_domain::AccountId::generate(),
        name.trim().to_owned(),
        store.now(),
    );
    account.validate()?;
    store.create_account(&account).await?;
    seed_builtins(store, vault, &account.id).await?;
    let (_, secret) = create_api_key(store, &account.id, Some("initial".into())).await?;
    Ok((account, secret))
}
