//! The `connections` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    latchkey_shared::lambda::run(
        latchkey_shared::http::Function::Connections,
        &latchkey_connections::Connections,
    )
    .await
}
