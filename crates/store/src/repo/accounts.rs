//! Accounts and their API keys.

use super::{Store, Versioned, encode};
use crate::{Condition, Query, Record, StoreResult, WriteOp, keys};
use latchkey_domain::{Account, AccountId, ApiKey};

pub trait Accounts {
    fn create_account(&self, account: &Account) -> impl Future<Output = StoreResult<()>> + Send;
    fn account(
        &self,
        id: &AccountId,
    ) -> impl Future<Output = StoreResult<Option<Versioned<Account>>>> + Send;
    /// Replaces the account if it is still at `current.version`.
    fn update_account(
        &self,
        current: &Versioned<Account>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    fn create_api_key(&self, key: &ApiKey) -> impl Future<Output = StoreResult<()>> + Send;
    /// The API key with this SHA-256 hash.
    fn api_key(
        &self,
        hash: &str,
    ) -> impl Future<Output = StoreResult<Option<Versioned<ApiKey>>>> + Send;
    /// Every key of the account, oldest id first (the `lookup` index; keys are few).
    fn api_keys(
        &self,
        account_id: &AccountId,
    ) -> impl Future<Output = StoreResult<Vec<Versioned<ApiKey>>>> + Send;
    /// Rewrites a key (its `last_used_at`) if it is still there, unchanged.
    fn update_api_key(
        &self,
        current: &Versioned<ApiKey>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Revokes a key: the next request with it finds nothing.
    fn delete_api_key(&self, key: &ApiKey) -> impl Future<Output = StoreResult<()>> + Send;
    /// Every account, oldest id first. An account written before accounts were listed
    /// appears after its next write (`latchkey reindex`).
    fn accounts(&self) -> impl Future<Output = StoreResult<Vec<Versioned<Account>>>> + Send;
}

fn api_key_record(key: &ApiKey) -> Record {
    Record::new(keys::api_key(&key.hash), "api_key", encode(key))
        .lookup(keys::api_keys_lookup(&key.account_id), &key.id)
}

fn account_record(account: &Account) -> Record {
    Record::new(keys::account(&account.id), "account", encode(account))
        .lookup(keys::ACCOUNTS_LOOKUP.to_owned(), account.id.as_str())
}

impl Accounts for Store {
    async fn create_account(&self, account: &Account) -> StoreResult<()> {
        self.create(vec![account_record(account)], "id").await
    }

    async fn account(&self, id: &AccountId) -> StoreResult<Option<Versioned<Account>>> {
        self.get(keys::account(id), "account").await
    }

    async fn update_account(&self, current: &Versioned<Account>) -> StoreResult<u64> {
        self.replace(account_record(&current.value), current.version, vec![])
            .await
    }

    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        self.create(vec![api_key_record(key)], "key").await
    }

    async fn api_key(&self, hash: &str) -> StoreResult<Option<Versioned<ApiKey>>> {
        self.get(keys::api_key(hash), "api_key").await
    }

    async fn api_keys(&self, account_id: &AccountId) -> StoreResult<Vec<Versioned<ApiKey>>> {
        self.everything(keys::api_keys_lookup(account_id), "api_key")
            .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Versioned<Account>>> {
        self.everything(keys::ACCOUNTS_LOOKUP.to_owned(), "account")
            .await
    }

    async fn update_api_key(&self, current: &Versioned<ApiKey>) -> StoreResult<()> {
        self.replace(api_key_record(&current.value), current.version, vec![])
            .await
            .map(drop)
    }

    async fn delete_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        self.write(vec![WriteOp::Delete(
            keys::api_key(&key.hash),
            Condition::Always,
        )])
        .await
    }
}

impl Store {
    /// Every item of a `lookup` partition, page after page.
    async fn everything<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        kind: &str,
    ) -> StoreResult<Vec<Versioned<T>>> {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let query = Query::Lookup {
                pk: pk.clone(),
                sk_prefix: String::new(),
            };
            let page = self.list(query, kind, 100, cursor.as_ref()).await?;
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }
}
