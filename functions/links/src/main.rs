//! The `links` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_web::lambda::run(latchkey_web::Function::Links, &latchkey_links::Links)
}
