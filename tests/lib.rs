//! Harness for the workspace tests: an [`App`] over a fresh store, two accounts, and
//! requests dispatched exactly as the local gateway and the Lambda functions do.

pub mod chromium;
pub mod faults;
pub mod loopback;
pub mod mail;
pub mod oauth;
pub mod webhooks;

use std::sync::Arc;

use lambda_http::Body;
use lambda_http::http::{self, StatusCode};
use latchkey::gateway::handler_for;
use latchkey_core::App;
use latchkey_core::accounts::create_account;
use latchkey_domain::AccountId;
use latchkey_domain::ManualClock;
use latchkey_domain::token::random_bytes;
use latchkey_store::Table;
use latchkey_store::testing;
use latchkey_vault::{SealingKey, SecretsManager, Vault, VaultMode};
use latchkey_web::{dispatch, routes};
use serde_json::Value;

pub const PUBLIC_URL: &str = "https://connect.acme.test/";

/// Runs a test once per vault mode: `vault_modes!(#[tokio::test] name);` beside
/// `async fn name(mode: VaultMode)` makes `name::sealed` and `name::secretsmanager`.
/// The test's future is boxed: the flow tests' futures nest deeper than the compiler's
/// layout depth limit otherwise.
#[macro_export]
macro_rules! vault_modes {
    ($(#[$attr:meta])* $name:ident) => {
        mod $name {
            $(#[$attr])*
            async fn sealed() {
                Box::pin(super::$name(latchkey_vault::VaultMode::Sealed)).await
            }
            $(#[$attr])*
            async fn secretsmanager() {
                Box::pin(super::$name(latchkey_vault::VaultMode::SecretsManager)).await
            }
        }
    };
}

/// Runs a scenario on both stores: `on_both_stores!(name);` beside
/// `async fn name(table: Arc<dyn Table>)` makes `name::sqlite` and `name::dynamodb` (moto).
#[macro_export]
macro_rules! on_both_stores {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario(latchkey_store::testing::sqlite_table().await).await
            }
            #[tokio::test]
            async fn dynamodb() {
                super::$scenario(latchkey_store::testing::dynamo_table().await).await
            }
        }
    };
}

pub struct Harness {
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    pub key: String,
    pub account_id: AccountId,
    /// A second account, to prove isolation.
    pub other_key: String,
}

impl Harness {
    /// On the default (`sealed`) vault.
    pub async fn new(table: Arc<dyn Table>) -> Self {
        Self::build(table, Some(PUBLIC_URL), VaultMode::Sealed).await
    }

    /// As a deployment without `PublicBaseUrl` runs: links take each request's address.
    pub async fn without_public_url(table: Arc<dyn Table>) -> Self {
        Self::build(table, None, VaultMode::Sealed).await
    }

    /// As a deployment runs: Latchkey's own outbound calls refuse loopback and private
    /// addresses (the tests' peers live there, so only policy tests use this).
    pub async fn deployed(table: Arc<dyn Table>) -> Self {
        let mut h = Self::new(table).await;
        Arc::get_mut(&mut h.app)
            .expect("not shared yet")
            .allow_loopback = false;
        h
    }

    /// On the given vault mode; `secretsmanager` keeps each harness's secrets under its
    /// own prefix in the test Secrets Manager (moto).
    pub async fn in_mode(table: Arc<dyn Table>, mode: VaultMode) -> Self {
        Self::build(table, Some(PUBLIC_URL), mode).await
    }

    /// A harness whose links point at `public_url` (a real gateway's address).
    pub async fn with_public_url(table: Arc<dyn Table>, public_url: &str) -> Self {
        Self::build(table, Some(public_url), VaultMode::Sealed).await
    }

    /// A fresh DynamoDB table and the vault in `mode`, both reached through `proxy` (which
    /// forwards to moto), so a test can make chosen AWS calls fail.
    pub async fn through(proxy: &faults::FaultProxy, mode: VaultMode) -> Self {
        let table = testing::dynamo_table_at(&proxy.url).await;
        Self::build_at(table, Some(PUBLIC_URL), mode, &proxy.url).await
    }

