//! The credential vault in both modes: `sealed` (AES-256-GCM, key file or a key held in
//! Secrets Manager) and `secretsmanager` (one secret per owner, through moto).

use latchkey_domain::AccountId;
use latchkey_domain::Secret;
use latchkey_domain::token::new_id;
use latchkey_domain::{Credentials, SecretRef, SecretScope};
use latchkey_store::testing as support;
use latchkey_vault::{DataKey, Keyring, SealingKey, SecretsManager, Vault, VaultError, VaultMode};

fn oauth(access: &str) -> Credentials {
    Credentials::Oauth2 {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new("refresh-1")),
        token_type: Some("Bearer".into()),
        scope: Some("read write".into()),
        expires_at: Some(1_800_003_600),
        client_id: None,
        client_secret: None,
    }
}

async fn secrets_manager() -> SecretsManager {
    secrets_manager_with(&support::sdk_config().await)
}

fn secrets_manager_with(config: &aws_config::SdkConfig) -> SecretsManager {
    SecretsManager::new(config, format!("latchkey/{}", new_id("test")))
}

/// Round trip, replacement, scope binding: the same contract for both modes.
async fn vault_contract(vault: &Vault) {
    let scope = SecretScope::new(&AccountId::generate(), new_id("con"));
    let stored = vault.put(&scope, &oauth("access-1")).await.unwrap();
    assert_eq!(vault.get(&scope, &stored).await.unwrap(), oauth("access-1"));

    let replaced = vault.put(&scope, &oauth("access-2")).await.unwrap();
    assert_eq!(
        vault.get(&scope, &replaced).await.unwrap(),
        oauth("access-2")
    );

    let other_connection = SecretScope::new(&scope.account_id.clone(), new_id("con"));
    let other_account = SecretScope::new(&AccountId::generate(), scope.owner_id.clone());
    for wrong in [&other_connection, &other_account] {
        assert!(matches!(
            vault.get(wrong, &replaced).await,
            Err(VaultError::Unopenable)
        ));
    }

    // Nothing secret in the reference's debug form.
    assert!(!format!("{replaced:?}").contains("access-2"));
}

#[tokio::test]
async fn sealed_vault_round_trips_and_binds_to_its_scope() {
    let vault = Vault::sealed(SealingKey::from_bytes([7; 32]));
    assert_eq!(vault.mode(), VaultMode::Sealed);
    vault_contract(&vault).await;
}

#[tokio::test]
async fn sealed_blobs_refuse_tampering_and_other_keys() {
    let scope = SecretScope::new("acc_1", "con_1");
    let vault = Vault::sealed(SealingKey::from_bytes([7; 32]));
    let SecretRef::Sealed { blob } = vault.put(&scope, &oauth("a")).await.unwrap() else {
        panic!("sealed mode makes sealed references")
    };
    let mut tampered = blob.clone().into_bytes();
    let i = tampered.len() - 5;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = SecretRef::Sealed {
        blob: String::from_utf8(tampered).unwrap(),
    };
    assert!(matches!(
        vault.get(&scope, &tampered).await,
        Err(VaultError::Unopenable)
    ));

    let other_key = Vault::sealed(SealingKey::from_bytes([8; 32]));
    let original = SecretRef::Sealed { blob: blob.clone() };
    assert!(matches!(
        other_key.get(&scope, &original).await,
        Err(VaultError::Unopenable)
    ));

    // Two seals of the same value differ (fresh nonce each time).
    let SecretRef::Sealed { blob: again } = vault.put(&scope, &oauth("a")).await.unwrap() else {
        panic!()
    };
    assert_ne!(blob, again);
    // Scope ids cannot be shifted across the separator.
    let shifted = SecretScope::new("acc_1c", "on_1");
    assert!(matches!(
        vault.get(&shifted, &original).await,
        Err(VaultError::Unopenable)
    ));
}

#[tokio::test]
async fn key_file_is_created_once_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/sealing.key");
    let scope = SecretScope::new("acc_1", "con_1");
    let first = Vault::sealed(Keyring::load_or_create(&path).unwrap());
    let stored = first.put(&scope, &oauth("a")).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A second start reads the same key instead of replacing it.
    let second = Vault::sealed(Keyring::load_or_create(&path).unwrap());
    assert_eq!(second.get(&scope, &stored).await.unwrap(), oauth("a"));
}

#[tokio::test]
async fn secrets_manager_vault_round_trips_and_binds_to_its_scope() {
    let vault = Vault::secrets_manager(secrets_manager().await, None);
    assert_eq!(vault.mode(), VaultMode::SecretsManager);
    vault_contract(&vault).await;
}

