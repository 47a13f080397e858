//! `bench/run` drives this: cold start against a hello-world function, artefact sizes,
//! gateway load at a fixed rate, refresh throughput against a one-at-a-time loop. Every
//! figure is the median of repeated runs with its ratio to a baseline measured in the same
//! run; the report goes to `$LATCHKEY_BENCH_OUT/report.{json,md}`. Targets are reported as
//! met or not, never asserted.

mod cold_start;
mod cost;
mod load;
mod peer;
mod price;
mod refresh;
mod report;
mod round_trips;
mod scale;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use latchkey_core::App;
use latchkey_core::accounts::create_account;
use latchkey_domain::token::new_id;
use latchkey_web::setup::{Settings, StoreSpec, VaultSpec};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `bench/run`"))
}

fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn http_event(method: &str, path: &str, query: &str, key: &str) -> String {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"authorization": format!("Bearer {key}"), "host": "bench.example"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.example",
            "domainPrefix": "bench", "requestId": "bench-1", "routeKey": "$default",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "bench"}
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// The event each binary gets: one of its routes (through the store), or a schedule tick.
fn event_for(binary: &str, key: &str) -> String {
    match binary {
        "catalog" => http_event("GET", "/v1/integrations", "", key),
        "consumers" => http_event("GET", "/v1/consumers", "", key),
        "links" => http_event("GET", "/v1/consumers/csm_none/connections", "", key),
        "connections" => http_event("GET", "/v1/connections/con_none", "", key),
        "popup" => http_event("GET", "/connect/lka_none", "", key),
        "callback" => http_event("GET", "/oauth/callback/int_none", "state=none&code=x", key),
        // Its sign-in page: every other page needs a session cookie first.
        "console" => http_event("GET", "/console/sign-in", "", key),
        // What the template's schedule sends the refresh function.
        "refresh" => json!({
            "version": "0", "id": "bench", "detail-type": "Scheduled Event",
            "source": "aws.events", "time": "2026-01-01T00:00:00Z", "detail": {}
        })
        .to_string(),
        _ => "{}".to_owned(),
    }
}

/// What the measured processes share with this one: a table and a sealed-mode data key on
/// moto, an account and its API key, and the environment that points a function there.
pub struct Deployment {
    pub app: Arc<App>,
    pub key: String,
    pub env: Vec<(String, String)>,
}

/// The moto server `bench/run` started. The bench's own clients are pointed at it (or at
/// a counting proxy in front of it) explicitly; `AWS_ENDPOINT_URL` is set only for the
/// measured processes, as an environment variable would override an explicit endpoint.
fn moto() -> String {
    env("LATCHKEY_BENCH_MOTO")
}

/// A fresh table and a sealed-mode data key on moto, reached through `endpoint`, with the
/// app over them (vault in `mode`: `sealed` or `secretsmanager`).
async fn aws_app(endpoint: &str, mode: &str) -> (App, String, String) {
    let sdk = latchkey_store::testing::sdk_config_at(endpoint).await;
    let table = new_id("bench").replace('_', "-");
    latchkey_store::dynamo::DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), &table)
        .create_table()
        .await
        .expect("table");
    let data_key = format!("latchkey-bench/{table}/data-key");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&data_key)
        .secret_string(hex::encode(latchkey_domain::token::random_bytes::<32>()))
        .send()
        .await
        .expect("data key secret");
    let vault = match mode {
        "sealed" => VaultSpec::SealedManagedKey {
            data_key_secret: data_key.clone(),
        },
        _ => VaultSpec::SecretsManager {
            prefix: format!("latchkey-bench/{table}"),
            data_key_secret: None,
        },
    };
    let app = latchkey_web::setup::app_on(
        Settings {
            store: StoreSpec::Dynamo(table.clone()),
            vault,
            public_url: Some(url::Url::parse(PUBLIC_URL).unwrap()),
        },
        Arc::new(latchkey_domain::SystemClock),
        Some(&sdk),
    )
    .expect("app");
    (app, table, data_key)
}

async fn deployment() -> Deployment {
    // The store and key live on moto, so init and the first request take the real SDK
    // path (config, credentials, GetSecretValue, DynamoDB calls).
    let (mut app, table, data_key) = aws_app(&moto(), "sealed").await;
    // This process plays the provider on loopback for the callback scenario.
    app.allow_loopback = true;
    let (_, key) = create_account(&app.store, "Bench").await.expect("account");
    let mut env: Vec<(String, String)> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_REGION",
    ]
    .iter()
    .map(|k| (k.to_string(), env(k)))
    .collect();
    env.extend([
        ("AWS_ENDPOINT_URL".into(), moto()),
        ("LATCHKEY_STORE".into(), format!("dynamodb:{table}")),
        ("LATCHKEY_TABLE".into(), table),
        ("LATCHKEY_VAULT_MODE".into(), "sealed".into()),
        ("LATCHKEY_DATA_KEY_SECRET".into(), data_key),
        ("LATCHKEY_PUBLIC_URL".into(), PUBLIC_URL.into()),
        ("RUST_LOG".into(), "warn".into()),
    ]);
    Deployment {
        app: Arc::new(app),
        key: key.expose().to_owned(),
        env,
    }
}

