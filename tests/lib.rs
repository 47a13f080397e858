//! Harness for the workspace tests: an [`App`] over a fresh store, two accounts, and
//! requests dispatched exactly as the local gateway and the Lambda functions do.

pub mod loopback;
pub mod oauth;

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
use latchkey_vault::{SealingKey, Vault};
use latchkey_web::{dispatch, routes};
use serde_json::Value;

pub const PUBLIC_URL: &str = "https://connect.acme.test/";

pub struct Harness {
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    pub key: String,
    pub account_id: AccountId,
    /// A second account, to prove isolation.
    pub other_key: String,
}

impl Harness {
    pub async fn new(table: Arc<dyn Table>) -> Self {
        Self::with_public_url(table, PUBLIC_URL).await
    }

    /// A harness whose links point at `public_url` (a real gateway's address).
    pub async fn with_public_url(table: Arc<dyn Table>, public_url: &str) -> Self {
        let clock = Arc::new(ManualClock::new(testing::T0));
        let vault = Vault::sealed(SealingKey::from_bytes(random_bytes::<32>()));
        let url = url::Url::parse(public_url).unwrap();
        let mut app = App::from_parts(table, clock.clone(), vault, url);
        // Test peers (the OAuth server, fake token endpoints) live on loopback.
        app.allow_loopback = true;
        let (account, key) = create_account(&app.store, &app.vault, "Acme")
            .await
            .unwrap();
        let (_, other_key) = create_account(&app.store, &app.vault, "Other")
            .await
            .unwrap();
        Self {
            app: Arc::new(app),
            clock,
            key: key.expose().to_owned(),
            account_id: account.id,
            other_key: other_key.expose().to_owned(),
        }
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
