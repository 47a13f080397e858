//! CloudWatch metrics in Embedded Metric Format: one JSON line on stdout per report, which
//! CloudWatch Logs turns into metrics (namespace `Latchkey`, dimension `Stage`) without
//! an API call or an agent. Written only under Lambda; the template's alarms watch them.

use serde_json::{Map, Value, json};

/// The namespace of every Latchkey metric.
pub const NAMESPACE: &str = "Latchkey";

/// Every metric name the code emits (the template's alarms may name only these).
pub const METRICS: &[&str] = &[
    "Refreshed",
    "RefreshFailed",
    "NeedsReauth",
    "Errored",
    "WebhooksDelivered",
    "WebhooksFailed",
    "RemindersSent",
    "CallbackSucceeded",
    "CallbackFailed",
];

/// The EMF document for `counts` (metric name, value) at `timestamp_ms`: each metric per
/// `Stage` (what the alarms watch) and, with `extra` dimensions (an error code), also per
/// those.
pub fn document(
    stage: &str,
    extra: &[(&str, &str)],
    counts: &[(&'static str, u64)],
    timestamp_ms: u128,
) -> Value {
    let mut dimensions = vec![vec!["Stage"]];
    if !extra.is_empty() {
        let mut narrower = vec!["Stage"];
        narrower.extend(extra.iter().map(|(name, _)| *name));
        dimensions.push(narrower);
    }
    let metrics: Vec<Value> = counts
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": metrics,
            }],
        }),
    );
    root.insert("Stage".into(), json!(stage));
    for (name, value) in extra {
        root.insert((*name).into(), json!(value));
    }
    for (name, value) in counts {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root)
}

/// Writes `counts` as one EMF line under Lambda (nothing elsewhere, nothing when every
/// count is zero).
pub fn report(extra: &[(&str, &str)], counts: &[(&'static str, u64)]) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none() || counts.iter().all(|c| c.1 == 0) {
        return;
    }
    let stage = std::env::var("LATCHKEY_STAGE").unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    println!("{}", document(&stage, extra, counts, now));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_an_emf_document_cloudwatch_reads() {
        let doc = document(
            "prod",
            &[("ErrorCode", "invalid_grant")],
            &[("RefreshFailed", 3)],
            1_700_000_000_000,
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Latchkey");
        assert_eq!(
            directive["Dimensions"],
            json!([["Stage"], ["Stage", "ErrorCode"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "RefreshFailed", "Unit": "Count"}])
        );
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
        // Every dimension and metric named in the directive is a member of the root.
        assert_eq!(doc["Stage"], "prod");
        assert_eq!(doc["ErrorCode"], "invalid_grant");
        assert_eq!(doc["RefreshFailed"], 3);
        assert!(METRICS.contains(&"RefreshFailed"));
    }
}
