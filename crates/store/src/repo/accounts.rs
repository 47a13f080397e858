//! Accounts and their API keys.

use super::{Store, Versioned, encode};
use crate::{Record, StoreResult, keys};
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
    fn api_key(&self, hash: &str) -> impl Future<Output = StoreResult<Option<ApiKey>>> + Send;
}

fn account_record(account: &Account) -> Record {
    Record::new(keys::account(&account.id), "account", encode(account))
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
        let record = Record::new(keys::api_key(&key.hash), "api_key", encode(key))
            .lookup(keys::api_keys_lookup(&key.account_id), &key.id);
        self.create(vec![record], "key").await
    }

    async fn api_key(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        let found: Option<Versioned<ApiKey>> = self.get(keys::api_key(hash), "api_key").await?;
        Ok(found.map(|v| v.value))
    }
}
