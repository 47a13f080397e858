//! The `refresh` Lambda function (EventBridge schedule): one refresh run per invocation.

// The run's future nests the AWS SDK's deep future types; rustc's default query depth
// (128) is just short of laying it out.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    latchkey_shared::lambda::run_refresh().await
}
