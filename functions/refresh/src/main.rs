//! The `refresh` Lambda function (EventBridge schedule): each invocation is one refresh
//! run, stopping short of the invocation's deadline. `LATCHKEY_REFRESH_CONCURRENCY`
//! bounds the refreshes in flight (default 64).

use std::time::{Duration, Instant, SystemTime};

use lambda_http::{Error, LambdaEvent, lambda_runtime};
use latchkey_connect::connections::{RunOptions, run};
use latchkey_core::App;
use latchkey_web::lambda::{block_on, init};

fn main() -> Result<(), Error> {
    block_on(serve())
}

async fn serve() -> Result<(), Error> {
    let app = init().await?;
    let app = &app;
    let concurrency = std::env::var("LATCHKEY_REFRESH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<serde_json::Value>| invocation(app, concurrency, event),
    ))
    .await
}

async fn invocation(
    app: &App,
    concurrency: usize,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, Error> {
    // Leave time to finish the refreshes in flight (token calls time out at 15 s).
    let left = event
        .context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(Duration::from_secs(20));
    let options = RunOptions {
        concurrency,
        stop_at: Some(Instant::now() + left),
    };
    // Boxed: the run's future type is deep enough to overflow the compiler's layout
    // query when nested in the runtime's; one allocation per invocation.
    let report = Box::pin(run(app, options)).await?;
    Ok(serde_json::to_value(report)?)
}
