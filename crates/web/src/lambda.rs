//! The whole of a Lambda function's `main`: configuration and clients built once at init,
//! then every invocation dispatched to the function's handler.
//!
//! The runtime is tokio's current-thread one. Lambda hands a process one invocation at a
//! time and, at the template's 256 MB, a fraction of one vCPU: worker threads would add
//! nothing but their start-up to every cold start (about a tenth of its wall time and
//! two dozen page faults, `perf stat` runs interleaved). Concurrent work (a refresh run's
//! token requests) is I/O-bound and interleaves on the one thread.

use std::convert::Infallible;

use latchkey_core::{App, FirstAttempt};

use crate::setup::Settings;
use crate::{Function, Handler, dispatch};

/// Runs a function's whole life on the current-thread runtime.
pub fn block_on<F: Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(work)
}

/// An HTTP function (API Gateway events).
pub fn run(function: Function, handler: &'static dyn Handler) -> Result<(), lambda_http::Error> {
    block_on(async move {
        let app = init().await?;
        // Lives as long as the execution environment; invocations borrow it.
        let app = &app;
        lambda_http::run(lambda_http::service_fn(move |request| async move {
            Ok::<_, Infallible>(dispatch(Some(function), handler, request, app).await)
        }))
        .await
    })
}

/// How long a request waits for a new webhook's first attempt before answering.
pub const WEBHOOK_FIRST_ATTEMPT_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// A function's init: logging, then the [`App`] from the environment the template sets.
pub async fn init() -> Result<App, lambda_http::Error> {
    crate::telemetry::init();
    let mut app = crate::setup::app(Settings::from_env()?).await?;
    // Lambda freezes the process once the response is out: a background attempt would
    // wait for the next invocation, up to the next refresh run.
    app.webhook_first_attempt = FirstAttempt::Inline(WEBHOOK_FIRST_ATTEMPT_BUDGET);
    Ok(app)
}
