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
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
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
    .unwrap_or_else(|_| Err("no response within 30 s".into()));
    let _ = child.kill().await;
    server.abort();
    outcome
}
