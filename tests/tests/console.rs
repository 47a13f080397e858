//! The console's security and its actions through the API, as a browser sends them:
//! sessions only from full-scope keys, a new token at every sign-in, POSTs refused
//! without our origin and the session's CSRF token, sign-out and key revocation ending
//! the session, the popup's security headers, and a failed action that changes nothing.

use lambda_http::Body;
use lambda_http::http::{self, Response, StatusCode};
use latchkey_store::{Consumers, testing};
use latchkey_tests::{Harness, PUBLIC_URL};
use serde_json::json;

const ORIGIN: &str = "https://connect.acme.test";
const COOKIE: &str = "__Host-lk_console";

/// A browser's view of the console: its cookie, if any.
struct Browser<'a> {
    h: &'a Harness,
    cookie: Option<String>,
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

fn header<'r>(response: &'r Response<Body>, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

/// The value of the session cookie a response sets, if it sets one.
fn set_cookie(response: &Response<Body>) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{COOKIE}=")))
        .map(|c| {
            let value = c[COOKIE.len() + 1..].split(';').next().unwrap().to_owned();
            (value, c)
        })
}

/// The CSRF token a console page's forms carry.
fn csrf(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .expect("a form with the CSRF token");
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

impl<'a> Browser<'a> {
    fn new(h: &'a Harness) -> Self {
        Self { h, cookie: None }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Response<Body> {
        let mut request = http::Request::builder().method(method).uri(format!(
            "{}{}",
            PUBLIC_URL.trim_end_matches('/'),
            path
        ));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("{COOKIE}={cookie}"));
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let body = if method == "POST" {
            request = request.header("content-type", "application/x-www-form-urlencoded");
            Body::Text(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            )
        } else {
            Body::Empty
        };
        self.h.raw(request.body(body).unwrap()).await
    }

    async fn get(&self, path: &str) -> Response<Body> {
        self.send("GET", path, &[], None).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response<Body> {
        self.send("POST", path, form, Some(ORIGIN)).await
    }

    /// Signs in with `key`; the session cookie is kept.
    async fn sign_in(&mut self, key: &str) -> Response<Body> {
        let response = self.post("/console/sign-in", &[("api_key", key)]).await;
        if let Some((value, _)) = set_cookie(&response) {
            self.cookie = Some(value);
        }
        response
    }

    /// A page's CSRF token (the connections page: any signed-in page has one).
    async fn token(&self) -> String {
        let page = self.get("/console/connections").await;
        assert_eq!(page.status(), StatusCode::OK, "{}", text(&page));
        csrf(&text(&page))
    }
}

async fn harness() -> Harness {
    Harness::new(testing::sqlite_table().await).await
}

#[tokio::test]
async fn no_page_without_a_session_and_only_full_scope_keys_sign_in() {
    let h = harness().await;
    let mut browser = Browser::new(&h);
    for path in ["/console", "/console/connections", "/console/api-keys"] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert_eq!(
            header(&response, "location"),
            format!("{PUBLIC_URL}console/sign-in")
        );
    }
    let (_, scoped) = h
        .send(
            "POST",
            "/v1/api-keys",
            json!({"label": "web", "scopes": ["connect"]}),
        )
        .await;
    let refused = browser.sign_in(scoped["key"].as_str().unwrap()).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        text(&refused).contains("connect scope only"),
        "{}",
        text(&refused)
    );
    assert!(set_cookie(&refused).is_none());
    let wrong = browser.sign_in("lk_not-a-key").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(browser.cookie.is_none());

    let signed_in = browser.sign_in(&h.key).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let (_, cookie) = set_cookie(&signed_in).expect("a session cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let page = browser.get("/console/connections").await;
    assert_eq!(page.status(), StatusCode::OK);
    // The popup's security headers, with a referrer policy that keeps our POSTs' Origin.
    let csp = header(&page, "content-security-policy");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'nonce-"), "{csp}");
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    assert_eq!(header(&page, "cache-control"), "no-store");
    assert_eq!(header(&page, "referrer-policy"), "same-origin");
    assert!(!text(&page).contains(&h.key), "the key is never shown");
}

#[tokio::test]
async fn a_sign_in_mints_a_new_session_and_a_planted_one_names_nothing() {
    let h = harness().await;
    let mut victim = Browser::new(&h);
    // An attacker's own session, planted in the victim's browser before they sign in.
    let mut attacker = Browser::new(&h);
    attacker.sign_in(&h.key).await;
    let planted = attacker.cookie.clone().unwrap();
    victim.cookie = Some(planted.clone());
    victim.sign_in(&h.key).await;
    let fresh = victim.cookie.clone().unwrap();
    assert_ne!(fresh, planted, "a new token at sign-in");
    // Signing in ended the session the browser held: the planted token opens nothing.
    let stale = attacker.get("/console/connections").await;
    assert_eq!(stale.status(), StatusCode::FOUND);
    assert_eq!(
        victim.get("/console/connections").await.status(),
        StatusCode::OK
    );
    // A sign-in posted from another site is refused before any key is looked at.
    let mut elsewhere = Browser::new(&h);
    let forged = elsewhere
        .send(
            "POST",
            "/console/sign-in",
            &[("api_key", &h.key)],
            Some("https://evil.test"),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&forged).is_none());
    elsewhere.cookie = None;
}