#[tokio::test]
async fn secrets_manager_keeps_one_secret_per_owner_and_deletes_it() {
    let manager = secrets_manager().await;
    let vault = Vault::secrets_manager(manager, None);
    let scope = SecretScope::new(&AccountId::generate(), new_id("con"));
    let first = vault.put(&scope, &oauth("a")).await.unwrap();
    let second = vault.put(&scope, &oauth("b")).await.unwrap();
    let (
        SecretRef::SecretsManager {
            name,
            version: Some(v1),
        },
        SecretRef::SecretsManager {
            name: name2,
            version: Some(v2),
        },
    ) = (&first, &second)
    else {
        panic!("versioned references: {first:?} {second:?}")
    };
    assert_eq!(name, name2, "one secret per owner");
    assert_ne!(v1, v2, "a new version on each write");
    assert!(
        name.ends_with(&format!("/{}/{}", scope.account_id, scope.owner_id)),
        "{name}"
    );

    vault.delete(&scope, &first).await.unwrap();
    assert!(matches!(
        vault.get(&scope, &first).await,
        Err(VaultError::Missing)
    ));
    // Deleting again is not an error: disconnect is idempotent.
    vault.delete(&scope, &first).await.unwrap();
}

/// `put_new` (a new connection's credentials) creates the secret first; when it exists
/// after all it still writes a new version, which the reference then reads.
#[tokio::test]
async fn put_new_creates_the_secret_or_writes_a_new_version_of_an_existing_one() {
    let sealed = Vault::sealed(SealingKey::from_bytes([7; 32]));
    let managed = Vault::secrets_manager(secrets_manager().await, None);
    for vault in [&sealed, &managed] {
        let scope = SecretScope::new(&AccountId::generate(), new_id("con"));
        let first = vault.put_new(&scope, &oauth("new-1")).await.unwrap();
        assert_eq!(vault.get(&scope, &first).await.unwrap(), oauth("new-1"));
        let again = vault.put_new(&scope, &oauth("new-2")).await.unwrap();
        assert_eq!(vault.get(&scope, &again).await.unwrap(), oauth("new-2"));
        assert_eq!(
            vault.get(&scope, &first).await.unwrap(),
            oauth("new-1"),
            "{:?}: a reference keeps reading its own version",
            vault.mode()
        );
    }
}

/// A re-authorisation and a refresh both write the secret; only one wins the connection
/// item's conditional update. Whatever order their secret writes took, the item's
/// reference reads the winner's credentials, and `AWSCURRENT` goes back to them.
#[tokio::test]
async fn secrets_manager_reads_the_version_the_item_names_whatever_was_written_after() {
    let config = support::sdk_config().await;
    let vault = Vault::secrets_manager(secrets_manager_with(&config), None);
    let scope = SecretScope::new(&AccountId::generate(), new_id("con"));
    let reauthorised = vault.put(&scope, &oauth("from-reauth")).await.unwrap();
    let late_refresh = vault.put(&scope, &oauth("from-old-grant")).await.unwrap();
    assert_eq!(
        vault.get(&scope, &reauthorised).await.unwrap(),
        oauth("from-reauth"),
        "the later write does not change what the winner's reference reads"
    );
    assert_eq!(
        vault.get(&scope, &late_refresh).await.unwrap(),
        oauth("from-old-grant")
    );

    let SecretRef::SecretsManager {
        name,
        version: Some(kept),
    } = &reauthorised
    else {
        panic!("a versioned reference: {reauthorised:?}")
    };
    // References written before versions were recorded read AWSCURRENT: the last write.
    let legacy = SecretRef::SecretsManager {
        name: name.clone(),
        version: None,
    };
    assert_eq!(
        vault.get(&scope, &legacy).await.unwrap(),
        oauth("from-old-grant")
    );

    vault
        .yield_to(&scope, &late_refresh, &reauthorised)
        .await
        .unwrap();
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let versions = client
        .list_secret_version_ids()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    let current: Vec<&str> = versions
        .versions()
        .iter()
        .filter(|v| v.version_stages().iter().any(|s| s == "AWSCURRENT"))
        .filter_map(|v| v.version_id())
        .collect();
    assert_eq!(
        current,
        [kept.as_str()],
        "AWSCURRENT is back on the version in use"
    );
}

