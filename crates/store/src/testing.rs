//! Test services, for this crate's tests and the workspace tests (feature `testing`).
//! The AWS wire APIs come from a moto server that `tests/run` starts on loopback and names
//! in `LATCHKEY_TEST_AWS_ENDPOINT`. Without it these tests fail loudly: a skipped store
//! test would look like a passing one.

use std::sync::Arc;

use crate::dynamo::DynamoTable;
use crate::sqlite::SqliteTable;
use crate::{Store, Table};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use latchkey_domain::token::new_id;
use latchkey_domain::{Clock, ManualClock};

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
    sdk_config_at(&aws_endpoint()).await
}

/// The SDK configuration the functions use ([`crate::sdk`]), pointed at `endpoint` (moto,
/// or a fault-injecting proxy in front of it).
pub async fn sdk_config_at(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .retry_config(crate::sdk::retry())
        .timeout_config(crate::sdk::timeouts())
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
    dynamo_table_at(&aws_endpoint()).await
}

/// [`dynamo_table`] reached through `endpoint`.
pub async fn dynamo_table_at(endpoint: &str) -> Arc<dyn Table> {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config_at(endpoint).await);
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

/// Writes `connections` as `create_connection` does, without its conditions and in bulk
/// ([`Table::put_new`]): for benchmarks that need a hundred thousand of them.
pub async fn put_connections(
    store: &Store,
    connections: &[latchkey_domain::Connection],
) -> crate::StoreResult<()> {
    let records = connections
        .iter()
        .flat_map(crate::repo::created_connection)
        .collect();
    store.put_new(records).await
}
