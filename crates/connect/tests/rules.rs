//! The connect service's rules on an in-memory table (SQLite `:memory:`) and a sealed
//! vault, with the token endpoint mocked in-process: no moto, no OAuth server.

use std::collections::BTreeMap;
use std::sync::Arc;

use latchkey_connect::connections::{Need, Renewal, ensure_fresh, load};
use latchkey_connect::flow::{Completion, Issued, complete};
use latchkey_core::accounts::create_account;
use latchkey_core::catalog::create_integration;
use latchkey_core::{App, ConnectionError};
use latchkey_domain::token::random_bytes;
use latchkey_domain::{
    AccountId, ConnectionId, ConnectionStatus, ConsumerId, Credentials, Integration, ManualClock,
    NewConsumer, Secret,
};
use latchkey_store::sqlite::SqliteTable;
use latchkey_store::{Accounts, Connections, Consumers, SCHEDULE_SHARDS};
use latchkey_vault::{SealingKey, Vault};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const T0: i64 = 1_800_000_000;

struct World {
    app: App,
    clock: Arc<ManualClock>,
    account_id: AccountId,
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::new(T0));
    let table = Arc::new(SqliteTable::in_memory().unwrap());
    let vault = Vault::sealed(SealingKey::from_bytes(random_bytes::<32>()));
    let url = url::Url::parse("https://connect.acme.test/").unwrap();
    let mut app = App::from_parts(table, clock.clone(), vault, Some(url));
    // The mocked token endpoint is on loopback.
    app.allow_loopback = true;
    let (account, _) = create_account(&app.store, "Acme").await.unwrap();
    World {
        app,
        clock,
        account_id: account.id,
    }
}

impl World {
    async fn integration(&self, input: serde_json::Value) -> Integration {
        let input = serde_json::from_value(input).unwrap();
        create_integration(
            &self.app.store,
            &self.app.vault,
            &self.account_id,
            input,
            None,
        )
        .await
        .unwrap()
    }

    /// An OAuth 2.0 integration whose token endpoint is `token_url`.
    async fn oauth(&self, token_url: &str) -> Integration {
        self.integration(json!({
            "key": "provider", "name": "Provider",
            "auth_options": [{
                "key": "oauth", "type": "oauth2",
                "authorization_url": "https://provider.example/authorize",
                "token_url": token_url,
                "client": {"client_id": "app", "client_secret": "app-secret"}
            }],
            "api": {"base_url": "https://provider.example/api"}
        }))
        .await
    }

    /// An OAuth connection with refresh token `old-refresh` whose hour-long access token
    /// expires in ten minutes: due for refresh.
    async fn due_connection(&self, integration: &Integration) -> ConnectionId {
        latchkey_core::testing::oauth_connection(&self.app, &self.account_id, &integration.id, 600)
            .await
    }

    async fn refresh(&self, id: &ConnectionId) -> Result<Renewal, ConnectionError> {
        ensure_fresh(&self.app, &self.account_id, id, Need::Due, false)
            .await
            .map(|fresh| fresh.renewal)
    }

    async fn stored(&self, id: &ConnectionId) -> (latchkey_domain::Connection, Credentials) {
        let (connection, credentials) = load(&self.app, &self.account_id, id).await.unwrap();
        (connection.value, credentials)
    }

    /// Whether the scheduler would find `id` due at `until` (the `schedule` index).
    async fn scheduled_by(&self, id: &ConnectionId, until: i64) -> bool {
        for shard in 0..SCHEDULE_SHARDS {
            let page = self
                .app
                .store
                .due_connections(shard, until, 100, None)
                .await
                .unwrap();
            if page.items.iter().any(|c| &c.value.id == id) {
                return true;
            }
        }
        false
    }
}

fn refresh_token(credentials: &Credentials) -> &str {
    match credentials {
        Credentials::Oauth2 {
            refresh_token: Some(t),
            ..
        } => t.expose(),
        other => panic!("not refreshable OAuth credentials: {other:?}"),
    }
}

