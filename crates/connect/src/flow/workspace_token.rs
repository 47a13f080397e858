//! Workspace tokens: an HS256 JWT the vendor signs with its account's secret to open the
//! popup for one consumer without an activation link (Integration.App style).
//! Claims: `iss` = account id, `sub` = consumer id or the consumer's internal reference,
//! `exp` required and at most 15 minutes ahead, `jti` required and usable once; `name` and
//! `email` describe a consumer the account lets tokens create (`auto_create_consumers`).
//! What the popup may do can be signed too: `integrationId` or `integrationKey`,
//! `connectionId` (re-authorise that connection; never taken from the unsigned query) and
//! `allowMultipleConnections`. The start exchanges the token for an activation of its own,
//! so the JWT appears in no later link or cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use latchkey_store::{Accounts, Consumers, Links};
use serde::Deserialize;

use latchkey_core::App;
use latchkey_core::consumers::{FirstUseError, first_use};
use latchkey_domain::FlowError;
use latchkey_domain::token::token_hash;
use latchkey_domain::{Account, AccountId, Consumer, ConsumerId, NewConsumer};
use latchkey_domain::{Credentials, Secret, SecretRef, SecretScope};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

pub use latchkey_core::accounts::JWT_SECRET_OWNER;

const MAX_LIFETIME_SECONDS: i64 = 15 * 60;

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    exp: i64,
    jti: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, rename = "integrationId")]
    integration_id: Option<String>,
    #[serde(default, rename = "integrationKey")]
    integration_key: Option<String>,
    #[serde(default, rename = "connectionId")]
    connection_id: Option<String>,
    #[serde(default, rename = "allowMultipleConnections")]
    allow_multiple_connections: Option<bool>,
}

/// What a verified token allows, from its signed claims.
#[derive(Debug, Clone, Default)]
pub struct Signed {
    pub integration_id: Option<String>,
    pub integration_key: Option<String>,
    pub connection_id: Option<String>,
    pub allow_multiple_connections: Option<bool>,
}

/// Accounts' signing keys by vault reference, for this instance. A reference names its
/// version, so a rotated secret is another entry and never served stale; a forged token for
/// an account whose key is warm costs no vault call (in `secretsmanager` mode, a paid one).
static SIGNING_KEYS: LazyLock<Mutex<HashMap<String, (Instant, Secret)>>> =
    LazyLock::new(Mutex::default);
const SIGNING_KEY_TTL: Duration = Duration::from_secs(300);
const SIGNING_KEYS_KEPT: usize = 1024;

async fn signing_key(
    app: &App,
    account: &AccountId,
    reference: &SecretRef,
) -> Result<Secret, FlowError> {
    let entry = token_hash(&format!(
        "{account}\n{}",
        serde_json::to_string(reference).map_err(FlowError::internal)?
    ));
    let cached = |keys: &HashMap<String, (Instant, Secret)>| {
        keys.get(&entry)
            .filter(|(at, _)| at.elapsed() < SIGNING_KEY_TTL)
            .map(|(_, key)| key.clone())
    };
    if let Some(key) = cached(&SIGNING_KEYS.lock().expect("not poisoned")) {
        return Ok(key);
    }
    let Credentials::SigningKey { key } = app
        .vault
        .get(&SecretScope::new(account, JWT_SECRET_OWNER), reference)
        .await?
    else {
        return Err(FlowError::InvalidLink);
    };
    let mut keys = SIGNING_KEYS.lock().expect("not poisoned");
    if keys.len() >= SIGNING_KEYS_KEPT {
        keys.retain(|_, (at, _)| at.elapsed() < SIGNING_KEY_TTL);
        if keys.len() >= SIGNING_KEYS_KEPT {
            keys.clear();
        }
    }
    keys.insert(entry, (Instant::now(), key.clone()));
    Ok(key)
}

/// Whether a popup `token` is a JWT rather than an activation token.
pub fn looks_like_jwt(token: &str) -> bool {
    token.matches('.').count() == 2
}

/// Verifies the token, uses up its `jti`, and returns the account and consumer it names
/// with what it signed. Every failure is the same `InvalidLink`: the browser learns
/// nothing about why.
pub async fn verify(app: &App, token: &str) -> Result<(Account, Consumer, Signed), FlowError> {
    // The issuer picks the key; nothing else is trusted before the signature is checked.
    let payload = token.split('.').nth(1).ok_or(FlowError::InvalidLink)?;
    let unverified: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(FlowError::InvalidLink)?;
    let account = app
        .store
        .account(&AccountId::from(unverified.iss.as_str()))
        .await?
        .ok_or(FlowError::InvalidLink)?
        .value;
    let reference = account.jwt_secret.as_ref().ok_or(FlowError::InvalidLink)?;
    let key = signing_key(app, &account.id, reference).await?;
    let mut validation = Validation::new(Algorithm::HS256);
    // Expiry is checked against the app's clock below (injectable in tests).
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "jti"]);
    let claims = decode::<Claims>(
        token,
        &DecodingKey::from_secret(key.expose().as_bytes()),
        &validation,
    )
    .map_err(|_| FlowError::InvalidLink)?
    .claims;
    let now = app.now();
    if account.id != claims.iss.as_str()
        || claims.exp <= now
        || claims.exp > now + MAX_LIFETIME_SECONDS
        || claims.jti.is_empty()
        || claims.jti.len() > 256
    {
        return Err(FlowError::InvalidLink);
    }
    // Once only: a URL seen by someone else (a log, a proxy, a shoulder) opens nothing.
    if !app
        .store
        .use_jti(&account.id, &token_hash(&claims.jti), claims.exp)
        .await?
    {
        return Err(FlowError::InvalidLink);
    }
    let signed = Signed {
        integration_id: claims.integration_id,
        integration_key: claims.integration_key,
        connection_id: claims.connection_id,
        allow_multiple_connections: claims.allow_multiple_connections,
    };
    let consumer = if claims.sub.starts_with("csm_") {
        let id = ConsumerId::from(claims.sub.as_str());
        app.store.consumer(&account.id, &id).await?.map(|v| v.value)
    } else {
        match app
            .store
            .consumer_by_reference(&account.id, &claims.sub)
            .await?
        {
            Some(found) => Some(found.value),
            // The claims are signed by the vendor: they describe the consumer to create.
            None if account.auto_create_consumers => {
                let input = NewConsumer {
                    name: claims.name.unwrap_or_default(),
                    email: claims.email,
                    ..NewConsumer::default()
                };
                // Claims that make no valid consumer are an unusable token; a store
                // failure is ours and stays an internal error.
                let created = first_use(app, &account.id, &claims.sub, input).await;
                Some(created.map_err(|e| match e {
                    FirstUseError::Invalid(_) => FlowError::InvalidLink,
                    FirstUseError::Store(e) => e.into(),
                })?)
            }
            None => None,
        }
    };
    Ok((account, consumer.ok_or(FlowError::InvalidLink)?, signed))
}
