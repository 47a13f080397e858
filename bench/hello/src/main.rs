//! Hello world on `lambda_runtime`: what a Latchkey function's cold start is compared with.

use lambda_http::{LambdaEvent, lambda_runtime, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Ok::<_, lambda_http::Error>(serde_json::json!({ "hello": "world" }))
    }))
    .await
}
