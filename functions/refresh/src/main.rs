//! The `refresh` Lambda function (EventBridge schedule): one refresh run per invocation.

fn main() -> Result<(), lambda_http::Error> {
    latchkey_shared::lambda::run_refresh()
}