async fn token_endpoint(status: u16, body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_refresh_stores_the_rotated_refresh_token_and_reschedules() {
    let w = world().await;
    let server = token_endpoint(
        200,
        json!({"access_token": "new-access", "refresh_token": "rotated", "token_type": "Bearer", "expires_in": 3600}),
    )
    .await;
    let integration = w.oauth(&format!("{}/token", server.uri())).await;
    let id = w.due_connection(&integration).await;
    assert!(w.scheduled_by(&id, T0).await);

    assert_eq!(w.refresh(&id).await.unwrap(), Renewal::Refreshed);
    let (connection, credentials) = w.stored(&id).await;
    assert_eq!(refresh_token(&credentials), "rotated");
    assert_eq!(connection.access_expires_at, Some(T0 + 3600));
    assert_eq!(connection.refresh.consecutive_failures, 0);
    // Off the schedule until the new token nears its end.
    assert!(!w.scheduled_by(&id, T0 + 1800 - 1).await);
    assert!(w.scheduled_by(&id, T0 + 1800).await);
    // A second caller finds it fresh: no second token request.
    assert_eq!(w.refresh(&id).await.unwrap(), Renewal::AlreadyFresh);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let w = world().await;
    let server = token_endpoint(
        200,
        json!({"access_token": "new-access", "expires_in": 3600}),
    )
    .await;
    let integration = w.oauth(&format!("{}/token", server.uri())).await;
    let id = w.due_connection(&integration).await;

    assert_eq!(w.refresh(&id).await.unwrap(), Renewal::Refreshed);
    let (_, credentials) = w.stored(&id).await;
    assert_eq!(refresh_token(&credentials), "old-refresh");
    let Credentials::Oauth2 { access_token, .. } = credentials else {
        unreachable!()
    };
    assert_eq!(access_token.expose(), "new-access");
}

#[tokio::test]
async fn a_refused_grant_needs_the_user_and_leaves_the_schedule() {
    let w = world().await;
    let server = token_endpoint(400, json!({"error": "invalid_grant"})).await;
    let integration = w.oauth(&format!("{}/token", server.uri())).await;
    let id = w.due_connection(&integration).await;

    assert!(matches!(
        w.refresh(&id).await,
        Err(ConnectionError::NeedsReauth)
    ));
    let (connection, credentials) = w.stored(&id).await;
    assert_eq!(connection.status, ConnectionStatus::NeedsReauth);
    assert_eq!(
        connection.refresh.last_error.as_deref(),
        Some("invalid_grant")
    );
    assert_eq!(refresh_token(&credentials), "old-refresh");
    assert!(!w.scheduled_by(&id, T0 + 365 * 86_400).await);
    // The next caller is told without another token request.
    assert!(matches!(
        w.refresh(&id).await,
        Err(ConnectionError::NeedsReauth)
    ));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_temporary_failure_backs_off_and_keeps_the_working_token() {
    let w = world().await;
    let server = token_endpoint(503, json!({"error": "temporarily_unavailable"})).await;
    let integration = w.oauth(&format!("{}/token", server.uri())).await;
    let id = w.due_connection(&integration).await;

    assert_eq!(w.refresh(&id).await.unwrap(), Renewal::KeptAfterFailure);
    let (connection, credentials) = w.stored(&id).await;
    assert_eq!(connection.status, ConnectionStatus::Active);
    assert_eq!(connection.refresh.consecutive_failures, 1);
    let retry = connection.refresh.retry_at.expect("a retry is scheduled") - T0;
    assert!((30..=60).contains(&retry), "retry after {retry} s");
    assert_eq!(refresh_token(&credentials), "old-refresh");
    // Not due before the retry time, due at it.
    assert!(!w.scheduled_by(&id, T0 + retry - 1).await);
    assert!(w.scheduled_by(&id, T0 + retry).await);

    // Still failing once the token has expired: the caller is told.
    w.clock.advance(601);
    assert!(matches!(
        w.refresh(&id).await,
        Err(ConnectionError::RefreshFailed(_))
    ));
    let (connection, _) = w.stored(&id).await;
    assert_eq!(connection.refresh.consecutive_failures, 2);
}

/// An API-key integration and a consumer, and a completion for them.
async fn api_key_setup(w: &World) -> (Integration, ConsumerId) {
    let integration = w
        .integration(json!({
            "key": "helpdesk", "name": "Helpdesk",
            "auth_options": [{"key": "key", "type": "api_key"}],
            "api": {"base_url": "https://helpdesk.example/api"}
        }))
        .await;
    let consumer: NewConsumer = serde_json::from_value(json!({"name": "Globex"})).unwrap();
    let consumer = consumer
        .into_consumer(ConsumerId::generate(), w.account_id.clone(), T0)
        .unwrap();
    w.app.store.create_consumer(&consumer).await.unwrap();
    (integration, consumer.id)
}

async fn connect_key(
    w: &World,
    integration: &Integration,
    consumer_id: &ConsumerId,
    key: &str,
    allow_multiple: bool,
) -> ConnectionId {
    let account = w
        .app
        .store
        .account(&w.account_id)
        .await
        .unwrap()
        .unwrap()
        .value;
    let completion = Completion {
        account: &account,
        consumer_id,
        integration,
        auth_option_key: "key",
        name: "Helpdesk",
        description: None,
        parameters: BTreeMap::new(),
        connection_id: None,
        allow_multiple,
        activation_hash: None,
        issued: Issued::lasting(Credentials::ApiKey {
            api_key: Secret::new(key),
        }),
    };
    complete(&w.app, completion).await.unwrap().id
}

#[tokio::test]
async fn a_new_connection_replaces_the_earlier_one_unless_multiple_are_allowed() {
    let w = world().await;
    let (integration, consumer) = api_key_setup(&w).await;
    let first = connect_key(&w, &integration, &consumer, "key-1", false).await;

    let second = connect_key(&w, &integration, &consumer, "key-2", false).await;
    assert!(
        w.app
            .store
            .connection(&w.account_id, &first)
            .await
            .unwrap()
            .is_none(),
        "the earlier connection is gone, and with it its sealed credentials"
    );

    let third = connect_key(&w, &integration, &consumer, "key-3", true).await;
    let listed = w
        .app
        .store
        .consumer_connections(&w.account_id, &consumer, Some(&integration.id), 10, None)
        .await
        .unwrap();
    let mut ids: Vec<_> = listed.items.into_iter().map(|c| c.value.id).collect();
    ids.sort();
    let mut expected = vec![second, third];
    expected.sort();
    assert_eq!(ids, expected);
}
