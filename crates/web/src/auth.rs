use crate::{ApiError, Request};
use latchkey_core::App;
use latchkey_domain::AccountId;
use latchkey_domain::token::token_hash;
use latchkey_store::Accounts;

/// The id of the account whose API key is in `Authorization: Bearer …`. Keys are looked
/// up by their SHA-256, so the stored form cannot be replayed and no comparison leaks
/// timing. One read: the key names its account, and accounts are never deleted, so most
/// routes need not read the account itself.
pub async fn authenticate(request: &Request, app: &App) -> Result<AccountId, ApiError> {
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
    let api_key = app
        .store
        .api_key(&token_hash(key))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    tracing::Span::current().record("account_id", api_key.account_id.as_str());
    Ok(api_key.account_id)
}
