//! Re-sealing after a data-key rotation (`latchkey vault rotate-key`): every secret of an
//! account sealed under a retired key (its account's webhook and workspace-token secrets,
//! its integrations' client secrets, its connections' credentials) is opened and sealed
//! again under the current one. A secret rewritten meanwhile by someone else (a refresh)
//! was sealed with the current key already; it counts as `changed` and the next pass
//! looks at it again.

use latchkey_domain::{AccountId, ClientSecret, Credentials, SecretRef, SecretScope};
use latchkey_store::{Accounts, Connections, Integrations, StoreError, StoreResult};
use latchkey_vault::{Keyring, VaultError};
use serde::Serialize;

use crate::App;
use crate::accounts::JWT_SECRET_OWNER;
use crate::webhooks::WEBHOOK_SECRET_OWNER;

/// What one pass over an account did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resealed {
    /// Secrets sealed again under the current key.
    pub resealed: usize,
    /// Already under the current key (or not sealed: Secrets Manager).
    pub current: usize,
    /// Changed by another writer during the pass: look again.
    pub changed: usize,
}

impl Resealed {
    pub fn add(&mut self, other: Resealed) {
        self.resealed += other.resealed;
        self.current += other.current;
        self.changed += other.changed;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Re-seals everything of `account_id` not sealed under `keys`' current key.
pub async fn reseal_account(
    app: &App,
    keys: &Keyring,
    account_id: &AccountId,
) -> Result<Resealed, RekeyError> {
    let mut done = Resealed::default();
    // The account's signing secrets.
    if let Some(mut account) = app.store.account(account_id).await? {
        let mut moved = false;
        for (owner, slot) in [
            (WEBHOOK_SECRET_OWNER, &mut account.value.webhook_secret),
            (JWT_SECRET_OWNER, &mut account.value.jwt_secret),
        ] {
            let scope = SecretScope::new(account_id, owner);
            moved |= reseal(app, keys, &scope, slot, &mut done).await?;
        }
        if moved {
            settle(app.store.update_account(&account).await, &mut done)?;
        }
    }
    // Integrations' OAuth app secrets.
    let mut cursor = None;
    loop {
        let page = app
            .store
            .list_integrations(account_id, None, 100, cursor.as_ref())
            .await?;
        for mut integration in page.items {
            let id = integration.value.id.clone();
            let mut moved = false;
            for option in &mut integration.value.auth_options {
                let scope = SecretScope::new(account_id, format!("{id}.{}", option.key));
                if let Some(Some(client)) = option.method.client_mut()
                    && let Some(ClientSecret::Stored(reference)) = &mut client.client_secret
                {
                    let mut slot = Some(reference.clone());
                    if reseal(app, keys, &scope, &mut slot, &mut done).await? {
                        *reference = slot.expect("resealed");
                        moved = true;
                    }
                }
            }
            if moved {
                settle(app.store.update_integration(&integration).await, &mut done)?;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // Connections' credentials.
    let mut failure = None;
    crate::status::each_connection(&app.store, account_id, async |mut connection| {
        let scope = SecretScope::new(account_id, &connection.value.id);
        match reseal(
            app,
            keys,
            &scope,
            &mut connection.value.credentials,
            &mut done,
        )
        .await
        {
            Ok(true) => settle(
                app.store.update_connection(&connection).await.map(drop),
                &mut done,
            ),
            Ok(false) => Ok(()),
            Err(e) => {
                failure = Some(e);
                Ok(())
            }
        }
    })
    .await?;
    match failure {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// Seals the secret in `slot` again when a retired key sealed it; `true` when it did.
async fn reseal(
    app: &App,
    keys: &Keyring,
    scope: &SecretScope,
    slot: &mut Option<SecretRef>,
    done: &mut Resealed,
) -> Result<bool, RekeyError> {
    let Some(SecretRef::Sealed { blob }) = slot.as_ref() else {
        done.current += usize::from(slot.is_some());
        return Ok(false);
    };
    if !keys.is_retired(blob) {
        done.current += 1;
        return Ok(false);
    }
    let credentials: Credentials = app.vault.get(scope, slot.as_ref().expect("sealed")).await?;
    *slot = Some(app.vault.put(scope, &credentials).await?);
    Ok(true)
}

/// A re-sealed item's write: written, or changed meanwhile (counted, looked at again).
fn settle<T>(written: StoreResult<T>, done: &mut Resealed) -> StoreResult<()> {
    match written {
        Ok(_) => {
            done.resealed += 1;
            Ok(())
        }
        Err(StoreError::Stale) => {
            done.changed += 1;
            Ok(())
        }
        Err(e) => Err(e),
    }
}
