//! Round trips per request: what Lambda bills a request for is mostly its DynamoDB and
//! Secrets Manager calls. The app under test talks to moto through a loopback proxy that
//! counts each call by its `X-Amz-Target` (retries included, as AWS bills them); every
//! scenario is one warm request (its caches filled, the API key's `last_used_at` fresh)
//! answered by the in-process gateway, counted from the request until its answer.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use latchkey_connect::connections::{self, RunOptions};
use latchkey_core::accounts::create_account;
use latchkey_domain::IntegrationId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{PUBLIC_URL, peer};

/// Calls seen by the proxy, by operation name (`GetItem`, `GetSecretValue`, …), and how
/// many rounds they came in: a call starting while none is in flight starts a round, so
/// calls made at once count one round (what a request waits for).
#[derive(Default)]
pub struct Tally(Mutex<Counts>);

#[derive(Default)]
struct Counts {
    calls: BTreeMap<String, u64>,
    rounds: u64,
    in_flight: u64,
}

impl Tally {
    fn take(&self) -> (BTreeMap<String, u64>, u64) {
        let mut counts = self.0.lock().unwrap();
        let rounds = std::mem::take(&mut counts.rounds);
        (std::mem::take(&mut counts.calls), rounds)
    }

    fn start(&self, operation: &str) {
        let mut counts = self.0.lock().unwrap();
        *counts.calls.entry(operation.into()).or_default() += 1;
        if counts.in_flight == 0 {
            counts.rounds += 1;
        }
        counts.in_flight += 1;
    }

    fn end(&self) {
        self.0.lock().unwrap().in_flight -= 1;
    }
}

/// A loopback proxy to `upstream` (moto) that counts every call on the way.
async fn counting_proxy(upstream: String) -> (SocketAddr, Arc<Tally>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let tally = Arc::new(Tally::default());
    let client = reqwest::Client::new();
    let counts = tally.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (client, counts, upstream) = (client.clone(), counts.clone(), upstream.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<Incoming>| {
                    let (client, counts, upstream) =
                        (client.clone(), counts.clone(), upstream.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let target = parts
                            .headers
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("unknown");
                        counts.start(target.rsplit('.').next().unwrap_or(target));
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let mut forward = client.request(
                            parts.method.clone(),
                            format!(
                                "{upstream}{}",
                                parts.uri.path_and_query().map_or("/", |p| p.as_str())
                            ),
                        );
                        for (name, value) in &parts.headers {
                            if name != "host" && name != "content-length" {
                                forward = forward.header(name, value);
                            }
                        }
                        let answer = forward.body(body).send().await.expect("moto answers");
                        let mut response = hyper::Response::builder().status(answer.status());
                        for (name, value) in answer.headers() {
                            if name != "content-length" && name != "transfer-encoding" {
                                response = response.header(name, value);
                            }
                        }
                        let bytes = answer.bytes().await.expect("moto's body");
                        counts.end();
                        Ok::<_, Infallible>(response.body(Full::new(bytes)).expect("response"))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, tally)
}

/// The calls of one scenario in the report's four kinds, and its rounds.
fn summary((calls, rounds): &(BTreeMap<String, u64>, u64)) -> Value {
    let sum = |names: &[&str]| -> u64 {
        calls
            .iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, c)| c)
            .sum()
    };
    let secrets: u64 = calls
        .iter()
        .filter(|(n, _)| n.contains("Secret"))
        .map(|(_, c)| c)
        .sum();
    json!({
        "reads": sum(&["GetItem", "Query", "Scan", "BatchGetItem"]),
        "writes": sum(&["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]),
        "transactions": sum(&["TransactWriteItems", "TransactGetItems"]),
        "secret_calls": secrets,
        "rounds": rounds,
        "calls": calls,
    })
}

/// The fewest calls each scenario can be answered with in the current data model, and why
/// (sealed vault: credentials live in their connection's item, the data key is read once
/// per process). `[reads, writes, transactions]`; reads are `GetItem` and `Query` calls.
pub const FLOORS: &[(&str, [u64; 3], &str)] = &[
    (
        "catalog_list",
        [2, 0, 0],
        "the API key (by its hash); one query of the account's integrations",
    ),
    ("get_integration", [2, 0, 0], "the API key; the integration"),
    (
        "create_consumer",
        [1, 0, 1],
        "the API key; the consumer and its internal_reference guard in one transaction",
    ),
    (
        "create_link",
        [3, 1, 0],
        "the API key; the consumer (it must exist) and the integration (it must be active) at once; the activation",
    ),
    (
        "popup_start_oauth",
        [4, 1, 0],
        "the activation; then at once its account (settings, branding), consumer (it must still exist) and integration; the flow",
    ),
    (
        "popup_start_marketplace",
        [5, 0, 0],
        "the activation; then its account and consumer at once; then the account's active integrations and the consumer's connections at once, one page each",
    ),
    (
        "callback",
        [4, 2, 1],
        "the flow read (its browser binding is checked before anything changes) and taken; the account and the integration at once; the activation taken (single use); the connection with its guards in one transaction; the consumer's earlier connections to that integration (replaced)",
    ),
    (
        "credentials_fresh",
        [2, 0, 0],
        "the API key; the connection (credentials sealed inside)",
    ),
    (
        "credentials_due",
        [4, 3, 0],
        "the API key; the connection; the lease; the connection again (another worker may have refreshed in between) and the integration at once; the renewal; the lease released",
    ),
    (
        "proxy",
        [3, 0, 0],
        "the API key; the connection; its integration (base URL, token placement)",
    ),
    (
        "install",
        [5, 0, 1],
        "the API key; the account (webhook settings), consumer and integration at once; the connection with its guards in one transaction; the consumer's earlier connections to that integration (replaced)",
    ),
    (
        "delete_connection",
        [4, 0, 1],
        "the API key; the connection; its integration (revocation endpoint) with the account (webhook settings) at once; the connection and its guards removed in one transaction",
    ),
    (
        "refresh_run_one_due",
        [12, 4, 0],
        "8 schedule shards at once and the webhook outbox; per due connection: its read (skips it when another worker refreshed it first: a read is a fifth of the price of the two writes it saves), the lease, the connection again with the integration at once, the attempt (written before the provider is called), the renewal, the lease released",
    ),
];

struct Bench {
    base: String,
    client: reqwest::Client,
    key: String,
    tally: Arc<Tally>,
}

impl Bench {
    /// One request, counted from send to answer; the answer must be `expect`.
    async fn counted(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Value>,
        expect: StatusCode,
    ) -> ((BTreeMap<String, u64>, u64), reqwest::Response) {
        self.tally.take();
        let response = self.send(method.clone(), path, headers, body).await;
        let calls = self.tally.take();
        assert_eq!(response.status(), expect, "{method} {path}");
        (calls, response)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("gateway answers")
    }

    async fn created(&self, path: &str, body: Value) -> Value {
        let response = self.send(Method::POST, path, &[], Some(body)).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("json")
    }
}

pub fn location(response: &reqwest::Response) -> url::Url {
    url::Url::parse(response.headers()["location"].to_str().expect("location")).expect("url")
}

pub fn query_value(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("{name} in {url}"))
        .1
        .into_owned()
}

/// The flow cookie's `name=value` (`__Host-lk_flow_…` on https).
pub fn flow_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("lk_flow_"))
        .and_then(|c| c.split(';').next())
        .expect("flow cookie")
        .to_owned()
}

