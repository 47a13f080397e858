//! The `consumers` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_web::lambda::run(
        latchkey_web::Function::Consumers,
        &latchkey_consumers::Consumers,
    )
}
