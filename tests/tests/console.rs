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
    let refused = browser
        .post(
            &page,
            &[
                ("action", "edit"),
                ("consumer.name", "Initech"),
                ("consumer.internal_reference", "cust-1"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text(&refused).contains(r#"id="f-consumer-internal_reference-error""#),
        "{}",
        text(&refused)
    );
    let (_, unchanged) = h.get(&format!("/v1/consumers/{id}")).await;
    assert_eq!(unchanged["internal_reference"], json!(null));
    let saved = browser
        .post(
            &page,
            &[
                ("action", "edit"),
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