const PUBLIC_URL: &str = "https://bench.example/";

/// Median, minimum and maximum.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(values.to_vec()), min, max)
}

/// Init, first and warm response, and peak RSS of every function against hello, `runs`
/// interleaved rounds each (every round starts hello and each function once, so drift
/// hits all alike).
async fn cold_starts(lambda_dir: &Path, runs: usize, d: &Deployment) -> Value {
    let (env, key) = (&d.env, &d.key);
    let mut binaries: Vec<String> = std::fs::read_dir(lambda_dir)
        .expect("lambda dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "hello")
        .collect();
    binaries.sort();
    let mut samples: std::collections::BTreeMap<String, Vec<cold_start::ColdStart>> =
        Default::default();
    for _ in 0..runs {
        for binary in std::iter::once("hello").chain(binaries.iter().map(String::as_str)) {
            let path = lambda_dir.join(binary).join("bootstrap");
            let m = cold_start::measure(&path, &event_for(binary, key), env, None)
                .await
                .unwrap_or_else(|e| panic!("{binary}: {e}"));
            samples.entry(binary.to_owned()).or_default().push(m);
        }
    }
    let figures = |runs: &[cold_start::ColdStart]| {
        let pick =
            |f: fn(&cold_start::ColdStart) -> f64| spread(&runs.iter().map(f).collect::<Vec<_>>());
        (
            pick(|m| ms(m.init)),
            pick(|m| ms(m.first_response)),
            pick(|m| ms(m.warm_response)),
            pick(|m| m.peak_rss_mib),
        )
    };
    let (hello_init, hello_first, hello_warm, _) =
        figures(&samples.remove("hello").expect("hello ran"));
    let mut functions = serde_json::Map::new();
    for (binary, runs) in samples {
        let (init, first, warm, rss) = figures(&runs);
        functions.insert(
            binary,
            json!({
                "init_ms": init.0, "init_min_ms": init.1, "init_max_ms": init.2,
                "first_response_ms": first.0, "first_min_ms": first.1, "first_max_ms": first.2,
                "warm_response_ms": warm.0, "peak_rss_mib": rss.2,
                "init_ratio": init.0 / hello_init.0,
                // What a first response costs beyond a warm one (the store's round trips
                // on moto are in both): the part the code's cold path controls.
                "cold_overhead_ratio": (first.0 - warm.0) / hello_first.0,
            }),
        );
    }
    json!({
        "runs": runs,
        "hello": {
            "init_ms": hello_init.0, "init_min_ms": hello_init.1, "init_max_ms": hello_init.2,
            "first_response_ms": hello_first.0, "warm_response_ms": hello_warm.0,
        },
        "functions": functions,
    })
}

/// A request as the cost scenarios make it.
fn call(method: Method, path: String, key: &str, body: Option<Value>) -> cost::Call {
    cost::Call {
        method,
        path,
        headers: vec![("authorization", format!("Bearer {key}"))],
        body: body.map(|b| b.to_string()),
    }
}

/// `count` OAuth callbacks, each for its own flow started at `base` (an in-process
/// gateway on the same store) from a link to `integration`, with the flow's cookie.
async fn callbacks(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    consumer: &str,
    integration: &str,
    count: usize,
) -> Vec<cost::Call> {
    let mut calls = Vec::with_capacity(count);
    for _ in 0..count {
        let link: Value = client
            .post(format!("{base}/v1/consumers/{consumer}/connections"))
            .bearer_auth(key)
            .json(&json!({"name": "Bench", "integration_id": integration}))
            .send()
            .await
            .expect("link")
            .json()
            .await
            .expect("link json");
        let path = link["url"].as_str().expect("link url");
        let path = path.strip_prefix(PUBLIC_URL).expect("public url");
        let landing = client
            .get(format!("{base}/{path}"))
            .send()
            .await
            .expect("popup");
        assert_eq!(landing.status(), StatusCode::FOUND, "the popup redirects");
        let state = round_trips::query_value(&round_trips::location(&landing), "state");
        let cookie = round_trips::flow_cookie(&landing);
        calls.push(cost::Call {
            method: Method::GET,
            path: format!("/oauth/callback/{integration}?state={state}&code=bench-code"),
            headers: vec![("cookie", cookie)],
            body: None,
        });
    }
    calls
}

/// Instructions per warm request on the local gateway for catalog list, link creation
/// and a full OAuth callback (token endpoint on loopback), with an unknown route as the
/// floor they are compared with.
async fn cost_per_request(gateway_binary: &Path, d: &Deployment, reps: usize) -> Value {
    let warm = count("LATCHKEY_BENCH_COST_WARM", 3);
    let n = count("LATCHKEY_BENCH_COST_REQUESTS", 20);
    let (token_endpoint, _peer) = peer::token_endpoint().await;
    let (listener, addr) = latchkey::gateway::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind");
    tokio::spawn(latchkey::gateway::serve(listener, d.app.clone()));
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let key = d.key.as_str();
    let post = |path: &str, body: Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(key)
            .json(&body);
        async move {
            let response = request.send().await.expect("setup request");
            assert!(
                response.status().is_success(),
                "setup: {}",
                response.status()
            );
            let v: Value = response.json().await.expect("setup json");
            v["id"].as_str().expect("id").to_owned()
        }
    };
    let consumer = post(
        "/v1/consumers",
        json!({"name": "Bench", "redirect_url": "https://app.bench.example/done"}),
    )
    .await;
    let integration = post("/v1/integrations", peer::integration(token_endpoint)).await;
    let gateway = cost::Gateway {
        binary: gateway_binary,
        env: &d.env,
    };
    let total = 2 * warm + n;
    let mut out = serde_json::Map::new();
    let mut floor = 1.0;
    for name in [
        "baseline_unknown_route",
        "catalog_list",
        "link_creation",
        "oauth_callback",
    ] {
        let mut samples = Vec::new();
        for _ in 0..reps {
            let (calls, expect) = match name {
                "baseline_unknown_route" => (
                    vec![call(Method::GET, "/v1/nope".into(), key, None); total],
                    StatusCode::NOT_FOUND,
                ),
                "catalog_list" => (
                    vec![call(Method::GET, "/v1/integrations".into(), key, None); total],
                    StatusCode::OK,
                ),
                "link_creation" => (
                    vec![
                        call(
                            Method::POST,
                            format!("/v1/consumers/{consumer}/connections"),
                            key,
                            Some(json!({"name": "Bench"})),
                        );
                        total
                    ],
                    StatusCode::CREATED,
                ),
                _ => (
                    // Made per repetition: a flow lives 10 minutes.
                    callbacks(&client, &base, key, &consumer, &integration, total).await,
                    StatusCode::FOUND,
                ),
            };
            samples.push(
                cost::per_request(&gateway, &calls, warm, expect)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}")),
            );
        }
        let instructions = median(samples.iter().map(|s| s.instructions).collect());
        // The profile of the repetition whose count is the median.
        let top = samples
            .iter()
            .find(|s| s.instructions == instructions)
            .map(|s| s.top.clone())
            .unwrap_or_default();
        if name.starts_with("baseline") {
            floor = instructions;
        }
        out.insert(
            name.into(),
            json!({
                "instructions": instructions, "ratio_to_baseline": instructions / floor,
                "top_functions": top.iter().map(|(f, i)| json!({"function": f, "instructions": i})).collect::<Vec<_>>(),
            }),
        );
    }
    json!({"warm": warm, "requests": n, "scenarios": out})
}