    async fn build(table: Arc<dyn Table>, public_url: Option<&str>, mode: VaultMode) -> Self {
        Self::build_at(table, public_url, mode, &testing::aws_endpoint()).await
    }

    /// The one place the tests choose a vault (`secretsmanager` at `aws`).
    async fn build_at(
        table: Arc<dyn Table>,
        public_url: Option<&str>,
        mode: VaultMode,
        aws: &str,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(testing::T0));
        let vault = match mode {
            VaultMode::Sealed => Vault::sealed(SealingKey::from_bytes(random_bytes::<32>())),
            VaultMode::SecretsManager => {
                let prefix = format!("latchkey/test-{}", hex::encode(random_bytes::<8>()));
                let manager = SecretsManager::new(&testing::sdk_config_at(aws).await, prefix);
                Vault::secrets_manager(manager, None)
            }
        };
        let url = public_url.map(|u| url::Url::parse(u).unwrap());
        let mut app = App::from_parts(table, clock.clone(), vault, url);
        // Test peers (the OAuth server, fake token endpoints) live on loopback.
        app.allow_loopback = true;
        let (account, key) = create_account(&app.store, "Acme").await.unwrap();
        let (_, other_key) = create_account(&app.store, "Other").await.unwrap();
        Self {
            app: Arc::new(app),
            clock,
            key: key.expose().to_owned(),
            account_id: account.id,
            other_key: other_key.expose().to_owned(),
        }
    }

    /// Sends `method path` with the API key as a Lambda invocation with `left` to run: the
    /// request's waits are cut to that deadline, as on Lambda.
    pub async fn call_on_lambda(
        &self,
        method: &str,
        path: &str,
        left: std::time::Duration,
    ) -> (StatusCode, Value) {
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.key))
            .body(Body::Empty)
            .unwrap();
        let deadline = std::time::SystemTime::now() + left;
        let mut context = lambda_http::Context::default();
        context.deadline = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        request.extensions_mut().insert(context);
        let response = self.raw(request).await;
        let body: &[u8] = response.body().as_ref();
        let value = serde_json::from_slice(body).unwrap_or(Value::Null);
        (response.status(), value)
    }

    /// The same harness with its app changed (before any request shares it).
    pub fn configured(mut self, change: impl FnOnce(&mut App)) -> Self {
        change(Arc::get_mut(&mut self.app).expect("configured before use"));
        self
    }

    /// Dispatches a raw request as the gateway would, returning the whole response.
    pub async fn raw(&self, request: http::Request<Body>) -> lambda_http::http::Response<Body> {
        match routes::find(request.method(), request.uri().path()) {
            Ok((route, _)) => {
                dispatch(
                    Some(route.function),
                    handler_for(route.function),
                    request,
                    &self.app,
                )
                .await
            }
            Err(miss) => miss.into_response(),
        }
    }

    /// Sends a request with the given API key (or none) and a JSON body (or none).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut builder = http::Request::builder().method(method).uri(path);
        if let Some(key) = key {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        let body = match body {
            Some(v) => {
                builder = builder.header("content-type", "application/json");
                Body::Text(v.to_string())
            }
            None => Body::Empty,
        };
        let response = self.raw(builder.body(body).unwrap()).await;
        let status = response.status();
        let bytes: &[u8] = response.body().as_ref();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("every response is JSON")
        };
        (status, value)
    }

    /// The stored credentials of connection `id`, read through the vault.
    pub async fn credentials(&self, id: &str) -> latchkey_domain::Credentials {
        use latchkey_store::Connections;
        let c = self
            .app
            .store
            .connection(&self.account_id, &latchkey_domain::ConnectionId::from(id))
            .await
            .unwrap()
            .expect("the connection exists")
            .value;
        let scope = latchkey_domain::SecretScope::new(&self.account_id, id);
        self.app
            .vault
            .get(&scope, c.credentials.as_ref().expect("credentials stored"))
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(&self.key), None).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call("DELETE", path, Some(&self.key), None).await
    }

    pub async fn send(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(method, path, Some(&self.key), Some(body)).await
    }
}
