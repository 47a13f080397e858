//! Structured logs on stderr (CloudWatch under Lambda). `RUST_LOG` sets the filter.
//! Nothing secret is ever a field: secrets are `Secret`, whose Display is redacted.

pub fn init() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
