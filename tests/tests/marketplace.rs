//! The hosted marketplace and form as a consumer meets them in Chromium: the account's
//! branding, logos, search and categories with and without JavaScript, pages, a form
//! with help and inline errors driven by the keyboard, the result, light and dark, and
//! axe-core finding no serious accessibility problem. Screenshots at 1280 and 360 px go
//! to `target/screenshots/marketplace-…`.

use base64::Engine;
use latchkey_tests::Harness;
use latchkey_tests::chromium::{link, run, served};
use latchkey_tests::oauth::{consumer, link_url};
use serde_json::{Value, json};

const BRAND_LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="6" fill="#6e40c9"/><path d="M6 17 12 6l6 11z" fill="#fff"/></svg>"##;

/// Enables every built-in that needs no OAuth app of the account (API keys, basic, …).
async fn enable_keyed_builtins(h: &Harness) -> usize {
    let mut cursor = String::new();
    let mut enabled = 0;
    loop {
        let (_, page) = h
            .get(&format!(
                "/v1/integrations?status=inactive&limit=100{cursor}"
            ))
            .await;
        for i in page["data"].as_array().unwrap() {
            let needs_app = i["auth_options"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| matches!(o["type"].as_str(), Some("oauth2" | "oauth1")));
            if needs_app {
                continue;
            }
            let path = format!("/v1/integrations/{}", i["id"].as_str().unwrap());
            let (status, body) = h.send("PATCH", &path, json!({"status": "active"})).await;
            assert_eq!(status.as_u16(), 200, "{body}");
            enabled += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return enabled,
        }
    }
}

/// A branded account offering its keyed built-ins, a consumer, and an activation link
/// that lets it choose.
async fn branded_link(h: &Harness) -> String {
    assert!(enable_keyed_builtins(h).await > 2 * latchkey_pages::PAGE_SIZE);
    let logo = base64::engine::general_purpose::STANDARD.encode(BRAND_LOGO);
    let (status, account) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"branding": {
                "display_name": "Acme Cloud",
                "logo": {"content_type": "image/svg+xml", "data_base64": logo},
                "primary_color": "#6e40c9",
                "support_url": "https://help.acme.test/connect"
            }}),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{account}");
    assert_eq!(account["branding"]["display_name"], "Acme Cloud");
    let globex = consumer(h, None).await;
    link_url(h, &globex, json!({"name": "Apps"})).await
}

fn cards(snapshot: &Value) -> Vec<&str> {
    snapshot["cards"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

fn no_serious_violations(snapshot: &Value) {
    assert_eq!(
        snapshot["axe"],
        json!([]),
        "axe-core on {}",
        snapshot["url"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_finds_an_app_fills_its_form_by_keyboard_and_connects() {
    let (h, _) = served().await;
    let url = branded_link(&h).await;
    let report = run(
        json!({"stub": "https://app.acme.test", "start": url, "steps": [
            {"axe": true},
            {"type": {"q": "fresh"}},
            {"waitUrl": "q=fresh"},
            {"click": "Freshdesk"},
            {"axe": true},
            {"press": "Tab"},
            {"type": {"param.domain": "not a domain!"}},
            {"fill": {"username": "agent-key", "password": "X"}},
            {"press": "Enter"},
            {"axe": true},
            {"fill": {"param.domain": "globex", "password": "X"}},
            {"click": "Connect"},
            {"axe": true}
        ]}),
        Some("marketplace"),
    )
    .await;
    let s = report["snapshots"].as_array().unwrap();
    // The marketplace: the account's name, logo and help link; every card with a logo.
    let first = &s[0];
    assert_eq!(first["heading"], "Connect your software to Acme Cloud");
    assert_eq!(
        link(first, "Get help from Acme Cloud"),
        Some("https://help.acme.test/connect")
    );
    assert_eq!(cards(first).len(), latchkey_pages::PAGE_SIZE);
    assert!(
        first["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["loaded"] == true)
    );
    assert!(link(first, "Next").is_some(), "more than one page of apps");
    assert!(link(first, "Payments").is_some(), "category filters");
    no_serious_violations(&s[1]);
    // Typing filters as you type (the page's script fetches the same search).
    let found = cards(&s[3]);
    assert!(
        found.contains(&"Freshdesk") && found.contains(&"Freshservice"),
        "{found:?}"
    );
    assert!(
        found.iter().all(|n| n.to_lowercase().contains("fresh")),
        "{found:?}"
    );
    // The form: logo, name, where to find the key, the field's help; keyboard first.
    let form = &s[4];
    assert_eq!(form["heading"], "Connect Freshdesk");
    assert!(form["text"].as_str().unwrap().contains("Profile settings"));
    no_serious_violations(&s[5]);
    assert_eq!(
        s[6]["focused"]["name"], "param.domain",
        "Tab reaches the first field"
    );
    // The server's message sits next to the field it is about; nothing was connected.
    let refused = &s[9];
    assert_eq!(refused["heading"], "Connect Freshdesk");
    let invalid = refused["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 1, "{refused}");
    assert_eq!(invalid[0]["name"], "param.domain");
    assert!(
        invalid[0]["describedBy"]
            .to_string()
            .contains("Freshdesk domain"),
        "{invalid:?}"
    );
    no_serious_violations(&s[10]);
    // Connected: the consumer's connections, marked.
    let done = &s[12];
    assert!(
        done["text"]
            .as_str()
            .unwrap()
            .contains("Your software is connected."),
        "{done}"
    );
    assert_eq!(cards(done), ["Freshdesk"]);
    assert!(done["text"].as_str().unwrap().contains("Connected"));
    no_serious_violations(&s[13]);
    // The security headers are as strict as ever; the one script is nonce'd.
    let csp = report["headers"]["content-security-policy"]
        .as_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'nonce-") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("https://"),
        "{csp}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_search_categories_and_pages_still_work_in_the_dark() {
    let (h, _) = served().await;
    let url = branded_link(&h).await;
    let report = run(
        json!({"stub": "https://app.acme.test", "start": url, "javaScript": false,
               "colorScheme": "dark", "steps": [
            {"click": "Next"},
            {"click": "Payments"},
            {"fill": {"q": "stripe"}},
            {"click": "Search"},
            {"fill": {"q": "no such app"}},
            {"click": "Search"},
            {"axe": true}
        ]}),
        Some("marketplace-dark"),
    )
    .await;
    let s = report["snapshots"].as_array().unwrap();
    let page_one = cards(&s[0]);
    let page_two = cards(&s[1]);
    assert!(
        s[1]["text"].as_str().unwrap().contains("Page 2 of 3"),
        "{}",
        s[1]["text"]
    );
    assert!(
        page_two.iter().all(|n| !page_one.contains(n)),
        "pages do not overlap"
    );
    // A category: only its apps, the search form keeps it.
    let payments = cards(&s[2]);
    assert!(
        payments.contains(&"Stripe") && payments.contains(&"Paddle"),
        "{payments:?}"
    );
    assert!(!payments.contains(&"Freshdesk"));
    assert_eq!(cards(&s[4]), ["Stripe"]);
    assert!(s[4]["url"].as_str().unwrap().contains("category=payments"));
    assert!(
        s[6]["text"]
            .as_str()
            .unwrap()
            .contains("No apps match your search.")
    );
    no_serious_violations(&s[7]);
}