#[tokio::test]
async fn sealed_mode_reads_its_key_from_secrets_manager_on_first_use() {
    let config = support::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let key_name = format!("latchkey/{}/data-key", new_id("test"));
    let manager = SecretsManager::new(&config, "latchkey/unused");
    let scope = SecretScope::new("acc_1", "con_1");
    // Built before its key secret exists (a cold start makes no call for it); the first
    // use that finds no key fails and is not remembered.
    let a = Vault::sealed(DataKey::managed(manager.clone(), &key_name));
    assert!(matches!(
        a.put(&scope, &oauth("a")).await,
        Err(VaultError::Backend(_))
    ));
    client
        .create_secret()
        .name(&key_name)
        .secret_string(SealingKey::generate_base64())
        .send()
        .await
        .unwrap();
    let stored = a.put(&scope, &oauth("a")).await.unwrap();
    let b = Vault::sealed(DataKey::managed(manager.clone(), &key_name));
    assert_eq!(b.get(&scope, &stored).await.unwrap(), oauth("a"));

    // A generated password (CloudFormation's GenerateSecretString) works as key material.
    let generated = format!("latchkey/{}/generated", new_id("test"));
    let password = "Q7dNf0aZk3LmP9sXc2VbR8tYh4JgW6eUq1IoA5zSx0CvB7nMl3Kj".to_owned() + "9HgF";
    client
        .create_secret()
        .name(&generated)
        .secret_string(&password)
        .send()
        .await
        .unwrap();
    let g1 = Vault::sealed(manager.keyring(&generated).await.unwrap());
    let g2 = Vault::sealed(manager.keyring(&generated).await.unwrap());
    assert_eq!(
        g2.get(&scope, &g1.put(&scope, &oauth("g")).await.unwrap())
            .await
            .unwrap(),
        oauth("g")
    );
    assert!(matches!(
        a.get(&scope, &g1.put(&scope, &oauth("g")).await.unwrap())
            .await,
        Err(VaultError::Unopenable)
    ));

    // A secretsmanager-mode vault that also holds the key still opens sealed secrets.
    let migrated = Vault::secrets_manager(
        secrets_manager().await,
        Some(DataKey::managed(manager.clone(), &key_name)),
    );
    assert_eq!(migrated.get(&scope, &stored).await.unwrap(), oauth("a"));
}

/// A data-key rotation: the new key seals, the retired one still opens what it sealed
/// (blobs of earlier releases too, which name no key), and a warm vault whose keyring
/// predates the rotation opens what the new key sealed by reading its keys again.
#[tokio::test]
async fn a_rotated_data_key_keeps_every_sealed_secret_open() {
    let scope = SecretScope::new("acc_1", "con_1");
    let old = SealingKey::generate_base64();
    let new = SealingKey::generate_base64();
    let before = Vault::sealed(Keyring::from_text(&old).unwrap());
    let sealed_before = before.put(&scope, &oauth("old")).await.unwrap();
    let both = Vault::sealed(Keyring::from_text(&format!("{new}\n{old}")).unwrap());
    assert_eq!(
        both.get(&scope, &sealed_before).await.unwrap(),
        oauth("old")
    );
    let sealed_after = both.put(&scope, &oauth("new")).await.unwrap();
    let (SecretRef::Sealed { blob: b1 }, SecretRef::Sealed { blob: b2 }) =
        (&sealed_before, &sealed_after)
    else {
        panic!("sealed references");
    };
    let keys = both.keyring().await.unwrap();
    assert_eq!(latchkey_vault::key_id(b2), Some(keys.ids()[0]));
    assert!(keys.is_retired(b1) && !keys.is_retired(b2));
    // An earlier release's blob (`v1.`, no key id) opens with whichever key sealed it.
    let (_, body) = b1.strip_prefix("v2.").unwrap().split_once('.').unwrap();
    let v1 = SecretRef::Sealed {
        blob: format!("v1.{body}"),
    };
    assert_eq!(both.get(&scope, &v1).await.unwrap(), oauth("old"));
    // Retired: only the new key is left.
    let after = Vault::sealed(Keyring::from_text(&new).unwrap());
    assert!(matches!(
        after.get(&scope, &sealed_before).await,
        Err(VaultError::Unopenable)
    ));
    assert_eq!(
        after.get(&scope, &sealed_after).await.unwrap(),
        oauth("new")
    );

    // Managed: a warm vault reads the rotated secret when a blob names a key it lacks.
    let config = support::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let key_name = format!("latchkey/{}/data-key", new_id("test"));
    client
        .create_secret()
        .name(&key_name)
        .secret_string(&old)
        .send()
        .await
        .unwrap();
    let manager = SecretsManager::new(&config, "latchkey/unused");
    let warm = Vault::sealed(DataKey::managed(manager.clone(), &key_name));
    assert_eq!(
        warm.get(&scope, &sealed_before).await.unwrap(),
        oauth("old")
    );
    manager
        .set_data_key_text(&key_name, &format!("{new}\n{old}"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(warm.get(&scope, &sealed_after).await.unwrap(), oauth("new"));
}
