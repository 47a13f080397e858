//! Integration.App's `/connection-popup` (seed `001_…txt`) opened with a workspace token:
//! each parameter the seed lists, the OAuth 2.0 flow from the popup, and errors returned
//! to `redirectUri` "successfully or not".

use std::collections::BTreeMap;

use lambda_http::Body;
use lambda_http::http::{self, StatusCode};
use latchkey_domain::{ConnectionId, ConnectionStatus};
use latchkey_store::Connections;
use latchkey_store::testing;
use latchkey_tests::Harness;
use latchkey_tests::loopback::Loopback;
use latchkey_tests::oauth::{
    authorize_at_provider, body_text, browse, callback_path, flow_cookie, issuer, location,
    oauth_integration, post_form, register,
};
use serde_json::{Value, json};
use url::Url;

const DONE: &str = "https://app.acme.test/done";

struct Popup {
    h: Harness,
    secret: String,
    consumer: String,
}

/// An HS256 workspace token over `claims`, with a fresh `jti` unless they carry one:
/// each token opens one popup.
fn sign(secret: &str, claims: &Value) -> String {
    let mut claims = claims.clone();
    if claims.get("jti").is_none() {
        claims["jti"] = json!(hex::encode(latchkey_domain::token::random_bytes::<8>()));
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A harness whose account signs workspace tokens, and a token for consumer `crm-9`.
async fn popup() -> Popup {
    let h = Harness::new(testing::sqlite_table().await).await;
    let (status, rotated) = h
        .call("POST", "/v1/account/jwt-secret", Some(&h.key), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let (_, consumer) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Globex", "internal_reference": "crm-9", "redirect_url": DONE}),
        )
        .await;
    let secret = rotated["secret"].as_str().unwrap().to_owned();
    Popup {
        h,
        secret,
        consumer: consumer["id"].as_str().unwrap().to_owned(),
    }
}

impl Popup {
    /// A new token for consumer `crm-9`, valid ten minutes, with `signed` claims added.
    fn token(&self, signed: Value) -> String {
        let mut claims =
            json!({"iss": self.h.account_id, "sub": "crm-9", "exp": testing::T0 + 600});
        for (k, v) in signed.as_object().unwrap() {
            claims[k] = v.clone();
        }
        sign(&self.secret, &claims)
    }

    /// `GET /connection-popup?token=…&{pairs}` with a new token.
    async fn open(&self, pairs: &[(&str, &str)]) -> http::Response<Body> {
        self.open_with(&self.token(json!({})), pairs).await
    }

    async fn open_with(&self, token: &str, pairs: &[(&str, &str)]) -> http::Response<Body> {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .extend_pairs(pairs)
            .finish();
        browse(&self.h, &format!("connection-popup?{q}"), None).await
    }

    /// `POST /connection-popup` with a JSON body, as the seed recommends.
    async fn post(&self, mut body: Value) -> http::Response<Body> {
        body["token"] = json!(self.token(json!({})));
        let request = http::Request::builder()
            .method("POST")
            .uri("/connection-popup")
            .header("content-type", "application/json")
            .body(Body::Text(body.to_string()))
            .unwrap();
        self.h.raw(request).await
    }

    async fn connections(&self) -> Vec<Value> {
        let (_, listed) = self
            .h
            .get(&format!("/v1/consumers/{}/connections", self.consumer))
            .await;
        listed["data"].as_array().unwrap().clone()
    }
}

/// The query the vendor's `redirectUri` receives.
fn returned(response: &http::Response<Body>) -> BTreeMap<String, String> {
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "{}",
        body_text(response)
    );
    let target = Url::parse(&location(response)).unwrap();
    assert!(target.as_str().starts_with(DONE), "{target}");
    target.query_pairs().into_owned().collect()
}

/// A client-credentials integration whose token endpoint sits under the `tenant`
/// connection parameter's path; answers 401 `invalid_client` for tenant `locked`.
async fn tenant_service(p: &Popup) -> (String, Loopback) {
    let provider = Loopback::start(|r| async move {
        if r.target.starts_with("/locked/") {
            (401, r#"{"error":"invalid_client"}"#.to_owned())
        } else {
            (200, r#"{"access_token":"cc","expires_in":3600}"#.to_owned())
        }
    })
    .await;
    let (status, created) = p
        .h
        .send(
            "POST",
            "/v1/integrations",
            json!({
                "key": "service", "name": "Service",
                "parameters": [{"name": "tenant", "label": "Tenant", "required": true, "pattern": "^[a-z]+$"}],
                "auth_options": [{"key": "cc", "type": "oauth2_client_credentials",
                    "token_url": format!("{}/{{tenant}}/token", provider.url),
                    "client": {"client_id": "svc", "client_secret": "s"}}],
                "api": {"base_url": provider.url}
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (created["id"].as_str().unwrap().to_owned(), provider)
}

#[tokio::test]
async fn a_popup_for_a_named_integration_returns_its_failure_to_redirect_uri() {
    let p = popup().await;
    let (id, _provider) = tenant_service(&p).await;
    for by in [
        ("integrationKey", "service"),
        ("integrationId", id.as_str()),
    ] {
        let failed = p
            .open(&[
                by,
                ("connectionParameters", r#"{"tenant":"locked"}"#),
                ("redirectUri", DONE),
            ])
            .await;
        let q = returned(&failed);
        assert_eq!(
            q.get("error").map(String::as_str),
            Some("provider_error"),
            "{by:?}: {q:?}"
        );
        let data: Value = serde_json::from_str(&q["errorData"]).unwrap();
        assert_eq!(data["provider_error"], "invalid_client", "{by:?}");
    }
    assert!(p.connections().await.is_empty());
}

#[tokio::test]
async fn connection_parameters_come_as_an_object_or_as_json_text() {
    let p = popup().await;
    let (_, provider) = tenant_service(&p).await;
    let by_body = returned(
        &p.post(
            json!({"integrationKey": "service", "connectionParameters": {"tenant": "acme"},
            "allowMultipleConnections": true}),
        )
        .await,
    );
    let by_query = returned(
        &p.open(&[
            ("integrationKey", "service"),
            ("connectionParameters", r#"{"tenant":"globex"}"#),
            ("allowMultipleConnections", "true"),
        ])
        .await,
    );
    let targets: Vec<String> = provider.recorded().into_iter().map(|r| r.target).collect();
    assert_eq!(targets, ["/acme/token", "/globex/token"]);
    for (q, tenant) in [(by_body, "acme"), (by_query, "globex")] {
        let c =
            p.h.app
                .store
                .connection(
                    &p.h.account_id,
                    &ConnectionId::from(q["connectionId"].as_str()),
                )
                .await
                .unwrap()
                .unwrap()
                .value;
        assert_eq!(c.parameters["tenant"], tenant);
    }
}

#[tokio::test]
async fn allow_multiple_connections_keeps_the_earlier_one_and_its_absence_replaces_it() {
    let p = popup().await;
    tenant_service(&p).await;
    let open = |multiple: bool| {
        let mut pairs = vec![
            ("integrationKey", "service"),
            ("connectionParameters", r#"{"tenant":"acme"}"#),
        ];
        if multiple {
            pairs.push(("allowMultipleConnections", "true"));
        }
        let p = &p;
        async move { returned(&p.open(&pairs).await)["connectionId"].clone() }
    };
    let first = open(true).await;
    let second = open(true).await;
    let mut ids: Vec<String> = p
        .connections()
        .await
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(ids, both, "allowMultipleConnections=true keeps both");
    let third = open(false).await;
    let ids: Vec<String> = p
        .connections()
        .await
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        [third],
        "without it, the new connection replaces the others"
    );
}

#[tokio::test]
async fn connection_id_reauthorises_that_connection() {
    let p = popup().await;
    tenant_service(&p).await;
    let params = ("connectionParameters", r#"{"tenant":"acme"}"#);
    let first =
        returned(&p.open(&[("integrationKey", "service"), params]).await)["connectionId"].clone();
    let signed = p.token(json!({"connectionId": first}));
    let again = returned(
        &p.open_with(&signed, &[("integrationKey", "service"), params])
            .await,
    );
    assert_eq!(
        again["connectionId"], first,
        "the same connection, re-authorised"
    );
    let listed = p.connections().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "active");

    // Named only in the (unsigned) query, a connection is not re-authorised: whoever
    // holds a popup URL cannot put their own account into someone's connection.
    let unsigned = returned(
        &p.open(&[
            ("integrationKey", "service"),
            params,
            ("connectionId", first.as_str()),
        ])
        .await,
    );
    assert_ne!(unsigned["connectionId"], first, "a new connection instead");
}

/// Security review M1: a workspace token opens one popup, lives at most 15 minutes, and
/// is not echoed into the popup's own links.
#[tokio::test]
async fn a_workspace_token_opens_one_popup_and_stays_out_of_its_links() {
    let p = popup().await;
    tenant_service(&p).await;
    let token = p.token(json!({}));
    let first = p
        .open_with(&token, &[("integrationKey", "service"), ("name", "Ledger")])
        .await;
    assert_eq!(first.status(), StatusCode::OK, "{}", body_text(&first));
    let page = body_text(&first);
    assert!(page.contains(r#"action="/connect/lka_"#), "{page}");
    assert!(!page.contains(&token), "the JWT is in no link: {page}");
    let again = p.open_with(&token, &[("integrationKey", "service")]).await;
    assert_eq!(again.status(), StatusCode::GONE, "used once already");
    let long = sign(
        &p.secret,
        &json!({"iss": p.h.account_id, "sub": "crm-9", "exp": testing::T0 + 16 * 60}),
    );
    assert_eq!(
        p.open_with(&long, &[]).await.status(),
        StatusCode::GONE,
        "over 15 minutes"
    );
    // The popup it opened goes on: its form posts to the popup's own activation.
    let action = page
        .split(r#"action=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let done = post_form(&p.h, &action[1..], &[("param.tenant", "acme")]).await;
    assert!(returned(&done).contains_key("connectionId"));
}

#[tokio::test]
async fn the_oauth_flow_runs_from_the_connection_popup() {
    let p = popup().await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    oauth_integration(&p.h, &client, "basic", None).await;
    let landing = p
        .open(&[
            ("integrationKey", "testprovider"),
            ("name", "Books"),
            ("customState", "from-the-app"),
            ("redirectUri", DONE),
        ])
        .await;
    assert_eq!(
        landing.status(),
        StatusCode::FOUND,
        "{}",
        body_text(&landing)
    );
    assert!(location(&landing).starts_with(&format!("{}/auth?", issuer())));
    let cookie = flow_cookie(&landing);
    let callback = authorize_at_provider(&location(&landing)).await;
    let done = browse(&p.h, &callback_path(&callback), Some(&cookie)).await;
    let q = returned(&done);
    assert_eq!(q["customState"], "from-the-app");
    let c =
        p.h.app
            .store
            .connection(
                &p.h.account_id,
                &ConnectionId::from(q["connectionId"].as_str()),
            )
            .await
            .unwrap()
            .unwrap()
            .value;
    assert_eq!(
        (c.name.as_str(), c.status),
        ("Books", ConnectionStatus::Active)
    );
    assert_eq!(c.consumer_id.as_str(), p.consumer);
}

/// Cyclr's sign-in token "creates the user if it does not exist"; here a workspace token
/// whose `sub` names no consumer creates it from its signed claims — only where the
/// account turned `auto_create_consumers` on.
#[tokio::test]
async fn a_workspace_token_creates_its_consumer_on_first_use_when_the_account_allows_it() {
    let p = popup().await;
    tenant_service(&p).await;
    let claims = json!({"iss": p.h.account_id, "sub": "crm-new", "name": "Initech",
        "email": "ops@initech.example", "exp": testing::T0 + 600});
    let token = sign(&p.secret, &claims);
    let pairs = [
        ("integrationKey", "service"),
        ("connectionParameters", r#"{"tenant":"acme"}"#),
        ("redirectUri", DONE),
    ];
    let by_reference = "/v1/consumers?internal_reference=crm-new";
    let refused = p.open_with(&token, &pairs).await;
    assert_eq!(refused.status(), StatusCode::GONE, "off by default");
    assert_eq!(
        p.h.get(by_reference).await.1["data"],
        json!([]),
        "nothing created"
    );

    let (status, account) = p
        .h
        .send(
            "PATCH",
            "/v1/account",
            json!({"auto_create_consumers": true, "allowed_redirect_origins": ["https://app.acme.test"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["auto_create_consumers"], true);
    // Two first uses at once (two tokens) make one consumer.
    let other = sign(&p.secret, &claims);
    let token = sign(&p.secret, &claims);
    let (a, b) = tokio::join!(p.open_with(&token, &pairs), p.open_with(&other, &pairs));
    for opened in [a, b] {
        assert!(returned(&opened).contains_key("connectionId"));
    }
    let listed = p.h.get(by_reference).await.1["data"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        (&listed[0]["name"], &listed[0]["email"]),
        (&json!("Initech"), &json!("ops@initech.example"))
    );
}

/// The same flag lets a link by internal reference create its consumer; without it, or
/// with bad input, nothing is created.
#[tokio::test]
async fn a_link_by_reference_creates_its_consumer_only_when_the_account_allows_it() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let path = "/v1/consumers/by-reference/crm-77/connections";
    let listed = "/v1/consumers?internal_reference=crm-77";
    let (status, _) = h.send("POST", path, json!({"name": "L"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "off by default");
    let (status, _) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"auto_create_consumers": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for (body, field) in [
        (
            json!({"name": "L", "integration_id": "int_nope"}),
            "integration_id",
        ),
        (
            json!({"name": "L", "connection_id": "con_nope"}),
            "connection_id",
        ),
        (
            json!({"name": "L", "consumer": {"name": "U", "redirect_url": "javascript:alert(1)"}}),
            "consumer.redirect_url",
        ),
        (
            json!({"name": "L", "consumer": {"colour": "red"}}),
            "consumer.colour",
        ),
    ] {
        let (status, problem) = h.send("POST", path, body.clone()).await;
        assert!(status.is_client_error(), "{body}: {status}");
        assert_eq!(problem["field"], field, "{body}: {problem}");
        assert_eq!(
            h.get(listed).await.1["data"],
            json!([]),
            "{body} created nothing"
        );
    }
    let body =
        json!({"name": "L", "consumer": {"name": "Umbrella", "email": "it@umbrella.example"}});
    for _ in 0..2 {
        let (status, link) = h.send("POST", path, body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{link}");
        assert!(link["url"].as_str().unwrap().contains("/connect/lka_"));
    }
    let consumers = h.get(listed).await.1["data"].clone();
    assert_eq!(
        consumers.as_array().unwrap().len(),
        1,
        "created once: {consumers}"
    );
    assert_eq!(consumers[0]["name"], "Umbrella");
    let id = consumers[0]["id"].as_str().unwrap();
    let (status, problem) = h
        .send("POST", &format!("/v1/consumers/{id}/connections"), body)
        .await;
    assert_eq!(
        (status.as_u16(), &problem["field"]),
        (422, &json!("consumer"))
    );
}
