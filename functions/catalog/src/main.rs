//! The `catalog` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    latchkey_shared::lambda::run(
        latchkey_shared::http::Function::Catalog,
        &latchkey_catalog::Catalog,
    )
    .await
}
