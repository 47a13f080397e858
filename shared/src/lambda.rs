//! The whole of a Lambda function's `main`: configuration and clients built once at init,
//! then every invocation dispatched to the function's handler.
//!
//! The runtime is tokio's current-thread one. Lambda hands a process one invocation at a
//! time and, at the template's 256 MB, a fraction of one vCPU: worker threads would add
//! nothing but their start-up to every cold start (about a tenth of its wall time and
//! two dozen page faults, `perf stat` runs interleaved). Concurrent work (a refresh run's
//! token requests) is I/O-bound and interleaves on the one thread.

use std::convert::Infallible;
use std::time::{Duration, Instant, SystemTime};

use lambda_http::{LambdaEvent, lambda_runtime};

use crate::app::{App, Settings};
use crate::http::{Function, Handler, dispatch};

fn block_on<F: Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(work)
}

/// An HTTP function (API Gateway events).
pub fn run(function: Function, handler: &'static dyn Handler) -> Result<(), lambda_http::Error> {
    block_on(async move {
        crate::telemetry::init();
        let app = App::new(Settings::from_env()?).await?;
        // Lives as long as the execution environment; invocations borrow it.
        let app: &'static App = Box::leak(Box::new(app));
        lambda_http::run(lambda_http::service_fn(move |request| async move {
            Ok::<_, Infallible>(dispatch(Some(function), handler, request, app).await)
        }))
        .await
    })
}

/// The scheduled `refresh` function: each EventBridge invocation is one refresh run,
/// stopping short of the invocation's deadline. `LATCHKEY_REFRESH_CONCURRENCY` bounds the
/// refreshes in flight (default 64).
pub fn run_refresh() -> Result<(), lambda_http::Error> {
    block_on(refresh_loop())
}

async fn refresh_loop() -> Result<(), lambda_http::Error> {
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
