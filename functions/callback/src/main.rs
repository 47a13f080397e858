//! The `callback` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_web::lambda::run(
        latchkey_web::Function::Callback,
        &latchkey_callback::Callback,
    )
}
