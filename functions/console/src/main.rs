//! The `console` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_web::lambda::run(latchkey_web::Function::Console, &latchkey_console::Console)
}
