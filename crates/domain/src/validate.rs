//! Field validation shared by every resource. Errors name the offending field so the API
//! can answer with a problem document that points at it.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// JSON path of the field, e.g. `auth_options[0].token_url`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub(crate) type Checked = Result<(), FieldError>;

/// A required, trimmed-non-empty text of at most `max` characters without control characters.
pub(crate) fn required_text(field: &str, value: &str, max: usize) -> Checked {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    optional_text(field, value, max)
}

/// An optional text of at most `max` characters without control characters.
pub fn optional_text(field: &str, value: &str, max: usize) -> Checked {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Letters and digits only, 1–64 characters (integration keys, auth option keys).
pub(crate) fn alphanumeric_key(field: &str, value: &str) -> Checked {
    if value.is_empty() || value.len() > 64 || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(FieldError::new(field, "must be 1-64 letters and digits"));
    }
    Ok(())
}

/// An identifier usable as a `{placeholder}`: a letter, then letters, digits or `_`.
pub(crate) fn identifier(field: &str, value: &str) -> Checked {
    let mut chars = value.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && value.len() <= 64;
    if !ok {
        return Err(FieldError::new(
            field,
            "must start with a letter and hold only letters, digits and _ (at most 64)",
        ));
    }
    Ok(())
}

/// The vendor's own data on a resource: a JSON object.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// Metadata serialized takes at most this many bytes.
pub const METADATA_MAX_BYTES: usize = 8 * 1024;

pub(crate) fn metadata(field: &str, value: &Metadata) -> Checked {
    let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    if size > METADATA_MAX_BYTES {
        return Err(FieldError::new(
            field,
            format!("must be at most {METADATA_MAX_BYTES} bytes as JSON (is {size})"),
        ));
    }
    Ok(())
}

pub(crate) fn email(field: &str, value: &str) -> Checked {
    optional_text(field, value, 254)?;
    let ok = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.chars().any(char::is_whitespace)
            && !domain.contains('@')
    });
    if !ok {
        return Err(FieldError::new(field, "must be an email address"));
    }
    Ok(())
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `url` names this machine or a private network by its address (loopback,
/// RFC 1918, carrier-grade NAT, link-local — the cloud metadata service —, unspecified,
/// IPv6 unique-local and link-local, IPv4-mapped forms of these) or as `localhost`.
/// Latchkey's outbound calls refuse such hosts outside test mode: on Lambda, loopback is
/// the Runtime API.
pub fn is_internal_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_internal_ip(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_internal_ip(ip.into()),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => true,
    }
}

/// An address Latchkey never calls outside test mode: loopback, private, link-local,
/// shared (100.64/10), benchmarking (198.18/15), unspecified, broadcast, unique-local,
/// and IPv4-mapped forms of those. Checked on the addresses a name resolves to as well as
/// on IP literals.
pub fn is_internal_ip(ip: std::net::IpAddr) -> bool {
    fn v4(ip: std::net::Ipv4Addr) -> bool {
        let [a, b, ..] = ip.octets();
        ip.is_loopback()
            || ip.is_private()
            || ip.is_link_local()
            || ip.is_unspecified()
            || ip.is_broadcast()
            || (a == 100 && (64..128).contains(&b))
            || (a == 198 && (b == 18 || b == 19))
    }
    match ip {
        std::net::IpAddr::V4(ip) => v4(ip),
        std::net::IpAddr::V6(ip) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(v4)
        }
    }
}

/// A URL Latchkey will call: public (see [`validate_public_url`]) and, outside test mode
/// (`allow_internal`), not on an internal host ([`is_internal_host`]).
pub fn validate_egress_url(
    field: &str,
    raw: &str,
    allow_internal: bool,
) -> Result<Url, FieldError> {
    let url = validate_public_url(field, raw)?;
    if is_internal_host(&url) && !allow_internal {
        return Err(FieldError::new(
            field,
            "must not point at a private, loopback or link-local address",
        ));
    }
    Ok(url)
}

