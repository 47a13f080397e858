//! Cost per request: instructions counted by valgrind callgrind. The local gateway
//! (`latchkey serve`, the same handlers the Lambda functions run, over the same DynamoDB
//! store on moto) runs under callgrind twice per scenario: once answering `warm` requests,
//! once answering `warm + n`. The difference over `n` is what one warm request costs;
//! start-up, the first request's one-time work and the shutdown cancel out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};

#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

pub struct Gateway<'a> {
    pub binary: &'a Path,
    pub env: &'a [(String, String)],
}

/// Instructions the gateway executed in a whole run that answered `calls`, each with
/// `expect` (a fast error would flatter the figure), in all and by function.
async fn run_counted(
    gateway: &Gateway<'_>,
    calls: &[Call],
    expect: StatusCode,
) -> Result<(u64, BTreeMap<String, u64>), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out: PathBuf = dir.path().join("callgrind.out");
    let log = dir.path().join("gateway.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut child = tokio::process::Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(gateway.binary)
        .args(["serve", "--refresh-every", "0", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .env_clear()
        .envs(gateway.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("LATCHKEY_DATA_DIR", dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("valgrind: {e} (install valgrind)"))?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    // Refused connections cost the process nothing, so waiting is not counted; the one
    // answered probe (any status) is in every run alike.
    let mut up = false;
    for _ in 0..600 {
        if client.get(format!("{base}/v1/ready")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !up {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = said.lines().rev().take(15).collect();
        return Err(format!(
            "the gateway did not start under valgrind within 60 s; it said:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    for call in calls {
        let mut request = client.request(call.method.clone(), format!("{base}{}", call.path));
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status != expect {
            return Err(format!(
                "{} {}: answered {status}: {text}",
                call.method, call.path
            ));
        }
    }
    // SIGTERM: the process ends and callgrind writes its counts on the way out.
    let pid = child.id().ok_or("the gateway exited early")?;
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    tokio::time::timeout(Duration::from_secs(120), child.wait())
        .await
        .map_err(|_| "the gateway did not stop")?
        .map_err(|e| e.to_string())?;
    Ok((total_instructions(&out)?, by_function(&out)?))
}

/// Instructions by function (self cost), from `callgrind_annotate`. The gateway is built
/// with its symbols (`--profile profiling`: release, not stripped), so names are real.
fn by_function(file: &Path) -> Result<BTreeMap<String, u64>, String> {
    let out = std::process::Command::new("callgrind_annotate")
        .args(["--threshold=100", "--inclusive=no"])
        .arg(file)
        .output()
        .map_err(|e| format!("callgrind_annotate: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut functions = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        let Some((count, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(count) = count.replace(',', "").parse::<u64>() else {
            continue;
        };
        // "1,234 (5.6%)  file:function" (the percentage is there in newer releases).
        let rest = rest.trim_start();
        let rest = match rest.strip_prefix('(') {
            Some(r) => r.split_once(')').map_or(r, |(_, after)| after).trim_start(),
            None => rest,
        };
        let function = rest.split_once(':').map_or(rest, |(_, f)| f);
        if !function.is_empty() && !rest.starts_with("PROGRAM TOTALS") {
            *functions.entry(function.to_owned()).or_default() += count;
        }
    }
    Ok(functions)
}

/// The `summary:` (or `totals:`) line of a callgrind output file: instructions executed.
fn total_instructions(file: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("{}: no instruction total", file.display()))
}

/// What one warm request costs: its instructions and the functions that spent them most.
pub struct PerRequest {
    pub instructions: f64,
    /// The five functions with the most instructions of their own, per request.
    pub top: Vec<(String, f64)>,
}

/// Instructions per warm request: (run answering `calls` − run answering its first
/// `warm`) / the rest, in all and by function. Callers give each call once (a callback
/// consumes its flow).
pub async fn per_request(
    gateway: &Gateway<'_>,
    calls: &[Call],
    warm: usize,
    expect: StatusCode,
) -> Result<PerRequest, String> {
    let (first, rest) = calls.split_at(warm);
    let (short, short_by) = run_counted(gateway, first, expect).await?;
    // The long run needs its own warm-up calls too: the rest starts with `warm` of them.
    let (long, long_by) = run_counted(gateway, rest, expect).await?;
    let n = (rest.len() - warm) as f64;
    let mut top: Vec<(String, f64)> = long_by
        .into_iter()
        .map(|(f, c)| {
            let before = short_by.get(&f).copied().unwrap_or(0);
            (f, c.saturating_sub(before) as f64 / n)
        })
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.truncate(5);
    Ok(PerRequest {
        instructions: long.saturating_sub(short) as f64 / n,
        top,
    })
}
