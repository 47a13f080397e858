//! A webhook receiver for an account, and what it received.

use std::collections::BTreeSet;
use std::time::Duration;

use lambda_http::http::StatusCode;
use serde_json::{Value, json};

use crate::Harness;
use crate::loopback::{Loopback, Recorded};

/// Points the harness account's webhooks at a new receiver and answers it with the
/// signing secret (shown once).
pub async fn receiving(h: &Harness) -> (Loopback, String) {
    let receiver = Loopback::start(|_| async { (204, String::new()) }).await;
    let secret = pointed_at(h, &receiver).await;
    (receiver, secret)
}

/// Points the harness account's webhooks at `receiver`; answers the signing secret.
pub async fn pointed_at(h: &Harness, receiver: &Loopback) -> String {
    let (status, _) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"webhook_url": format!("{}/hooks", receiver.url)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, secret) = h
        .send("POST", "/v1/account/webhook-secret", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    secret["secret"].as_str().unwrap().to_owned()
}

/// The webhook events of `kind` received so far for connection `id`, by event id
/// (delivery is at least once: a retry may bring one twice).
pub async fn events(receiver: &Loopback, kind: &str, id: &str) -> BTreeSet<String> {
    // Deliveries run off the caller's path: give them a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    receiver
        .recorded()
        .into_iter()
        .filter_map(|r: Recorded| serde_json::from_str::<Value>(&r.body).ok())
        .filter(|v| v["type"] == kind && v["data"]["connection"]["id"] == id)
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}
