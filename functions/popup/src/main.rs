//! The `popup` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_web::lambda::run(latchkey_web::Function::Popup, &latchkey_popup::Popup)
}