#[tokio::test]
async fn posts_without_our_origin_or_the_session_token_change_nothing() {
    let h = harness().await;
    let mut browser = Browser::new(&h);
    browser.sign_in(&h.key).await;
    let token = browser.token().await;
    let consumers = || async {
        h.app
            .store
            .list_consumers(&h.account_id, 100, None)
            .await
            .unwrap()
            .items
            .len()
    };
    let before = consumers().await;
    let create = [("name", "Initech"), ("csrf", token.as_str())];
    for (form, origin) in [
        (&create[..1], Some(ORIGIN)),
        (&[("name", "Initech"), ("csrf", "forged")][..], Some(ORIGIN)),
        (&create[..], Some("https://evil.test")),
        (&create[..], None),
        // The page's `no-referrer` would make a browser send this: refused too.
        (&create[..], Some("null")),
    ] {
        let response = browser
            .send("POST", "/console/consumers", form, origin)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{form:?} {origin:?}"
        );
        assert!(text(&response).contains("nothing was changed"));
    }
    assert_eq!(consumers().await, before);
    // The same form from the console's page is accepted.
    let created = browser.post("/console/consumers", &create).await;
    assert_eq!(
        created.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(&created)
    );
    assert_eq!(consumers().await, before + 1);
    let page = browser
        .get(header(&created, "location").trim_start_matches(PUBLIC_URL.trim_end_matches('/')))
        .await;
    assert!(text(&page).contains("Initech"));
}

