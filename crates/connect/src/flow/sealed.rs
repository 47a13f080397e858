//! What a stored flow must not keep readable (L7): the PKCE verifier, the OAuth 1.0a
//! request-token secret and the secret connection parameters are sealed in its item under
//! a key derived from the browser binding, which only the flow cookie carries. Whoever
//! reads the table (a backup, an export, a debugging session) opens none of them; the
//! callback opens them once the cookie has proved the browser.

use std::collections::BTreeMap;

use latchkey_domain::{ConnectionFlow, FlowError, Secret, SecretScope};
use latchkey_vault::SealingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Default, Serialize, Deserialize)]
struct Secrets {
    pkce_verifier: Option<Secret>,
    request_token_secret: Option<Secret>,
    #[serde(default)]
    parameters: BTreeMap<String, Secret>,
}

fn key(binding: &str) -> SealingKey {
    let mut hasher = Sha256::new();
    hasher.update(b"latchkey flow secrets\n");
    hasher.update(binding.as_bytes());
    SealingKey::from_bytes(hasher.finalize().into())
}

/// The blob is only good for this flow (its account and state).
fn scope(flow: &ConnectionFlow) -> SecretScope {
    SecretScope::new(&flow.account_id, &flow.state_hash)
}

/// Moves the flow's secrets, and its parameters `secret` names, into `flow.sealed`.
pub(super) fn seal(flow: &mut ConnectionFlow, binding: &str, secret: impl Fn(&str) -> bool) {
    let names: Vec<String> = flow
        .parameters
        .keys()
        .filter(|n| secret(n))
        .cloned()
        .collect();
    let secrets = Secrets {
        pkce_verifier: flow.pkce_verifier.take(),
        request_token_secret: flow.request_token_secret.take(),
        parameters: names
            .into_iter()
            .filter_map(|n| flow.parameters.remove(&n).map(|v| (n, Secret::new(v))))
            .collect(),
    };
    let plaintext = serde_json::to_vec(&secrets).expect("flow secrets serialize");
    flow.sealed = Some(key(binding).seal(&scope(flow), &plaintext));
}

/// Puts the sealed secrets back into the flow, with the binding its cookie carried.
pub(super) fn open(flow: &mut ConnectionFlow, binding: &str) -> Result<(), FlowError> {
    let Some(blob) = flow.sealed.take() else {
        return Ok(());
    };
    let plaintext = key(binding)
        .open(&scope(flow), &blob)
        .map_err(FlowError::internal)?;
    let secrets: Secrets = serde_json::from_slice(&plaintext).map_err(FlowError::internal)?;
    flow.pkce_verifier = secrets.pkce_verifier;
    flow.request_token_secret = secrets.request_token_secret;
    for (name, value) in secrets.parameters {
        flow.parameters.insert(name, value.expose().to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> ConnectionFlow {
        serde_json::from_value(serde_json::json!({
            "state_hash": "s", "browser_binding": "b", "account_id": "acc_1",
            "consumer_id": "csm_1", "integration_id": "int_1", "auth_option_key": "oauth",
            "name": "N", "connection_id": null, "activation_hash": null,
            "parameters": {"subdomain": "acme", "api_secret": "p@ss"},
            "pkce_verifier": "verifier-123", "redirect_target": null, "target_origin": null,
            "custom_state": null, "redirect_after": true, "created_at": 0, "expires_at": 600
        }))
        .unwrap()
    }

    #[test]
    fn a_stored_flow_shows_no_secret_and_opens_only_with_its_binding() {
        let mut stored = flow();
        seal(&mut stored, "binding-1", |n| n == "api_secret");
        let text = serde_json::to_string(&stored).unwrap();
        for secret in ["verifier-123", "p@ss", "api_secret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("acme"), "ordinary parameters stay readable");

        let mut wrong = stored.clone();
        assert!(open(&mut wrong, "binding-2").is_err());
        let mut opened = stored;
        open(&mut opened, "binding-1").unwrap();
        assert_eq!(opened.pkce_verifier.unwrap().expose(), "verifier-123");
        assert_eq!(opened.parameters["api_secret"], "p@ss");
        assert_eq!(opened.parameters["subdomain"], "acme");
    }
}
