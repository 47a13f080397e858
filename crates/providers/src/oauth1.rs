//! OAuth 1.0a (RFC 5849) with HMAC-SHA1: request token → authorize → access token.

use crate::wire::{TOKEN_BODY_LIMIT, TOKEN_TIMEOUT, read_capped};
use latchkey_domain::deadline::budget;
use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use url::Url;

use latchkey_domain::FlowError;
use latchkey_domain::Secret;
use latchkey_domain::token::new_token;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 3986 percent-encoding of everything but unreserved characters, hex in upper case
/// (RFC 5849 §3.6).
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, RESERVED).to_string()
}

/// The HMAC-SHA1 signature of a request (RFC 5849 §3.4). `params` holds the oauth_*
/// protocol parameters and the request's query and form parameters, decoded.
pub fn signature(
    method: &str,
    url: &Url,
    params: &[(String, String)],
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let mut base_url = url.clone();
    base_url.set_query(None);
    base_url.set_fragment(None);
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.extend(url.query_pairs().map(|(k, v)| (encode(&k), encode(&v))));
    pairs.sort();
    let normalized = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base_url.as_str()),
        encode(&normalized)
    );
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(base.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

pub struct Consumer<'a> {
    pub key: &'a str,
    pub secret: &'a str,
}

/// A signed `Authorization: OAuth …` header value for one request (RFC 5849 §3.5.1);
/// the URL's query parameters are signed with it.
pub fn authorization_header(
    method: &str,
    url: &Url,
    consumer: &Consumer<'_>,
    token: Option<(&str, &str)>,
    extra_oauth: &[(&str, &str)],
    now: i64,
) -> String {
    let mut oauth: Vec<(String, String)> = vec![
        ("oauth_consumer_key".into(), consumer.key.into()),
        (
            "oauth_nonce".into(),
            new_token("").expose().replace(['-', '_'], ""),
        ),
        ("oauth_signature_method".into(), "HMAC-SHA1".into()),
        ("oauth_timestamp".into(), now.to_string()),
        ("oauth_version".into(), "1.0".into()),
    ];
    if let Some((t, _)) = token {
        oauth.push(("oauth_token".into(), t.into()));
    }
    oauth.extend(
        extra_oauth
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let sig = signature(
        method,
        url,
        &oauth,
        consumer.secret,
        token.map_or("", |(_, s)| s),
    );
    oauth.push(("oauth_signature".into(), sig));
    format!(
        "OAuth {}",
        oauth
            .iter()
            .map(|(k, v)| format!("{}=\"{}\"", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A signed POST to a token endpoint; returns the form-encoded answer's fields.
pub async fn token_request(
    http: &reqwest::Client,
    url: &Url,
    consumer: &Consumer<'_>,
    token: Option<(&str, &str)>,
    extra_oauth: &[(&str, &str)],
    now: i64,
) -> Result<BTreeMap<String, String>, FlowError> {
    let header = authorization_header("POST", url, consumer, token, extra_oauth, now);
    let response = http
        .post(url.clone())
        .header("authorization", header)
        .timeout(budget(TOKEN_TIMEOUT))
        .send()
        .await
        .map_err(|_| FlowError::TokenExchange("unreachable"))?;
    let status = response.status();
    let body = read_capped(response, TOKEN_BODY_LIMIT).await?;
    if status.is_server_error() {
        return Err(FlowError::TokenExchange("provider_unavailable"));
    }
    if matches!(status.as_u16(), 408 | 429) {
        return Err(FlowError::TokenExchange("throttled"));
    }
    if !status.is_success() {
        return Err(FlowError::TokenExchange("rejected"));
    }
    let fields: BTreeMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    if !fields.contains_key("oauth_token") || !fields.contains_key("oauth_token_secret") {
        return Err(FlowError::TokenExchange("invalid_response"));
    }
    Ok(fields)
}

/// The token pair out of a token endpoint's answer.
pub fn token_pair(fields: &BTreeMap<String, String>) -> (String, Secret) {
    (
        fields["oauth_token"].clone(),
        Secret::new(fields["oauth_token_secret"].clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_rfc_5849_example() {
        // RFC 5849 §3.4.1.1 / §3.4.2 (with the errata's key: consumer & token secret).
        let url = Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let params: Vec<(String, String)> = [
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
            ("c2", ""),
            ("a3", "2 q"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature("POST", &url, &params, "j49sk3j29djd", "dh893hdasih9"),
            "r6/TJjbCOr97/+UU0NsvSne7s5g="
        );
    }

    #[test]
    fn encodes_per_rfc_3986() {
        assert_eq!(encode("a b+c/~"), "a%20b%2Bc%2F~");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// The signature base string's encoding is RFC 3986's: only unreserved
            /// characters and upper-case `%XX`, decoding back to the input.
            #[test]
            fn encoding_is_unreserved_or_upper_hex_and_reversible(s in "\\PC{0,40}") {
                let e = encode(&s);
                let bytes = e.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'%' {
                        prop_assert!(bytes[i + 1..i + 3].iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)), "{}", e);
                        i += 3;
                    } else {
                        prop_assert!(bytes[i].is_ascii_alphanumeric() || b"-._~".contains(&bytes[i]), "{}", e);
                        i += 1;
                    }
                }
                let back = percent_encoding::percent_decode_str(&e).decode_utf8().unwrap();
                prop_assert_eq!(back, s.as_str());
            }

            /// Parameters are signed as a sorted set: their order never changes the
            /// signature, and any changed value does.
            #[test]
            fn a_signature_depends_on_parameters_not_their_order(
                params in prop::collection::btree_map("[a-z_]{1,8}", "\\PC{0,12}", 1..6),
                query in "[a-z]{1,5}=[a-z0-9]{0,5}",
            ) {
                let url = Url::parse(&format!("https://api.example.com/1/x?{query}")).unwrap();
                let sorted: Vec<(String, String)> = params.clone().into_iter().collect();
                let mut reversed = sorted.clone();
                reversed.reverse();
                let a = signature("get", &url, &sorted, "cs", "ts");
                prop_assert_eq!(&a, &signature("GET", &url, &reversed, "cs", "ts"));
                let mut changed = sorted.clone();
                changed[0].1.push('!');
                prop_assert_ne!(a, signature("GET", &url, &changed, "cs", "ts"));
            }
        }
    }
}
