//! A loopback HTTP server whose answers come from an async function: the Lambda Runtime
//! API emulator and the slow token endpoint are both one of these.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Bytes,
}

pub type Answer = (u16, Vec<(&'static str, String)>, String);

/// Serves until the returned task is aborted.
pub async fn serve<F, Fut>(answer: F) -> (SocketAddr, tokio::task::JoinHandle<()>)
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Answer> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let answer = Arc::new(answer);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<Incoming>| {
                    let answer = answer.clone();
                    async move {
                        let method = request.method().to_string();
                        let path = request.uri().path().to_owned();
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let (status, headers, text) = answer(Request { method, path, body }).await;
                        let mut response = hyper::Response::new(Full::new(Bytes::from(text)));
                        *response.status_mut() = status.try_into().expect("status");
                        for (name, value) in headers {
                            response
                                .headers_mut()
                                .insert(name, value.parse().expect("header"));
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, task)
}

/// A token endpoint answering every request at once with fresh tokens.
pub async fn token_endpoint() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    serve(|_| async {
        (
            200,
            vec![("content-type", "application/json".to_owned())],
            r#"{"access_token":"a","refresh_token":"r","expires_in":3600,"token_type":"Bearer"}"#
                .to_owned(),
        )
    })
    .await
}

/// A custom OAuth 2.0 integration whose provider is the loopback peer at `addr`.
pub fn integration(addr: SocketAddr) -> serde_json::Value {
    serde_json::json!({
        "key": "bench", "name": "Bench",
        "auth_options": [{
            "key": "oauth", "type": "oauth2",
            "authorization_url": format!("http://{addr}/auth"),
            "token_url": format!("http://{addr}/token"),
            "client": {"client_id": "bench", "client_secret": "bench-secret"}
        }],
        "api": {"base_url": format!("http://{addr}")}
    })
}
