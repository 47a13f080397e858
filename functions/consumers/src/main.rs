//! The `consumers` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_shared::lambda::run(
        latchkey_shared::http::Function::Consumers,
        &latchkey_consumers::Consumers,
    )
}
