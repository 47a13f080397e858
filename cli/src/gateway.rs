//! The local gateway: every route of the route table on one loopback port, each answered
//! by the same handler its Lambda function uses.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use latchkey_connect::connections::RunOptions;
use latchkey_core::App;
use latchkey_mail::Mailer;
use latchkey_web::{ApiError, Body, Function, Handler, MAX_BODY_BYTES, dispatch, routes};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub fn handler_for(function: Function) -> &'static dyn Handler {
    match function {
        Function::Catalog => &latchkey_catalog::Catalog,
        Function::Consumers => &latchkey_consumers::Consumers,
        Function::Links => &latchkey_links::Links,
        Function::Popup => &latchkey_popup::Popup,
        Function::Callback => &latchkey_callback::Callback,
        Function::Connections => &latchkey_connections::Connections,
        Function::Console => &latchkey_console::Console,
    }
}

/// Answers one request as API Gateway + the route's Lambda function would.
pub async fn handle(app: &App, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        Limited::new(body, MAX_BODY_BYTES).collect(),
    );
    let response = match read.await {
        Err(_) => ApiError::RequestTimeout.into_response(),
        Ok(Err(_)) => ApiError::PayloadTooLarge.into_response(),
        Ok(Ok(collected)) => {
            let bytes = collected.to_bytes();
            let body = if bytes.is_empty() {
                Body::Empty
            } else {
                Body::Binary(bytes.to_vec())
            };
            let request = lambda_http::http::Request::from_parts(parts, body);
            match routes::find(request.method(), request.uri().path()) {
                Ok((route, _)) => {
                    dispatch(
                        Some(route.function),
                        handler_for(route.function),
                        request,
                        app,
                    )
                    .await
                }
                Err(miss) => miss.into_response(),
            }
        }
    };
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// A client must send a request's headers within this (idle keep-alive connections end
/// too), and its body within [`BODY_READ_TIMEOUT`]: an idle or slow socket holds nothing.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 512;

/// Serves until the process ends. One task per connection, at most [`MAX_CONNECTIONS`];
/// a failed `accept` (out of file descriptors, a connection reset before it was taken) is
/// logged and serving goes on.
pub async fn serve(listener: TcpListener, app: Arc<App>) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed; serving on");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |request| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(handle(&app, request).await) }
            });
            if let Err(e) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}

/// Runs the scheduled refresh job every `every`, as the deployed EventBridge schedule does.
pub fn refresh_timer(app: Arc<App>, every: std::time::Duration, mailer: Option<Mailer>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let options = RunOptions {
            mailer: mailer.as_ref(),
            ..RunOptions::default()
        };
        loop {
            ticks.tick().await;
            if let Err(e) = latchkey_connect::connections::run(&app, options).await {
                tracing::warn!(error = %e, "refresh run failed");
            }
        }
    });
}

/// Binds the gateway's port (tests pass port 0 and read the chosen address back).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
