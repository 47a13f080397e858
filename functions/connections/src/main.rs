//! The `connections` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_web::lambda::run(
        latchkey_web::Function::Connections,
        &latchkey_connections::Connections,
    )
}
