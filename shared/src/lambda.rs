//! The whole of a Lambda function's `main`: configuration and clients built once at init,
//! then every invocation dispatched to the function's handler.

use std::convert::Infallible;

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