/// Every scenario once, warm, with the vault in `mode` (`sealed` or `secretsmanager`).
pub async fn count(mode: &str) -> Value {
    let (proxy, tally) = counting_proxy(crate::moto()).await;
    let (mut app, _, _) = crate::aws_app(&format!("http://{proxy}"), mode).await;
    app.allow_loopback = true;
    let (provider, _peer) = peer::token_endpoint().await;
    let (account, key) = create_account(&app.store, "Bench").await.expect("account");
    let app = Arc::new(app);
    let (listener, addr) = latchkey::gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind");
    tokio::spawn(latchkey::gateway::serve(listener, app.clone()));
    let b = Bench {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        key: key.expose().to_owned(),
        tally,
    };

    // Set-up, not counted: the OAuth integration, a keyed one, a consumer; the first
    // request also writes the key's last_used_at and reads the data key.
    let oauth = b
        .created("/v1/integrations", peer::integration(provider))
        .await;
    let oauth = oauth["id"].as_str().unwrap().to_owned();
    let keyed = b
        .created(
            "/v1/integrations",
            json!({"key": "keyed", "name": "Keyed", "auth_options": [{"key": "key", "type": "api_key"}],
                   "api": {"base_url": format!("http://{provider}")}}),
        )
        .await;
    let keyed = keyed["id"].as_str().unwrap().to_owned();
    let consumer = b
        .created(
            "/v1/consumers",
            json!({"name": "Warm", "redirect_url": "https://app.bench.example/done"}),
        )
        .await;
    let consumer = consumer["id"].as_str().unwrap().to_owned();

    let mut out = serde_json::Map::new();
    let mut record = |name: &str, calls: (BTreeMap<String, u64>, u64)| {
        out.insert(name.to_owned(), summary(&calls));
    };
    let (calls, _) = b
        .counted(Method::GET, "/v1/integrations", &[], None, StatusCode::OK)
        .await;
    record("catalog_list", calls);
    let (calls, _) = b
        .counted(
            Method::GET,
            &format!("/v1/integrations/{oauth}"),
            &[],
            None,
            StatusCode::OK,
        )
        .await;
    record("get_integration", calls);
    let (calls, _) = b
        .counted(
            Method::POST,
            "/v1/consumers",
            &[],
            Some(json!({"name": "Globex", "internal_reference": "globex-1"})),
            StatusCode::CREATED,
        )
        .await;
    record("create_consumer", calls);
    let links = format!("/v1/consumers/{consumer}/connections");
    let (calls, link) = b
        .counted(
            Method::POST,
            &links,
            &[],
            Some(json!({"name": "Bench", "integration_id": oauth})),
            StatusCode::CREATED,
        )
        .await;
    record("create_link", calls);
    let link: Value = link.json().await.expect("link");
    let link_path = link["url"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned();
    let (calls, landing) = b
        .counted(
            Method::GET,
            &format!("/{link_path}"),
            &[],
            None,
            StatusCode::FOUND,
        )
        .await;
    record("popup_start_oauth", calls);
    let state = query_value(&location(&landing), "state");
    let cookie = flow_cookie(&landing);
    let market = b.created(&links, json!({"name": "Bench"})).await;
    let market = market["url"]
        .as_str()
        .unwrap()
        .strip_prefix(PUBLIC_URL)
        .unwrap()
        .to_owned();
    let (calls, _) = b
        .counted(
            Method::GET,
            &format!("/{market}"),
            &[],
            None,
            StatusCode::OK,
        )
        .await;
    record("popup_start_marketplace", calls);
    let (calls, done) = b
        .counted(
            Method::GET,
            &format!("/oauth/callback/{oauth}?state={state}&code=bench-code"),
            &[("cookie", cookie)],
            None,
            StatusCode::FOUND,
        )
        .await;
    record("callback", calls);
    let connection = query_value(&location(&done), "connectionId");
    let (calls, _) = b
        .counted(
            Method::GET,
            &format!("/v1/connections/{connection}/credentials"),
            &[],
            None,
            StatusCode::OK,
        )
        .await;
    record("credentials_fresh", calls);
    let integration = IntegrationId::from(oauth.as_str());
    let due = latchkey_core::testing::oauth_connection(&app, &account.id, &integration, 60).await;
    let (calls, _) = b
        .counted(
            Method::GET,
            &format!("/v1/connections/{due}/credentials"),
            &[],
            None,
            StatusCode::OK,
        )
        .await;
    record("credentials_due", calls);
    let (calls, _) = b
        .counted(
            Method::GET,
            &format!("/v1/connections/{connection}/proxy/items"),
            &[],
            None,
            StatusCode::OK,
        )
        .await;
    record("proxy", calls);
    let (calls, _) = b
        .counted(
            Method::POST,
            &format!("/v1/consumers/{consumer}/connections/install"),
            &[],
            Some(json!({"integration_id": keyed, "auth_value": "a-key"})),
            StatusCode::CREATED,
        )
        .await;
    record("install", calls);
    let (calls, _) = b
        .counted(
            Method::DELETE,
            &format!("/v1/connections/{connection}"),
            &[],
            None,
            StatusCode::NO_CONTENT,
        )
        .await;
    record("delete_connection", calls);
    latchkey_core::testing::oauth_connection(&app, &account.id, &integration, 60).await;
    b.tally.take();
    let report = connections::run(&app, RunOptions::default())
        .await
        .expect("run");
    assert_eq!(report.refreshed, 1, "one was due: {report:?}");
    record("refresh_run_one_due", b.tally.take());
    Value::Object(out)
}

/// Both vault modes, each scenario against its floor.
pub async fn round_trips() -> Value {
    let sealed = count("sealed").await;
    let managed = count("secretsmanager").await;
    let mut out = serde_json::Map::new();
    for (name, [reads, writes, transactions], why) in FLOORS {
        let s = &sealed[name];
        let at_floor =
            s["reads"] == *reads && s["writes"] == *writes && s["transactions"] == *transactions;
        out.insert(
            (*name).to_owned(),
            json!({
                "sealed": s, "secretsmanager": managed[name],
                "floor": {"reads": reads, "writes": writes, "transactions": transactions, "why": why},
                "at_floor": at_floor,
            }),
        );
    }
    Value::Object(out)
}
