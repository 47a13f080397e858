//! Filling `{parameter}` placeholders with a connection's parameters, safely: values must
//! match their parameter's pattern, and a URL built from them must still be on the
//! integration's declared host.

use std::collections::BTreeMap;

use url::Url;

use latchkey_domain::{
    FieldError, ParameterSpec, is_internal_host, placeholders, validate_public_url,
};

/// Checks a connection's parameters against the integration's specs: every required
/// one present, every value matching its pattern, no control characters, none unknown.
pub fn check_parameters(
    specs: &[ParameterSpec],
    values: &BTreeMap<String, String>,
) -> Result<(), FieldError> {
    for (name, value) in values {
        let field = format!("connectionParameters.{name}");
        let spec = specs
            .iter()
            .find(|s| &s.name == name)
            .ok_or_else(|| FieldError::new(&field, "is not a parameter of this integration"))?;
        if value.chars().any(char::is_control) || value.len() > 1024 || !spec.accepts(value) {
            return Err(FieldError::new(
                field,
                format!("is not a valid {}", spec.label),
            ));
        }
    }
    for spec in specs.iter().filter(|s| s.required) {
        if !values.contains_key(&spec.name) {
            return Err(FieldError::new(
                format!("connectionParameters.{}", spec.name),
                "is required",
            ));
        }
    }
    Ok(())
}

/// Fills a text template (header values, query parameters).
pub fn fill(template: &str, values: &BTreeMap<String, String>) -> Result<String, FieldError> {
    let names = placeholders(template).map_err(|why| FieldError::new("template", why))?;
    let mut out = template.to_owned();
    for name in names {
        let value = values.get(name).ok_or_else(|| {
            FieldError::new(format!("connectionParameters.{name}"), "is required")
        })?;
        out = out.replace(&format!("{{{name}}}"), value);
    }
    if out.chars().any(|c| c == '\r' || c == '\n') {
        return Err(FieldError::new("template", "must not produce line breaks"));
    }
    Ok(out)
}

/// Fills a URL template and checks the result: an https URL (loopback http only when
/// `allow_loopback`) whose host is the template's literal host, or ends with its literal
/// domain when placeholders fill the leading labels.
pub fn fill_url(
    template: &str,
    values: &BTreeMap<String, String>,
    allow_loopback: bool,
) -> Result<Url, FieldError> {
    let filled = fill(template, values)?;
    let url = validate_public_url("url", &filled)?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let template_host = template
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("")
        .to_ascii_lowercase();
    let template_host = template_host.split(':').next().unwrap_or("").to_owned();
    let on_declared_host = match template_host.rfind('}') {
        Some(last) => {
            let suffix = &template_host[last + 1..];
            host.ends_with(suffix) && !host[..host.len() - suffix.len()].contains(['/', '@', ':'])
        }
        None => host == template_host.trim_matches(['[', ']']) || host == template_host,
    };
    if !on_declared_host {
        return Err(FieldError::new(
            "url",
            "a parameter moved the request off the integration's host",
        ));
    }
    if is_internal_host(&url) && !allow_loopback {
        return Err(FieldError::new(
            "url",
            "private and loopback addresses are refused outside test mode",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_urls_and_keeps_them_on_the_declared_host() {
        let t = "https://{shop}.myshopify.com/admin/oauth/authorize";
        let url = fill_url(t, &values(&[("shop", "acme")]), false).unwrap();
        assert_eq!(
            url.as_str(),
            "https://acme.myshopify.com/admin/oauth/authorize"
        );
        for evil in ["evil.com/x?", "evil.com#", "a@evil.com", "evil.com:443/"] {
            assert!(
                fill_url(t, &values(&[("shop", evil)]), false).is_err(),
                "{evil}"
            );
        }
        assert!(
            fill_url(
                "https://api.example.com/{path}",
                &values(&[("path", "x\r\nHost: evil")]),
                false
            )
            .is_err()
        );
        assert!(fill_url("http://127.0.0.1:9/token", &values(&[]), false).is_err());
        assert!(fill_url("http://127.0.0.1:9/token", &values(&[]), true).is_ok());
    }

    #[test]
    fn parameters_are_checked_against_their_specs() {
        let specs = vec![ParameterSpec {
            name: "subdomain".into(),
            label: "Subdomain".into(),
            required: true,
            secret: false,
            pattern: Some("[a-z0-9-]+".into()),
            help: None,
        }];
        assert!(check_parameters(&specs, &values(&[("subdomain", "acme")])).is_ok());
        assert_eq!(
            check_parameters(&specs, &values(&[])).unwrap_err().field,
            "connectionParameters.subdomain"
        );
        assert!(check_parameters(&specs, &values(&[("subdomain", "acme.evil.com")])).is_err());
        assert!(
            check_parameters(&specs, &values(&[("subdomain", "acme"), ("other", "x")])).is_err()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever a consumer types as a parameter, a filled URL stays on the
        /// integration's declared host (or a subdomain of its literal domain).
        #[test]
        fn a_filled_url_never_leaves_its_declared_host(value in "\\PC{0,40}", path in "\\PC{0,40}") {
            let given = values(&[("subdomain", &value), ("path", &path)]);
            if let Ok(url) = fill_url("https://{subdomain}.helpdesk.example/api/{path}", &given, false) {
                let host = url.host_str().unwrap().to_owned();
                proptest::prop_assert!(host.ends_with(".helpdesk.example"), "{host} from {value:?}");
                proptest::prop_assert!(url.username().is_empty() && url.password().is_none());
            }
            if let Ok(url) = fill_url("https://api.example.com/v1/{path}", &given, false) {
                proptest::prop_assert_eq!(url.host_str(), Some("api.example.com"), "from {:?}", path);
            }
        }
    }
}
