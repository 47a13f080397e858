use crate::{ApiError, Operation, Request};
use latchkey_core::App;
use latchkey_domain::AccountId;
use latchkey_domain::error::Chain;
use latchkey_domain::token::token_hash;
use latchkey_store::Accounts;
use latchkey_store::StoreError;

/// An account signed in to the console, on a request the console makes of an API handler
/// in its own process. A request extension, which no client can send: it stands for a
/// full-scope key of that account (only those open console sessions).
#[derive(Debug, Clone)]
pub struct SignedIn(pub AccountId);

/// The id of the account whose API key is in `Authorization: Bearer …` (or [`SignedIn`]). Keys are looked
/// up by their SHA-256, so the stored form cannot be replayed and no comparison leaks
/// timing. One read: the key names its account, and accounts are never deleted, so most
/// routes need not read the account itself.
/// The key must be live (not expired; revoked keys are gone) and allow `operation`'s
/// scope (403 naming it otherwise). Its use is written down at most every five minutes.
pub async fn authenticate(
    request: &Request,
    app: &App,
    operation: Operation,
) -> Result<AccountId, ApiError> {
    if let Some(SignedIn(account_id)) = request.extensions().get::<SignedIn>() {
        tracing::Span::current().record("account_id", account_id.as_str());
        return Ok(account_id.clone());
    }
    let key = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    let now = app.now();
    let found = app
        .store
        .api_key(&token_hash(key))
        .await?
        .filter(|k| k.value.live(now))
        .ok_or(ApiError::Unauthorized)?;
    let api_key = &found.value;
    tracing::Span::current().record("account_id", api_key.account_id.as_str());
    let scope = operation.scope();
    if !api_key.allows(scope) {
        return Err(ApiError::Forbidden(scope));
    }
    if api_key.use_worth_recording(now) {
        let mut used = found.clone();
        used.value.last_used_at = Some(now);
        // Another request recording the same use first is fine.
        match app.store.update_api_key(&used).await {
            Ok(()) | Err(StoreError::Stale) => {}
            Err(e) => tracing::warn!(error = %Chain(&e), "API key use not recorded"),
        }
    }
    Ok(api_key.account_id.clone())
}
