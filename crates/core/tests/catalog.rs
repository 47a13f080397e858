//! The built-in catalog: every entry is a provider a vendor can enable as it stands.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_core::catalog::{builtin, builtins, logo, monogram};
use latchkey_domain::{AuthMethod, IntegrationInput};

const LOGO_MAX_BYTES: usize = 16 * 1024;

/// A well-formed SVG document that can do nothing but draw: no script, no event handler,
/// no reference outside itself.
fn check_svg(what: &str, svg: &str) {
    assert!(svg.len() < LOGO_MAX_BYTES, "{what}: {} bytes", svg.len());
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{what}: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{what}");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg"),
        "{what}"
    );
    assert!(root.has_attribute("viewBox"), "{what}: no viewBox");
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        assert!(
            !["script", "foreignObject", "image", "use"].contains(&name),
            "{what}: <{name}>"
        );
        for attribute in node.attributes() {
            assert!(
                !attribute.name().starts_with("on") && attribute.name() != "href",
                "{what}: attribute {}",
                attribute.name()
            );
        }
    }
}

fn urls(entry: &IntegrationInput) -> Vec<(String, String)> {
    let mut urls = vec![("api.base_url".to_owned(), entry.api.base_url.clone())];
    for option in &entry.auth_options {
        for (name, url) in option.method.urls() {
            urls.push((format!("{}.{name}", option.key), url.to_owned()));
        }
    }
    urls.extend(entry.docs_url.clone().map(|u| ("docs_url".to_owned(), u)));
    urls
}

#[test]
fn every_builtin_is_complete_and_safe_to_enable() {
    let entries = builtins();
    assert!(entries.len() >= 150, "{} built-ins", entries.len());
    let mut base_urls = BTreeMap::new();
    for entry in entries {
        let key = &entry.key;
        assert_eq!(
            builtin(key).map(|b| &b.key),
            Some(key),
            "{key}: the file name must be the key"
        );
        // The domain's own rules: placeholders declared, only in leading host labels, …
        let integration = entry
            .clone()
            .into_integration("int_x".into(), "acc_x".into(), Some(key.clone()), 0)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(
            entry
                .description
                .as_ref()
                .is_some_and(|d| !d.is_empty() && d.len() <= 160),
            "{key}: a one-line description"
        );
        assert!(!entry.categories.is_empty(), "{key}: categories");
        assert!(entry.docs_url.is_some(), "{key}: docs_url");
        for (field, url) in urls(entry) {
            assert!(url.starts_with("https://"), "{key}: {field} {url}");
        }
        for p in &entry.parameters {
            assert!(
                p.pattern.is_some(),
                "{key}: parameter {} has no pattern",
                p.name
            );
        }
        for option in &entry.auth_options {
            if matches!(option.method, AuthMethod::ApiKey(_) | AuthMethod::Basic(_)) {
                assert!(
                    option.description.is_some(),
                    "{key}: {} must say where the key is found",
                    option.key
                );
            }
            assert!(
                option.method.client().is_none(),
                "{key}: ships an OAuth app"
            );
        }
        if let Some(other) = base_urls.insert(entry.api.base_url.clone(), key) {
            panic!("{key} and {other} share {}", entry.api.base_url);
        }
        // As the pages and the API show it.
        let logo = logo(&integration).unwrap_or_else(|| panic!("{key}: no logo"));
        assert_eq!(logo.content_type, "image/svg+xml");
        let svg = STANDARD.decode(&logo.data_base64).unwrap();
        check_svg(key, std::str::from_utf8(&svg).unwrap());
    }
}

#[test]
fn monograms_are_safe_svg_for_any_name() {
    for name in [
        "Acme Books",
        "x",
        "",
        "<script>alert(1)</script>",
        "Ärzte & Co",
        "42",
    ] {
        check_svg(name, &monogram(name));
    }
    assert!(monogram("Acme Books").contains(">AB<"));
    assert!(monogram("").contains(">?<"));
}