#[tokio::test]
async fn a_failed_action_shows_the_problem_by_its_field_and_changes_nothing() {
    let h = harness().await;
    let mut browser = Browser::new(&h);
    browser.sign_in(&h.key).await;
    let token = browser.token().await;
    let (status, _) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Globex", "internal_reference": "cust-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let response = browser
        .post(
            "/console/consumers",
            &[
                ("name", "Globex again"),
                ("internal_reference", "cust-1"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = text(&response);
    // The API's problem, next to the field it names, with what was typed kept.
    let field = page
        .find(r#"id="f-internal_reference""#)
        .expect("the field");
    let error = page
        .find(r#"id="f-internal_reference-error""#)
        .expect("its error");
    assert!(error > field, "the error follows its field");
    assert!(page[field..].contains(r#"aria-invalid="true""#));
    assert!(page.contains(r#"value="Globex again""#));
    let listed = h
        .app
        .store
        .list_consumers(&h.account_id, 100, None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "nothing was created");
}

#[tokio::test]
async fn sign_out_and_revoking_the_key_end_the_session() {
    let h = harness().await;
    let mut browser = Browser::new(&h);
    browser.sign_in(&h.key).await;
    let token = browser.token().await;
    let out = browser.post("/console/sign-out", &[("csrf", &token)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let (cleared, _) = set_cookie(&out).expect("the cookie is cleared");
    assert!(cleared.is_empty());
    // The old cookie, replayed, opens nothing: the session ended on the server.
    assert_eq!(
        browser.get("/console/connections").await.status(),
        StatusCode::FOUND
    );

    // A second full key signs in; revoking it in the console ends that session.
    let (_, second) = h
        .send("POST", "/v1/api-keys", json!({"label": "ops"}))
        .await;
    let mut ops = Browser::new(&h);
    ops.sign_in(second["key"].as_str().unwrap()).await;
    let token = ops.token().await;
    let keys = ops.get("/console/api-keys").await;
    assert!(text(&keys).contains("ops"));
    let id = second["id"].as_str().unwrap();
    let revoked = ops
        .post(
            &format!("/console/api-keys/{id}/revoke"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(
        revoked.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(&revoked)
    );
    let (status, _) = h
        .call(
            "GET",
            "/v1/connections",
            Some(second["key"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the API refuses the revoked key"
    );
    assert_eq!(
        ops.get("/console/connections").await.status(),
        StatusCode::FOUND
    );
}

#[tokio::test]
async fn a_consumer_is_edited_by_the_api_rules_and_deleted_with_its_connections() {
    let h = harness().await;
    let mut browser = Browser::new(&h);
    browser.sign_in(&h.key).await;
    let token = browser.token().await;
    let (_, taken) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Globex", "internal_reference": "cust-1"}),
        )
        .await;
    let (_, other) = h
        .send("POST", "/v1/consumers", json!({"name": "Initech"}))
        .await;
    let id = other["id"].as_str().unwrap();
    let page = format!("/console/consumers/{id}");
    let version = version_of(&text(&browser.get(&page).await));
    let refused = browser
        .post(
            &page,
            &[
                ("action", "edit"),
                ("version", &version),
                ("consumer.name", "Initech Group"),
                ("consumer.internal_reference", "cust-1"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let shown = text(&refused);
    assert!(
        shown.contains(r#"id="f-consumer-internal_reference-error""#),
        "{shown}"
    );
    assert!(
        shown.contains(r#"value="Initech Group""#) && shown.contains(r#"value="cust-1""#),
        "what was typed is shown again"
    );
    let (_, unchanged) = h.get(&format!("/v1/consumers/{id}")).await;
    assert_eq!(
        (unchanged["name"].as_str(), &unchanged["internal_reference"]),
        (Some("Initech"), &json!(null))
    );

    // Someone renames it meanwhile: a save from the page opened before is refused.
    let (_, _) = h
        .send(
            "PATCH",
            &format!("/v1/consumers/{id}"),
            json!({"name": "Initech Inc"}),
        )
        .await;
    let stale = browser
        .post(
            &page,
            &[
                ("action", "edit"),
                ("version", &version),
                ("consumer.name", "Initech Ltd"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let shown = text(&stale);
    assert!(
        shown.contains("changed since the page was opened"),
        "{shown}"
    );
    assert!(shown.contains(r#"value="Initech Ltd""#), "what was typed");
    let (_, kept) = h.get(&format!("/v1/consumers/{id}")).await;
    assert_eq!(kept["name"], "Initech Inc", "the newer name stands");

    let version = version_of(&text(&browser.get(&page).await));
    let saved = browser
        .post(
            &page,
            &[
                ("action", "edit"),
                ("version", &version),
                ("consumer.name", "Initech Ltd"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, renamed) = h.get(&format!("/v1/consumers/{id}")).await;
    assert_eq!(renamed["name"], "Initech Ltd");
    let deleted = browser
        .post(&page, &[("action", "delete"), ("csrf", &token)])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let (status, _) = h.get(&format!("/v1/consumers/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h
        .get(&format!("/v1/consumers/{}", taken["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK, "only that consumer");
}

/// The stored version a page's form edits (its hidden `version` field).
fn version_of(page: &str) -> String {
    page.split(r#"name="version" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the version edited")
        .to_owned()
}

/// The text of a page's `<textarea name="...">`, as a browser would show it.
fn textarea(page: &str, name: &str) -> String {
    let open = page
        .find(&format!(r#"name="{name}""#))
        .expect("the textarea");
    let start = open + page[open..].find('>').unwrap() + 1;
    let end = start + page[start..].find("</textarea>").unwrap();
    page[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn location(response: &Response<Body>) -> &str {
    header(response, "location")
}

#[tokio::test]
async fn a_custom_integration_is_defined_edited_and_deleted_by_the_api_rules() {
    let h = harness().await;
    let mut browser = Browser::new(&h);
    browser.sign_in(&h.key).await;
    let token = browser.token().await;
    let count = || async {
        let (_, listed) = h.get("/v1/integrations?limit=100").await;
        listed["data"].as_array().unwrap().len()
    };
    let before = count().await;

    let new = text(&browser.get("/console/integrations/new").await);
    let template = textarea(&new, "definition");
    let mut definition: serde_json::Value = serde_json::from_str(&template).unwrap();
    assert_eq!(
        definition["auth_options"][0]["type"], "oauth2",
        "a starting point"
    );

    // A rule of the API, broken: its field is named under the editor, nothing is created.
    definition["key"] = json!("acmecrm");
    definition["name"] = json!("Acme CRM");
    definition["auth_options"][0]["token_url"] = json!("http://acme.example/token");
    definition["auth_options"][0]["client"] =
        json!({"client_id": "typed-id", "client_secret": "typed-secret"});
    let refused = browser
        .post(
            "/console/integrations",
            &[("definition", &definition.to_string()), ("csrf", &token)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = text(&refused);
    let error = page.find(r#"id="f-definition-error""#).expect("its error");
    assert!(
        page[error..].contains("auth_options[0].token_url"),
        "{}",
        &page[error..error + 200]
    );
    assert!(page.contains(r#"aria-invalid="true""#));
    // What was typed is kept, but a page never shows a client secret, typed or stored.
    assert!(!page.contains("typed-secret"));
    definition["auth_options"][0]["client"] = json!({"client_id": "typed-id"});
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&textarea(&page, "definition")).unwrap(),
        definition,
        "what was typed is kept"
    );
    let broken = browser
        .post(
            "/console/integrations",
            &[("definition", "{\"key\": "), ("csrf", &token)],
        )
        .await;
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&broken).contains("is not a JSON object"));
    assert_eq!(count().await, before, "nothing was created");

    definition["auth_options"][0]["token_url"] = json!("https://acme.example/token");
    let created = browser
        .post(
            "/console/integrations",
            &[("definition", &definition.to_string()), ("csrf", &token)],
        )
        .await;
    assert_eq!(
        created.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(&created)
    );
    let path = location(&created)
        .strip_prefix(PUBLIC_URL.trim_end_matches('/'))
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let id = path.rsplit('/').next().unwrap().to_owned();
    let (_, stored) = h.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(
        (stored["key"].as_str(), stored["status"].as_str()),
        (Some("acmecrm"), Some("inactive"))
    );

    // Its OAuth app, then an edit of the definition as the page shows it: the secret,
    // never shown, is kept.
    let app = browser
        .post(
            &path,
            &[
                ("action", "app"),
                ("client.client_id", "acme-client"),
                ("client.client_secret", "acme-secret"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(app.status(), StatusCode::SEE_OTHER);
    let page = text(&browser.get(&path).await);
    assert!(page.contains("It has no connections."));
    let shown = textarea(&page, "definition");
    assert!(
        shown.contains("acme-client")
            && !shown.contains("acme-secret")
            && !shown.contains("client_secret"),
        "{shown}"
    );
    let edited = shown.replace("\"Acme CRM\"", "\"Acme CRM (EU)\"");
    let version = version_of(&page);
    // Saved over a newer version (here: the status changed meanwhile), it is refused.
    let (_, _) = h
        .send(
            "PATCH",
            &format!("/v1/integrations/{id}"),
            json!({"status": "inactive"}),
        )
        .await;
    let stale = browser
        .post(
            &path,
            &[
                ("action", "definition"),
                ("definition", &edited),
                ("version", &version),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&stale).contains("changed since this page was opened"));
    assert_ne!(
        version_of(&text(&stale)),
        version,
        "shown again over the newer version: saving again replaces it knowingly"
    );
    // Refused for anything else, the text stays on the version it was typed on: the
    // change made meanwhile is still caught when it is fixed.
    let malformed = browser
        .post(
            &path,
            &[
                ("action", "definition"),
                ("definition", "{\"key\": "),
                ("version", &version),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(version_of(&text(&malformed)), version);
    let (_, kept) = h.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(
        (kept["name"].as_str(), kept["status"].as_str()),
        (Some("Acme CRM"), Some("inactive"))
    );
    let page = text(&browser.get(&path).await);
    let shown = textarea(&page, "definition");
    let edited = shown
        .replace("\"Acme CRM\"", "\"Acme CRM (EU)\"")
        .replace("\"inactive\"", "\"active\"");
    let version = version_of(&page);
    let saved = browser
        .post(
            &path,
            &[
                ("action", "definition"),
                ("definition", &edited),
                ("version", &version),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{}", text(&saved));
    let (_, after) = h.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(after["name"], "Acme CRM (EU)");
    assert_eq!(after["status"], "active");
    assert_eq!(
        after["auth_options"][0]["client"]["client_secret"], "********",
        "the secret is still set"
    );

    // A built-in has no definition to edit and is not deleted from here.
    let (_, builtins) = h.get("/v1/integrations?key=github").await;
    let github = builtins["data"][0]["id"].as_str().unwrap().to_owned();
    let builtin_page = text(
        &browser
            .get(&format!("/console/integrations/{github}"))
            .await,
    );
    assert!(!builtin_page.contains(r#"name="definition""#));
    browser
        .post(
            &format!("/console/integrations/{github}"),
            &[("action", "delete"), ("csrf", &token)],
        )
        .await;
    let (status, _) = h.get(&format!("/v1/integrations/{github}")).await;
    assert_eq!(status, StatusCode::OK);

    let deleted = browser
        .post(&path, &[("action", "delete"), ("csrf", &token)])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let listed = location(&deleted)
        .strip_prefix(PUBLIC_URL.trim_end_matches('/'))
        .unwrap()
        .to_owned();
    assert!(
        text(&browser.get(&listed).await)
            .contains("Deleted: its connections were disconnected first.")
    );
    let (status, _) = h.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(count().await, before);
}

#[tokio::test]
async fn settings_send_a_test_event_list_deliveries_and_take_a_logo_file() {
    let h = harness().await;
    let mut browser = Browser::new(&h);
    browser.sign_in(&h.key).await;
    let token = browser.token().await;
    let receiver =
        latchkey_tests::loopback::Loopback::start(|_| async { (204, String::new()) }).await;
    latchkey_tests::webhooks::pointed_at(&h, &receiver).await;

    let sent = browser
        .post(
            "/console/settings",
            &[("action", "test-webhook"), ("csrf", &token)],
        )
        .await;
    // Redirected (a reload sends nothing more), to the page that says how it went.
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let next = location(&sent)
        .strip_prefix(PUBLIC_URL.trim_end_matches('/'))
        .unwrap()
        .to_owned();
    let page = text(&browser.get(&next).await);
    assert!(
        page.contains("Test event delivered: your endpoint answered HTTP 204."),
        "{page}"
    );
    let table = &page[page.find("Recent deliveries").unwrap()..];
    assert!(
        table.contains("webhook.test") && table.contains("Delivered") && table.contains("HTTP 204")
    );
    assert_eq!(receiver.recorded().len(), 1);

    // The logo as the page's script posts the chosen file: a data URL.
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let refused = browser
        .post(
            "/console/settings",
            &[
                ("action", "branding"),
                ("branding.logo", "data:text/plain;base64,aGk="),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = text(&refused);
    let error = page
        .find(r#"id="f-logo-error""#)
        .expect("next to the logo field");
    assert!(
        page[error..].contains("The file type must be one of"),
        "{}",
        &page[error..error + 160]
    );
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(account["branding"]["logo"], json!(null), "nothing changed");

    let logo = format!("data:image/png;base64,{PNG}");
    let saved = browser
        .post(
            "/console/settings",
            &[
                ("action", "branding"),
                ("branding.logo", &logo),
                ("branding.primary_color", "#0a7d5a"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{}", text(&saved));
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(
        account["branding"]["logo"],
        json!({"content_type": "image/png", "data_base64": PNG})
    );
    // Saving the branding without choosing a file keeps the logo; removing it removes it.
    browser
        .post(
            "/console/settings",
            &[
                ("action", "branding"),
                ("branding.primary_color", "#0a7d5b"),
                ("csrf", &token),
            ],
        )
        .await;
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(account["branding"]["logo"]["content_type"], "image/png");
    assert_eq!(account["branding"]["primary_color"], "#0a7d5b");
    browser
        .post(
            "/console/settings",
            &[
                ("action", "branding"),
                ("remove_logo", "true"),
                ("csrf", &token),
            ],
        )
        .await;
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(account["branding"]["logo"], json!(null));
}
