//! Test services, for this crate's tests and the workspace tests (feature `testing`).
//! The AWS wire APIs come from a moto server that `tests/run` starts on loopback and names
//! in `LATCHKEY_TEST_AWS_ENDPOINT`. Without it these tests fail loudly: a skipped store
//! test would look like a passing one.

use std::sync::Arc;

use crate::store::dynamo::DynamoTable;
use crate::store::sqlite::SqliteTable;
use crate::store::{Store, Table};
use crate::token::new_id;
use crate::{Clock, ManualClock};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;

pub const ENDPOINT_VAR: &str = "LATCHKEY_TEST_AWS_ENDPOINT";

pub fn aws_endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set: the DynamoDB and Secrets Manager tests need the moto \
             server that `tests/run` installs and starts. Run the suite with `tests/run`."
        )
    })
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(aws_endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "latchkey-tests",
        ))
        .load()
        .await
}

/// A fresh DynamoDB table with a unique name, created through the production code path.
pub async fn dynamo_table() -> Arc<dyn Table> {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = DynamoTable::new(client, new_id("lk-test").replace('_', "-"));
    table.create_table().await.expect("create the test table");
    Arc::new(table)
}

pub async fn sqlite_table() -> Arc<dyn Table> {
    Arc::new(SqliteTable::in_memory().expect("open an in-memory database"))
}

pub const T0: i64 = 1_800_000_000;

pub fn store(table: Arc<dyn Table>) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let store = Store::new(table, clock.clone() as Arc<dyn Clock>);
    (store, clock)
}

/// An OAuth 2.0 connection to `integration` (auth option `oauth`) stored directly, with a
/// refresh token and an access token that expires `expires_in` seconds from now and was
/// issued an hour before that. For tests and benchmarks that need many connections.
pub async fn oauth_connection(
    app: &crate::app::App,
    account_id: &str,
    integration: &str,
    expires_in: i64,
) -> String {
    use crate::Secret;
    use crate::domain::{Connection, ConnectionStatus, RefreshState};
    use crate::vault::{Credentials as Stored, SecretScope};

    let now = app.store.now();
    let id = new_id("con");
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
        account_id: account_id.to_owned(),
        consumer_id: "csm_bulk".into(),
        integration_id: integration.to_owned(),
        auth_option_key: "oauth".into(),
        name: "Bulk".into(),
        parameters: Default::default(),
        status: ConnectionStatus::Active,
        access_expires_at: Some(now + expires_in),
        access_issued_at: Some(now + expires_in - 3600),
        refreshable: true,
        refresh: RefreshState::default(),
        credentials: Some(reference),
        created_at: now,
        updated_at: now,
    };
    app.store
        .create_connection(&connection)
        .await
        .expect("store the connection");
    id
}
