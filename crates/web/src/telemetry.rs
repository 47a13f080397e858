//! Structured logs on stderr: one JSON object per line under Lambda (CloudWatch Logs
//! Insights reads its fields, the request's span among them), text locally. `RUST_LOG`
//! sets the filter. Nothing secret is ever a field: secrets are `Secret`, whose Display
//! is redacted.

pub fn init() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let _ = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init()
    } else {
        builder.try_init()
    };
}
