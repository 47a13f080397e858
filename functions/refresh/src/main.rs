//! The `refresh` Lambda function: not an HTTP function, so it runs on `lambda_runtime`
//! directly and takes its EventBridge schedule event as a typed value. Each invocation is
//! one refresh run, stopping short of the invocation's deadline.
//! `LATCHKEY_REFRESH_CONCURRENCY` bounds the refreshes in flight (default 64).
//! `LATCHKEY_MAIL_FROM` (the template's `ReminderSender`), when set, is the SES sender of
//! the reminder emails the run sends.

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use latchkey_connect::connections::{RunOptions, RunReport, run};
use latchkey_core::App;
use latchkey_mail::Mailer;
use latchkey_web::lambda::{block_on, init};

fn main() -> Result<(), Error> {
    block_on(serve())
}

async fn serve() -> Result<(), Error> {
    let app = init().await?;
    let app = &app;
    // Only this function sends email, so only it links the SES client.
    let mailer = match std::env::var("LATCHKEY_MAIL_FROM") {
        Ok(from) if !from.is_empty() => {
            let sdk = latchkey_web::setup::sdk_config().await?;
            Some(Mailer::ses(&sdk, &from)?)
        }
        _ => None,
    };
    let mailer = mailer.as_ref();
    let concurrency = std::env::var("LATCHKEY_REFRESH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| {
        invocation(app, concurrency, mailer, event)
    }))
    .await
}

async fn invocation(
    app: &App,
    concurrency: usize,
    mailer: Option<&Mailer>,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<RunReport, Error> {
    tracing::info!(
        event_id = event.payload.id.as_deref().unwrap_or(""),
        source = %event.payload.source,
        "scheduled refresh run"
    );
    // Leave time to finish the refreshes in flight (token calls time out at 15 s).
    let left = event
        .context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(Duration::from_secs(20));
    let options = RunOptions {
        concurrency,
        stop_at: Some(Instant::now() + left),
        mailer,
    };
    // Token calls still in flight at the end are cut short, not the invocation.
    let deadline = latchkey_web::answer_by(event.context.deadline());
    let report = latchkey_domain::deadline::within(deadline, run(app, options)).await?;
    let count = |n: usize| n as u64;
    latchkey_web::metrics::report(
        &[],
        &[
            ("Refreshed", count(report.refreshed)),
            ("RefreshFailed", count(report.failed)),
            ("NeedsReauth", count(report.needs_reauth)),
            ("Errored", count(report.errors)),
            ("WebhooksDelivered", count(report.webhooks_delivered)),
            ("WebhooksFailed", count(report.webhooks_failed)),
            ("RemindersSent", count(report.reminders_sent)),
        ],
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What EventBridge Scheduler sends for `rate(5 minutes)` (AWS documentation's sample).
    const SCHEDULED: &str = r#"{
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-12-02T12:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/latchkey-refresh"],
        "detail": {}
    }"#;

    #[test]
    fn the_schedule_event_is_read_as_an_eventbridge_event() {
        let event: EventBridgeEvent = serde_json::from_str(SCHEDULED).unwrap();
        assert_eq!(event.detail_type, "Scheduled Event");
        assert_eq!(event.source, "aws.events");
        assert!(event.time.is_some());
    }

    #[test]
    fn anything_else_is_refused_before_a_run_starts() {
        // An API Gateway request is not a schedule event: the runtime answers an error.
        let http = r#"{"version": "2.0", "routeKey": "GET /", "rawPath": "/"}"#;
        assert!(serde_json::from_str::<EventBridgeEvent>(http).is_err());
    }
}