fn sizes(lambda_dir: &Path) -> Value {
    let mut out = serde_json::Map::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(lambda_dir)
        .expect("lambda dir")
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    names.sort();
    for dir in names {
        let bootstrap = dir.join("bootstrap");
        let Ok(meta) = std::fs::metadata(&bootstrap) else {
            continue;
        };
        let zipped = std::process::Command::new("python3")
            .args([
                "-c",
                "import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED)\nz.write(sys.argv[1],'bootstrap')\nz.close()\nprint(len(b.getvalue()))",
            ])
            .arg(&bootstrap)
            .output()
            .expect("python3 zips");
        let zipped: u64 = String::from_utf8_lossy(&zipped.stdout)
            .trim()
            .parse()
            .expect("zip size");
        out.insert(
            dir.file_name().unwrap().to_string_lossy().into_owned(),
            json!({"binary_bytes": meta.len(), "zip_bytes": zipped}),
        );
    }
    Value::Object(out)
}

async fn refresh_throughput(reps: usize) -> Value {
    let due = count("LATCHKEY_BENCH_DUE", 10_000);
    let sequential = count("LATCHKEY_BENCH_SEQUENTIAL", 100);
    let concurrency = count("LATCHKEY_BENCH_CONCURRENCY", 64);
    let mut scheduled = Vec::new();
    let mut one = Vec::new();
    let mut read_ratio: f64 = 0.0;
    for _ in 0..reps {
        let (rate, report) = refresh::scheduled(due, concurrency).await;
        assert_eq!(
            report.refreshed, due,
            "every due connection was refreshed: {report:?}"
        );
        read_ratio = read_ratio.max(report.read as f64 / report.due as f64);
        scheduled.push(rate);
        one.push(refresh::one_at_a_time(sequential).await);
    }
    let (scheduled, one) = (median(scheduled), median(one));
    json!({
        "due": due, "not_due": due, "concurrency": concurrency,
        "token_latency_ms": ms(refresh::TOKEN_LATENCY),
        "scheduled_per_s": scheduled, "one_at_a_time_per_s": one,
        "ratio": scheduled / one, "items_read_per_due_max": read_ratio,
    })
}

