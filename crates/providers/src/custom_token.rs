//! Custom token auth (Airkit): a token fetched from an endpoint with a configured verb and
//! parameters, which may use the connection's parameters (secret ones included).

use crate::wire::{TOKEN_BODY_LIMIT, TOKEN_TIMEOUT, read_capped};
use latchkey_domain::deadline::budget;
use std::collections::BTreeMap;

use crate::template::{fill, fill_url};
use latchkey_domain::FlowError;
use latchkey_domain::HttpVerb;
use latchkey_domain::Secret;

/// The endpoint as the integration describes it.
pub struct CustomTokenEndpoint<'a> {
    pub url: &'a str,
    pub method: HttpVerb,
    pub params: &'a BTreeMap<String, String>,
    /// Where the token is in the JSON answer; dots walk into objects (`data.token`).
    pub token_field: &'a str,
    pub expires_in_field: Option<&'a str>,
}

fn at<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// Fetches the token; returns it with its expiry, if the answer gives a lifetime.
pub async fn fetch(
    http: &reqwest::Client,
    endpoint: &CustomTokenEndpoint<'_>,
    values: &BTreeMap<String, String>,
    allow_loopback: bool,
    now: i64,
) -> Result<(Secret, Option<i64>), FlowError> {
    let mut url = fill_url(endpoint.url, values, allow_loopback)?;
    let mut form = Vec::with_capacity(endpoint.params.len());
    for (k, v) in endpoint.params {
        form.push((k.clone(), fill(v, values)?));
    }
    let request = match endpoint.method {
        HttpVerb::Post => http.post(url).form(&form),
        HttpVerb::Get => {
            url.query_pairs_mut().extend_pairs(&form);
            http.get(url)
        }
    };
    let response = request
        .header("accept", "application/json")
        .timeout(budget(TOKEN_TIMEOUT))
        .send()
        .await
        .map_err(|_| FlowError::TokenExchange("unreachable"))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(FlowError::TokenExchange("provider_unavailable"));
    }
    if matches!(status.as_u16(), 408 | 429) {
        return Err(FlowError::TokenExchange("throttled"));
    }
    if !status.is_success() {
        return Err(FlowError::TokenExchange("rejected"));
    }
    let body = read_capped(response, TOKEN_BODY_LIMIT).await?;
    let body: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| FlowError::TokenExchange("invalid_response"))?;
    let token = at(&body, endpoint.token_field)
        .and_then(|v| v.as_str())
        .filter(|t| !t.is_empty())
        .ok_or(FlowError::TokenExchange("no_access_token"))?;
    let expires_at = endpoint
        .expires_in_field
        .and_then(|f| at(&body, f))
        .and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .and_then(|s| latchkey_domain::expiry_after(now, s));
    Ok((Secret::new(token), expires_at))
}
