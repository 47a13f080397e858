//! Helpers for the workspace tests and benchmarks (feature `testing`).

use latchkey_domain::{AccountId, ConnectionId, IntegrationId};
use latchkey_store::Connections;

/// An OAuth 2.0 connection to `integration` (auth option `oauth`) stored directly, with a
/// refresh token and an access token that expires `expires_in` seconds from now and was
/// issued an hour before that. For tests and benchmarks that need many connections.
pub async fn oauth_connection(
    app: &crate::App,
    account_id: &AccountId,
    integration: &IntegrationId,
    expires_in: i64,
) -> ConnectionId {
    use latchkey_domain::Secret;
    use latchkey_domain::{Connection, ConnectionStatus, RefreshState};
    use latchkey_domain::{Credentials as Stored, SecretScope};

    let now = app.now();
    let id = latchkey_domain::ConnectionId::generate();
    let credentials = Stored::Oauth2 {
        access_token: Secret::new("old-access"),
        refresh_token: Some(Secret::new("old-refresh")),
        token_type: Some("Bearer".into()),
        scope: None,
        expires_at: Some(now + expires_in),
        client_id: None,
        client_secret: None,
    };
    let reference = app
        .vault
        .put(&SecretScope::new(account_id, &id), &credentials)
        .await
        .expect("store the credentials");
    let connection = Connection {
        id: id.clone(),
        account_id: account_id.clone(),
        consumer_id: "csm_bulk".into(),
        integration_id: integration.clone(),
        auth_option_key: "oauth".into(),
        name: "Bulk".into(),
        description: None,
        parameters: Default::default(),
        status: ConnectionStatus::Active,
        access_expires_at: Some(now + expires_in),
        access_issued_at: Some(now + expires_in - 3600),
        refreshable: true,
        metadata: Default::default(),
        refresh: RefreshState::default(),
        credentials: Some(reference),
        created_at: now,
        updated_at: now,
    };
    match app.store.create_connection(&connection).await {
        Ok(()) => {}
        // moto keeps no idempotency tokens: an SDK retry of a create that landed (a slow
        // attempt on a busy test server) finds its own item. DynamoDB answers it as done.
        Err(latchkey_store::StoreError::Duplicate("id"))
            if app
                .store
                .connection(account_id, &id)
                .await
                .is_ok_and(|found| found.is_some()) => {}
        Err(e) => panic!("store the connection: {e:?}"),
    }
    id
}