/// Peak RSS over each function's heaviest scenario, then start-up and answers at each
/// Lambda size under its CPU share, the size chosen and its price.
async fn memory(lambda_dir: &Path) -> Value {
    let gateway = PathBuf::from(env("LATCHKEY_BENCH_GATEWAY"));
    // Its own table: the heavy scenarios' data stays out of the other sections.
    let d = deployment().await;
    let heaviest = match price::heaviest(&gateway, lambda_dir, &d).await {
        Ok(h) => h,
        Err(e) => return json!({"error": e}),
    };
    let mut events: Vec<(String, String)> = std::fs::read_dir(lambda_dir)
        .expect("lambda dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n != "hello")
        .map(|b| {
            let event = match b.as_str() {
                "catalog" => http_event("GET", "/v1/integrations", "limit=100", &d.key),
                _ => event_for(&b, &d.key),
            };
            (b, event)
        })
        .collect();
    events.sort();
    let runs = count("LATCHKEY_BENCH_SIZE_RUNS", 5);
    match price::sizes(lambda_dir, &d, &events, &heaviest, runs).await {
        Ok(mut sized) => {
            sized["heaviest"] = Value::Object(heaviest);
            sized
        }
        Err(e) => json!({"error": e, "heaviest": heaviest}),
    }
}

#[tokio::main]
async fn main() {
    // `latchkey-bench refresh-worker TABLE DATA_KEY`: one of the scale section's workers.
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, table, data_key] = args.as_slice()
        && mode == "refresh-worker"
    {
        scale::worker(table, data_key).await;
        return;
    }
    let lambda_dir = PathBuf::from(env("LATCHKEY_BENCH_LAMBDA_DIR"));
    let out = PathBuf::from(env("LATCHKEY_BENCH_OUT"));
    let reps = count("LATCHKEY_BENCH_REPEAT", 3);
    // LATCHKEY_BENCH_ONLY=cold_start,cost… runs those sections alone (default: all).
    let only = std::env::var("LATCHKEY_BENCH_ONLY").unwrap_or_default();
    let runs = |section: &str| only.is_empty() || only.split(',').any(|s| s.trim() == section);
    // Sections run alone update the last report's other sections rather than drop them.
    let mut report = match std::fs::read(out.join("report.json")) {
        Ok(last) if !only.is_empty() => serde_json::from_slice(&last).unwrap_or_else(|_| json!({})),
        _ => json!({}),
    };
    if runs("sizes") {
        eprintln!("bench: sizes");
        report["sizes"] = sizes(&lambda_dir);
    }
    let deployment = deployment().await;
    if runs("round_trips") {
        eprintln!("bench: round trips per request");
        report["round_trips"] = round_trips::round_trips().await;
    }
    if runs("cold_start") {
        eprintln!("bench: cold starts");
        let runs = count("LATCHKEY_BENCH_COLD_RUNS", 20);
        report["cold_start"] = cold_starts(&lambda_dir, runs, &deployment).await;
    }
    if runs("cost") {
        eprintln!("bench: cost per request (callgrind)");
        let gateway = PathBuf::from(env("LATCHKEY_BENCH_GATEWAY"));
        report["cost"] = cost_per_request(&gateway, &deployment, reps).await;
    }
    if runs("memory") {
        eprintln!("bench: memory and price");
        report["memory"] = memory(&lambda_dir).await;
    }
    if runs("load") {
        eprintln!("bench: gateway load");
        report["load"] = load::gateway_load(reps).await;
    }
    if runs("refresh") {
        eprintln!("bench: refresh throughput");
        report["refresh"] = refresh_throughput(reps).await;
    }
    if runs("scale") {
        report["scale"] = scale::scale(
            count("LATCHKEY_BENCH_SCALE_TOTAL", 100_000),
            count("LATCHKEY_BENCH_SCALE_DUE", 10_000),
            count("LATCHKEY_BENCH_SCALE_ALL_DUE", 100_000),
        )
        .await;
    }
    let targets = report::targets(&report);
    report["targets"] = targets
        .iter()
        .map(|(w, m)| json!({"target": w, "met": m}))
        .collect();
    std::fs::create_dir_all(&out).expect("output folder");
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .expect("write");
    let md = report::markdown(&report, &targets);
    std::fs::write(out.join("report.md"), &md).expect("write");
    println!("{md}");
}
