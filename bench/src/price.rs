//! Memory and price. Lambda gives a function CPU in proportion to its memory (1,769 MB buys
//! one vCPU), so a size is chosen from two measurements: the peak RSS of the function over
//! its heaviest scenario, and how its start-up and answers slow down under the CPU share
//! of each size (the emulator's process in a cgroup with that quota). The price per
//! million requests follows from the billed duration (rounded up to the millisecond) at
//! each size and the list prices below, next to an always-on container; the report gives
//! it at the size each function is deployed with (`infra/template.yaml`).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cold_start::{self, CpuQuota};
use crate::{Deployment, median, ms};

/// The sizes tried, MB.
pub const SIZES: &[u32] = &[128, 256, 512, 1024];

/// AWS list prices, us-east-1, x86_64 (arm64 is 20% cheaper per GB-second).
pub const LAMBDA_PER_GB_SECOND: f64 = 0.000_016_666_7;
pub const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
/// Fargate (Linux, x86_64): a 0.25 vCPU, 0.5 GB task, always on (730 hours a month).
pub const FARGATE_PER_VCPU_HOUR: f64 = 0.040_48;
pub const FARGATE_PER_GB_HOUR: f64 = 0.004_445;

pub fn container_per_month() -> f64 {
    (0.25 * FARGATE_PER_VCPU_HOUR + 0.5 * FARGATE_PER_GB_HOUR) * 730.0
}

/// Lambda's price of a million invocations lasting `duration_ms` each at `memory_mb`.
pub fn per_million(duration_ms: f64, memory_mb: u32) -> f64 {
    let billed_s = duration_ms.ceil().max(1.0) / 1000.0;
    LAMBDA_PER_MILLION_REQUESTS
        + 1e6 * billed_s * f64::from(memory_mb) / 1024.0 * LAMBDA_PER_GB_SECOND
}

/// The size each function is deployed with: `infra/template.yaml`'s global `MemorySize`,
/// or the function's own, by its `Binary`.
pub fn deployed_sizes(template: &str) -> std::collections::BTreeMap<String, u32> {
    let size = |line: &str| {
        line.trim()
            .strip_prefix("MemorySize:")?
            .trim()
            .parse::<u32>()
            .ok()
    };
    let global = template
        .lines()
        .find(|l| l.starts_with("    MemorySize:"))
        .and_then(size);
    let mut sizes = std::collections::BTreeMap::new();
    let (mut binary, mut own): (Option<String>, Option<u32>) = (None, None);
    let mut flush = |binary: &mut Option<String>, own: &mut Option<u32>| {
        if let (Some(b), Some(mb)) = (binary.take(), own.take().or(global)) {
            sizes.insert(b, mb);
        }
    };
    for line in template.lines() {
        // A new resource (two spaces of indent) ends the one before.
        if line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':') {
            flush(&mut binary, &mut own);
        } else if let Some(b) = line.trim().strip_prefix("Binary:") {
            binary = Some(b.trim().to_owned());
        } else if line.starts_with("      MemorySize:") {
            own = size(line);
        }
    }
    flush(&mut binary, &mut own);
    sizes
}

/// Each function's init, first and warm answer at every size (medians of `runs`
/// interleaved runs), its peak RSS, and the chosen size with its price.
pub async fn sizes(
    lambda_dir: &Path,
    d: &Deployment,
    events: &[(String, String)],
    heaviest: &serde_json::Map<String, Value>,
    runs: usize,
) -> Result<Value, String> {
    let template = std::fs::read_to_string(lambda_dir.join("../../infra/template.yaml"))
        .map_err(|e| format!("infra/template.yaml: {e}"))?;
    let deployed = deployed_sizes(&template);
    let mut out = serde_json::Map::new();
    for (binary, event) in events {
        let path = lambda_dir.join(binary).join("bootstrap");
        let mut per_size = serde_json::Map::new();
        let mut rss: f64 = 0.0;
        for &mb in SIZES {
            let quota = CpuQuota::new(mb)?;
            let (mut init, mut first, mut warm) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                let m = cold_start::measure(&path, event, &d.env, Some(&quota))
                    .await
                    .map_err(|e| format!("{binary} at {mb} MB: {e}"))?;
                init.push(ms(m.init));
                first.push(ms(m.first_response));
                warm.push(ms(m.warm_response));
                rss = rss.max(m.peak_rss_mib);
            }
            let warm = median(warm);
            per_size.insert(
                mb.to_string(),
                json!({
                    "init_ms": median(init), "first_ms": median(first), "warm_ms": warm,
                    "per_million_usd": per_million(warm, mb),
                }),
            );
        }
        // The heaviest scenario's own peak where one was measured (it may be larger).
        let peak = heaviest
            .get(binary)
            .and_then(|h| h["peak_rss_mib"].as_f64())
            .unwrap_or(0.0)
            .max(rss);
        let chosen = deployed.get(binary).copied().unwrap_or(256);
        let warm = per_size
            .get(&chosen.to_string())
            .and_then(|s| s["warm_ms"].as_f64())
            .unwrap_or(f64::NAN);
        out.insert(
            binary.clone(),
            json!({
                "sizes": per_size, "peak_rss_mib": peak, "deployed_mb": chosen,
                "per_million_usd": per_million(warm, chosen),
                "break_even_million_per_month": container_per_month() / per_million(warm, chosen),
            }),
        );
    }
    Ok(json!({
        "functions": out,
        "container_per_month_usd": container_per_month(),
        "runs": runs,
    }))
}

