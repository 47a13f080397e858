//! The `links` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_shared::lambda::run(
        latchkey_shared::http::Function::Links,
        &latchkey_links::Links,
    )
}
