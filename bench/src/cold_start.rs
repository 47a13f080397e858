//! Cold start: a minimal Lambda Runtime API emulator starts a function binary, records
//! spawn → first `GET /next` (init) and spawn → first response, then hands the same event
//! to the now warm process once more (its answer time is what the store alone costs, the
//! floor a first response cannot go under), and stops it.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::peer::{Request, serve};

pub struct ColdStart {
    pub init: Duration,
    pub first_response: Duration,
    /// Event handed over → response, on the second (warm) invocation.
    pub warm_response: Duration,
    /// The process's peak resident set (`VmHWM`) after both invocations, in MiB.
    pub peak_rss_mib: f64,
}

/// A CPU quota like Lambda's: `memory_mb` of 1,769 MB buys one vCPU. The process is put in
/// a cgroup (v1 `cpu` controller) whose CFS quota is that share of a 10 ms period, short
/// enough that a start-up of a few milliseconds of CPU is stretched as Lambda stretches it.
pub struct CpuQuota {
    dir: std::path::PathBuf,
    memory_mb: u32,
}

impl CpuQuota {
    pub fn new(memory_mb: u32) -> Result<Self, String> {
        const PERIOD_US: u64 = 10_000;
        let dir =
            std::path::PathBuf::from(format!("/sys/fs/cgroup/cpu/latchkey-bench-{memory_mb}"));
        let quota = (PERIOD_US * u64::from(memory_mb) / 1769).max(1000);
        let set = || -> std::io::Result<()> {
            if !dir.exists() {
                std::fs::create_dir(&dir)?;
            }
            std::fs::write(dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
            std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())
        };
        set().map_err(|e| {
            format!(
                "cgroup {}: {e} (needs root and the v1 cpu controller)",
                dir.display()
            )
        })?;
        Ok(Self { dir, memory_mb })
    }
}

impl Drop for CpuQuota {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `VmHWM` of a live process, in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

enum Seen {
    Next(Instant),
    Response(Instant, String),
    Error(String),
}

/// One cold start of `binary` answering `event`, with `env` added to a Lambda-like
/// environment.
pub async fn measure(
    binary: &Path,
    event: &str,
    env: &[(String, String)],
    quota: Option<&CpuQuota>,
) -> Result<ColdStart, String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let served = Arc::new(AtomicU32::new(0));
    let event = event.to_owned();
    let (addr, server) = serve(move |r: Request| {
        let (tx, served, event) = (tx.clone(), served.clone(), event.clone());
        async move {
            if r.method == "GET" && r.path.ends_with("/invocation/next") {
                let polls = served.fetch_add(1, Ordering::SeqCst) + 1;
                if polls > 2 {
                    // Two invocations per process: later polls wait until it is killed.
                    std::future::pending::<()>().await;
                }
                // Stamped when the event is handed over (after any wait for a second one).
                let _ = tx.send(Seen::Next(Instant::now()));
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    + 60_000;
                return (
                    200,
                    vec![
                        ("lambda-runtime-aws-request-id", format!("bench-{polls}")),
                        ("lambda-runtime-deadline-ms", deadline.to_string()),
                        (
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:000000000000:function:bench".to_owned(),
                        ),
                        ("lambda-runtime-trace-id", "Root=1-bench".to_owned()),
                        ("content-type", "application/json".to_owned()),
                    ],
                    event,
                );
            }
            let body = String::from_utf8_lossy(&r.body).into_owned();
            if r.path.ends_with("/response") {
                let _ = tx.send(Seen::Response(Instant::now(), body));
            } else {
                let _ = tx.send(Seen::Error(format!("{} {}: {body}", r.method, r.path)));
            }
            (202, vec![], "{}".to_owned())
        }
    })
    .await;
    let started = Instant::now();
    // Under a quota, a shell joins the cgroup and then becomes the function (`exec`), so
    // not one instruction of it runs outside.
    let mut command = match quota {
        Some(q) => {
            let mut c = tokio::process::Command::new("/bin/sh");
            c.arg("-c")
                .arg(format!(
                    "echo $$ > {}/cgroup.procs && exec \"$0\"",
                    q.dir.display()
                ))
                .arg(binary);
            c
        }
        None => tokio::process::Command::new(binary),
    };
    let mut child = command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            quota.map_or(1769, |q| q.memory_mb).to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id();
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        let (mut init, mut first_response, mut handed) = (None, None, started);
        while let Some(seen) = rx.recv().await {
            match seen {
                Seen::Next(at) => {
                    init.get_or_insert(at - started);
                    handed = at;
                }
                Seen::Response(at, body) => {
                    // A fast 5xx would flatter the figure: only a served request counts.
                    let status = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["statusCode"].as_u64());
                    if status.is_some_and(|s| s >= 500) {
                        return Err(format!("answered {body}"));
                    }
                    let init = init.ok_or("responded before polling")?;
                    match first_response {
                        None => first_response = Some(at - started),
                        Some(first_response) => {
                            return Ok(ColdStart {
                                init,
                                first_response,
                                warm_response: at - handed,
                                peak_rss_mib: pid.and_then(peak_rss_mib).unwrap_or(f64::NAN),
                            });
                        }
                    }
                }
                Seen::Error(e) => return Err(e),
            }
        }
        Err("the emulator stopped".to_owned())
    })
    .await
    .unwrap_or_else(|_| Err("no response within 60 s".into()));
    let _ = child.kill().await;
    server.abort();
    outcome
}
