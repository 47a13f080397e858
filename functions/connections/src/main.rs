//! The `connections` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_shared::lambda::run(
        latchkey_shared::http::Function::Connections,
        &latchkey_connections::Connections,
    )
}
