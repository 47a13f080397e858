//! The whole of a Lambda function's `main`: configuration and clients built once at init,
//! then every invocation dispatched to the function's handler.

use std::convert::Infallible;
use std::time::{Duration, Instant, SystemTime};

use lambda_http::{LambdaEvent, lambda_runtime};

use crate::app::{App, Settings};
use crate::http::{Function, Handler, dispatch};

pub async fn run(
    function: Function,
    handler: &'static dyn Handler,
) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::new(Settings::from_env()?).await?;
    // Lives as long as the execution environment; invocations borrow it.
    let app: &'static App = Box::leak(Box::new(app));
    lambda_http::run(lambda_http::service_fn(move |request| async move {
        Ok::<_, Infallible>(dispatch(Some(function), handler, request, app).await)
    }))
    .await
}

/// The scheduled `refresh` function: each EventBridge invocation is one refresh run,
/// stopping short of the invocation's deadline. `LATCHKEY_REFRESH_CONCURRENCY` bounds the
/// refreshes in flight (default 64).
pub async fn run_refresh() -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::new(Settings::from_env()?).await?;
    let app: &'static App = Box::leak(Box::new(app));
    let concurrency = std::env::var("LATCHKEY_REFRESH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    lambda_runtime::run(lambda_http::service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // Leave time to finish the refreshes in flight (token calls time out at 15 s).
            let left = event
                .context
                .deadline()
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(Duration::from_secs(20));
            let options = crate::connections::RunOptions {
                concurrency,
                stop_at: Some(Instant::now() + left),
            };
            let report = crate::connections::run(app, options).await?;
            Ok::<_, lambda_http::Error>(serde_json::to_value(report)?)
        },
    ))
    .await
}
