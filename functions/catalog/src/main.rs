//! The `catalog` Lambda function.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_web::lambda::run(latchkey_web::Function::Catalog, &latchkey_catalog::Catalog)
}