/// Samples a process's `VmHWM` until it exits; answers the last reading (the peak).
pub async fn watch_peak(pid: u32, stop: impl std::future::Future<Output = ()>) -> f64 {
    let mut peak = 0.0_f64;
    let mut stop = std::pin::pin!(stop);
    loop {
        if let Some(now) = cold_start::peak_rss_mib(pid) {
            peak = peak.max(now);
        }
        tokio::select! {
            _ = &mut stop => return peak,
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
}

/// Peak RSS over each heavy scenario the issue names: a catalog page of 100 (the catalog
/// function, through the emulator), a proxied answer of 5 MB and a refresh run with 64
/// token calls in flight. The last two need a provider on loopback, which a deployed
/// function refuses to call, so they run in `latchkey` (every handler in one binary, over
/// SQLite: an upper bound of the function's own) with `--allow-private-egress`.
pub async fn heaviest(
    gateway: &Path,
    lambda_dir: &Path,
    d: &Deployment,
) -> Result<serde_json::Map<String, Value>, String> {
    use latchkey_core::App;
    use latchkey_core::accounts::create_account;
    use latchkey_core::catalog::create_integration;
    use latchkey_domain::SystemClock;
    use std::process::Stdio;
    use std::sync::Arc;

    let mut out = serde_json::Map::new();
    let catalog = cold_start::measure(
        &lambda_dir.join("catalog").join("bootstrap"),
        &crate::http_event("GET", "/v1/integrations", "limit=100", &d.key),
        &d.env,
        None,
    )
    .await?;
    out.insert(
        "catalog".into(),
        json!({"scenario": "a catalog page of 100", "process": "catalog function", "peak_rss_mib": catalog.peak_rss_mib}),
    );

    const BODY_BYTES: usize = 5 * 1024 * 1024;
    const DUE: usize = 192;
    let (provider, _peer) = crate::peer::serve(|r: crate::peer::Request| async move {
        if r.path.ends_with("/token") {
            tokio::time::sleep(crate::refresh::TOKEN_LATENCY).await;
            return (
                200,
                vec![("content-type", "application/json".to_owned())],
                r#"{"access_token":"a","refresh_token":"r","expires_in":3600}"#.to_owned(),
            );
        }
        (
            200,
            vec![("content-type", "text/plain".to_owned())],
            "x".repeat(BODY_BYTES),
        )
    })
    .await;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (key, connection) = {
        let table = latchkey_store::sqlite::SqliteTable::open(&dir.path().join("latchkey.db"))
            .map_err(|e| e.to_string())?;
        let keyring = latchkey_vault::Keyring::load_or_create(&dir.path().join("sealing.key"))
            .map_err(|e| e.to_string())?;
        let mut app = App::from_parts(
            Arc::new(table),
            Arc::new(SystemClock),
            latchkey_vault::Vault::sealed(keyring),
            None,
        );
        app.allow_loopback = true;
        let (account, key) = create_account(&app.store, "Heavy")
            .await
            .map_err(|e| e.to_string())?;
        let input = serde_json::from_value(crate::peer::integration(provider))
            .map_err(|e| e.to_string())?;
        let integration = create_integration(&app.store, &app.vault, &account.id, input, None)
            .await
            .map_err(|e| e.to_string())?;
        for _ in 0..DUE {
            latchkey_core::testing::oauth_connection(&app, &account.id, &integration.id, 60).await;
        }
        let connection =
            latchkey_core::testing::oauth_connection(&app, &account.id, &integration.id, 7200)
                .await;
        (key.expose().to_owned(), connection)
    };
    let latchkey = |args: &[&str]| {
        let mut c = tokio::process::Command::new(gateway);
        c.arg("--data-dir")
            .arg(dir.path())
            .arg("--allow-private-egress")
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        c
    };

    let mut run = latchkey(&["refresh", "--once", "--concurrency", "64"])
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = run.id().ok_or("refresh exited at once")?;
    let (peak, status) = {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let watch = watch_peak(pid, async {
            let _ = done_rx.await;
        });
        let wait = async {
            let status = run.wait().await;
            let _ = done_tx.send(());
            status
        };
        tokio::join!(watch, wait)
    };
    if !status.map_err(|e| e.to_string())?.success() {
        return Err("latchkey refresh --once failed".into());
    }
    out.insert(
        "refresh".into(),
        json!({"scenario": format!("a refresh run: {DUE} due, 64 in flight, token endpoint 150 ms"), "process": "latchkey refresh --once", "peak_rss_mib": peak}),
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = latchkey(&["serve", "--refresh-every", "0", "--addr", &addr])
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = server.id().ok_or("serve exited at once")?;
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..300 {
        if client
            .get(format!("http://{addr}/v1/ready"))
            .send()
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !ready {
        return Err("latchkey serve did not start".into());
    }
    let idle = cold_start::peak_rss_mib(pid).unwrap_or(f64::NAN);
    let answer = client
        .get(format!(
            "http://{addr}/v1/connections/{connection}/proxy/big"
        ))
        .bearer_auth(&key)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?.len();
    if !status.is_success() || bytes != BODY_BYTES {
        return Err(format!("the proxy answered {status} with {bytes} bytes"));
    }
    let peak = cold_start::peak_rss_mib(pid).unwrap_or(f64::NAN);
    out.insert(
        "connections".into(),
        json!({"scenario": "a proxied answer of 5 MB", "process": "latchkey serve", "peak_rss_mib": peak, "growth_mib": peak - idle}),
    );
    drop(server);
    Ok(out)
}