/// An absolute `https` URL (plain `http` only for loopback hosts), with a host, no
/// userinfo, and no control characters or whitespace anywhere in the raw text.
pub fn validate_public_url(field: &str, raw: &str) -> Result<Url, FieldError> {
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) || raw.len() > 2048 {
        return Err(FieldError::new(field, "must be an absolute https URL"));
    }
    let url =
        Url::parse(raw).map_err(|_| FieldError::new(field, "must be an absolute https URL"))?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(&url));
    if !scheme_ok || url.host().is_none() {
        return Err(FieldError::new(
            field,
            "must be an absolute https URL (http only for loopback hosts)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FieldError::new(field, "must not contain user information"));
    }
    Ok(url)
}

/// An exact origin (`https://app.example.com` or `https://app.example.com:8443`): a
/// public URL with no path, query or fragment. Returns its serialized form.
pub fn validate_origin(field: &str, raw: &str) -> Result<String, FieldError> {
    let url = validate_public_url(field, raw)?;
    let bare = raw.trim_end_matches('/');
    let origin = url.origin().ascii_serialization();
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !origin.eq_ignore_ascii_case(bare)
    {
        return Err(FieldError::new(
            field,
            "must be an origin: scheme://host[:port] only",
        ));
    }
    Ok(origin)
}

/// The `{name}` placeholders in a template, in order. An unbalanced brace is an error.
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err("has a '}' without a matching '{'".into());
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("has a '{' without a matching '}'")?;
        let name = &after[..close];
        if name.contains('{') {
            return Err("has nested '{'".into());
        }
        names.push(name);
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// For PATCH bodies: tells "absent" (`None`) from "null" (`Some(None)`).
pub(crate) fn present<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_refuse_everything_but_https_and_loopback_http() {
        for ok in [
            "https://app.example.com/done?x=1",
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb",
        ] {
            assert!(validate_public_url("f", ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "//evil.example",
            "https://good.example@evil.example/",
            "http://example.com/",
            "https://exa mple.com/",
            "https://example.com/\r\nSet-Cookie:x",
            "data:text/html,hi",
            "/relative",
            "",
        ] {
            let err = validate_public_url("redirect_url", bad).unwrap_err();
            assert_eq!(err.field, "redirect_url", "{bad}");
        }
    }

    #[test]
    fn origins_are_exact() {
        assert_eq!(
            validate_origin("o", "https://App.Example.com").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            validate_origin("o", "https://a.example:8443/").unwrap(),
            "https://a.example:8443"
        );
        assert!(validate_origin("o", "https://a.example/path").is_err());
        assert!(validate_origin("o", "https://a.example?q").is_err());
    }

    #[test]
    fn placeholders_are_found_and_braces_checked() {
        assert_eq!(
            placeholders("https://{shop}.myshopify.com/{v}").unwrap(),
            vec!["shop", "v"]
        );
        assert_eq!(placeholders("no placeholders").unwrap(), Vec::<&str>::new());
        assert!(placeholders("https://{shop.example").is_err());
        assert!(placeholders("x}y").is_err());
        assert!(placeholders("{a{b}}").is_err());
    }

    #[test]
    fn emails_and_keys() {
        assert!(email("email", "ada@example.com").is_ok());
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@example",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
        assert!(alphanumeric_key("key", "hubspot2").is_ok());
        assert!(alphanumeric_key("key", "hub-spot").is_err());
        assert!(identifier("name", "sub_domain1").is_ok());
        assert!(identifier("name", "1abc").is_err());
    }

    #[test]
    fn internal_hosts_are_recognised_in_every_spelling() {
        let internal = |raw: &str| is_internal_host(&Url::parse(raw).unwrap());
        for raw in [
            "http://127.0.0.1:9001/",
            "http://localhost/",
            "https://LOCALHOST./x",
            "https://api.localhost/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://2130706433/",
        ] {
            assert!(internal(raw), "{raw}");
        }
        for raw in [
            "https://hooks.example.com/x",
            "https://8.8.8.8/",
            "https://[2001:db8::1]/",
            "https://100.128.0.1/",
        ] {
            assert!(!internal(raw), "{raw}");
        }
        assert_eq!(
            validate_egress_url("webhook_url", "https://10.0.0.5/h", false)
                .unwrap_err()
                .field,
            "webhook_url"
        );
        assert!(validate_egress_url("webhook_url", "http://127.0.0.1:1/h", true).is_ok());
    }
}
