//! `ANY /v1/connections/{id}/proxy/{path+}`: the caller's request, sent to the
//! integration's API with the connection's credentials. On 401/403 the credentials are
//! refreshed once (unless another worker already did) and the request retried once; the
//! second answer goes back to the caller whatever it is.

use latchkey_connect::connections::{Need, Outbound, access_token, ensure_fresh, send};
use latchkey_core::App;
use latchkey_domain::{AccountId, ConnectionId};
use latchkey_store::Integrations;
use latchkey_web::{ApiError, Body, Request, Response};

/// Lambda answers at most 6 MB; larger upstream bodies are refused, not truncated.
const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

/// Never forwarded upstream: the caller's own credentials, hop-by-hop headers, and what
/// API Gateway adds.
fn forwarded(name: &str) -> bool {
    const DROPPED: [&str; 14] = [
        "authorization",
        "cookie",
        "host",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "forwarded",
        "x-api-key",
    ];
    !DROPPED.contains(&name) && !name.starts_with("x-forwarded-") && !name.starts_with("x-amzn-")
}

/// Never relayed back: hop-by-hop headers, the provider's cookies, and the length (the
/// body is re-framed).
fn relayed(name: &str) -> bool {
    const DROPPED: [&str; 8] = [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "set-cookie",
        "content-length",
    ];
    !DROPPED.contains(&name)
}

pub async fn forward(
    app: &App,
    account_id: &AccountId,
    id: &ConnectionId,
    path: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let fresh = ensure_fresh(app, account_id, id, Need::Due, true).await?;
    let integration = app
        .store
        .integration(account_id, &fresh.connection.integration_id)
        .await?
        .ok_or_else(|| ApiError::ConnectionUnusable("its integration was deleted".into()))?
        .value;
    let (parts, body) = request.into_parts();
    let outbound = Outbound {
        method: reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
            .map_err(|_| ApiError::MethodNotAllowed)?,
        path: path.to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| forwarded(name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: body.as_ref().to_vec(),
    };
    let mut response = send(
        app,
        &integration,
        (&fresh.connection).into(),
        &fresh.credentials,
        &outbound,
    )
    .await?;
    let rejected = matches!(response.status().as_u16(), 401 | 403);
    // A failed refresh leaves the provider's own 401/403 as the answer.
    if rejected
        && fresh.connection.refreshable
        && let Some(used) = access_token(&fresh.credentials).cloned()
        && let Ok(renewed) = ensure_fresh(app, account_id, id, Need::Rejected(&used), true).await
        && access_token(&renewed.credentials).is_some_and(|t| t.expose() != used.expose())
    {
        response = send(
            app,
            &integration,
            (&renewed.connection).into(),
            &renewed.credentials,
            &outbound,
        )
        .await?;
    }
    relay(response).await
}

async fn relay(mut upstream: reqwest::Response) -> Result<Response, ApiError> {
    if upstream
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(ApiError::Upstream("upstream_response_too_large"));
    }
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = upstream.status();
    for (name, value) in upstream.headers() {
        if relayed(name.as_str()) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = upstream
        .chunk()
        .await
        .map_err(|_| ApiError::Upstream("upstream_unreachable"))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ApiError::Upstream("upstream_response_too_large"));
        }
        body.extend_from_slice(&chunk);
    }
    if !body.is_empty() {
        *response.body_mut() = Body::Binary(body);
    }
    Ok(response)
}
