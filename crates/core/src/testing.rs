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
    let connection = oauth_value(
        app,
        account_id,
        integration,
        expires_in,
        Some("old-refresh"),
    )
    .await;
    let id = connection.id.clone();
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

/// `count` connections like [`oauth_connection`]'s, the first `due` of them expiring in a
/// minute (due) and the rest in two hours, each with its own refresh token (`rt-{id}`,
/// so a provider can tell them apart), written in bulk batches: for benchmarks at scale.
pub async fn oauth_connections(
    app: &crate::App,
    account_id: &AccountId,
    integration: &IntegrationId,
    count: usize,
    due: usize,
) -> Vec<ConnectionId> {
    let mut ids = Vec::with_capacity(count);
    let mut batch = Vec::with_capacity(1000);
    for i in 0..count {
        let expires_in = if i < due { 60 } else { 7200 };
        let c = oauth_value(app, account_id, integration, expires_in, None).await;
        ids.push(c.id.clone());
        batch.push(c);
        if batch.len() == 1000 || i + 1 == count {
            latchkey_store::testing::put_connections(&app.store, &batch)
                .await
                .expect("store the connections");
            batch.clear();
        }
    }
    ids
}

fn oauth_credentials(expires_at: i64, refresh_token: &str) -> latchkey_domain::Credentials {
    use latchkey_domain::Secret;
    latchkey_domain::Credentials::Oauth2 {
        access_token: Secret::new("old-access"),
        refresh_token: Some(Secret::new(refresh_token)),
        token_type: Some("Bearer".into()),
        scope: None,
        expires_at: Some(expires_at),
        client_id: None,
        client_secret: None,
    }
}

/// The connection; its refresh token is `refresh_token`, else `rt-{id}`.
async fn oauth_value(
    app: &crate::App,
    account_id: &AccountId,
    integration: &IntegrationId,
    expires_in: i64,
    refresh_token: Option<&str>,
) -> latchkey_domain::Connection {
    use latchkey_domain::{Connection, ConnectionStatus, RefreshState, SecretScope};

    let now = app.now();
    let id = latchkey_domain::ConnectionId::generate();
    let refresh_token = refresh_token.map_or_else(|| format!("rt-{id}"), str::to_owned);
    let reference = app
        .vault
        .put(
            &SecretScope::new(account_id, &id),
            &oauth_credentials(now + expires_in, &refresh_token),
        )
        .await
        .expect("store the credentials");
    Connection {
        id,
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
    }
}
