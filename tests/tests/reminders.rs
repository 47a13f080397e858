//! Reminder emails (Chift, `000_…txt`: a consumer's `email` is "used for automated
//! reminders"): a connection that breaks emails its consumer a way to reconnect it, again
//! after the account's delay while it stays broken, at most its maximum, never after the
//! consumer opted out. Through a real SMTP server (aiosmtpd), moto's SES, and Chromium.

use lambda_http::Body;
use lambda_http::http::{self, StatusCode};
use latchkey_connect::connections::{self, RunOptions};
use latchkey_domain::Credentials;
use latchkey_domain::token::random_bytes;
use latchkey_mail::Mailer;
use latchkey_store::testing;
use latchkey_tests::chromium::{self, run, served};
use latchkey_tests::loopback::Loopback;
use latchkey_tests::mail::{SmtpSink, ses_messages_to};
use latchkey_tests::oauth::*;
use latchkey_tests::{Harness, PUBLIC_URL};
use serde_json::{Value, json};

const FROM: &str = "reminders@acme.example";

/// 40 minutes on, one-hour tokens are inside the refresh margin.
const INTO_THE_MARGIN: i64 = 40 * 60;

fn unique_email(name: &str) -> String {
    format!("{name}-{}@globex.example", hex::encode(random_bytes::<6>()))
}

async fn enable_reminders(h: &Harness, max: u32) {
    let (status, account) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"reminders": {"enabled": true, "repeat_after_hours": 24, "max_reminders": max}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["reminders"]["max_reminders"], max);
}

/// One scheduled run that sends reminders through `mailer`.
async fn run_once(h: &Harness, mailer: &Mailer) -> connections::RunReport {
    let options = RunOptions {
        mailer: Some(mailer),
        ..RunOptions::default()
    };
    connections::run(&h.app, options).await.unwrap()
}

/// The "Books" integration, its token endpoint refusing every refresh with `error`
/// (`invalid_grant`: the user revoked the app at the provider).
async fn refusing_integration(h: &Harness, error: &str) -> (String, Loopback) {
    books_answering(h, (400, format!(r#"{{"error":"{error}"}}"#))).await
}

/// A consumer "Globex" (with `email`, if any) and its connection to `integration`.
async fn installed(h: &Harness, integration: &str, email: Option<&str>) -> (String, String) {
    let mut body = json!({"name": "Globex"});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    installed_with_tokens(h, integration, body).await
}

/// The path of one of a message's links (they point at the harness's public URL).
fn path_of(url: &str) -> String {
    url.strip_prefix(PUBLIC_URL.trim_end_matches('/'))
        .unwrap_or_else(|| panic!("{url} is not under {PUBLIC_URL}"))
        .to_owned()
}

/// The reconnect and opt-out links of a received message, from its plain-text part.
fn links_of(message: &Value) -> (String, String) {
    let text = message["text"].as_str().unwrap();
    let after = |label: &str| {
        let start = text
            .find(label)
            .unwrap_or_else(|| panic!("{label} in {text}"))
            + label.len();
        text[start..].split_whitespace().next().unwrap().to_owned()
    };
    (after("Reconnect Books: "), after("Stop these reminders: "))
}

async fn page(h: &Harness, method: &str, path: &str, form: Option<&str>) -> (StatusCode, String) {
    let mut request = http::Request::builder().method(method).uri(path);
    let body = match form {
        Some(f) => {
            request = request.header("content-type", "application/x-www-form-urlencoded");
            Body::Text(f.to_owned())
        }
        None => Body::Empty,
    };
    let response = h.raw(request.body(body).unwrap()).await;
    (response.status(), body_text(&response))
}

#[tokio::test]
async fn reminders_repeat_while_broken_up_to_the_maximum_and_stop_on_opt_out() {
    let sink = SmtpSink::start();
    let mailer = sink.mailer(FROM);
    let h = Harness::new(testing::sqlite_table().await).await;
    let (integration, _provider) = refusing_integration(&h, "invalid_grant").await;
    let (stays, stays_email) = {
        let email = unique_email("stays");
        (installed(&h, &integration, Some(&email)).await, email)
    };
    let (leaves, leaves_email) = {
        let email = unique_email("leaves");
        (installed(&h, &integration, Some(&email)).await, email)
    };
    let _silent = installed(&h, &integration, None).await;

    // Off by default: a broken connection emails nobody.
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(account["reminders"]["enabled"], false);
    enable_reminders(&h, 2).await;

    h.clock.advance(INTO_THE_MARGIN);
    let report = run_once(&h, &mailer).await;
    assert_eq!(report.needs_reauth, 3);
    assert_eq!(
        report.reminders_sent, 2,
        "{report:?}: one per consumer with an email"
    );
    let first = sink.messages_to(&stays_email);
    assert_eq!(first.len(), 1);
    let m = &first[0];
    assert_eq!(m["headers"]["Subject"], "Reconnect Books to Acme");
    assert_eq!(m["headers"]["From"], format!("Acme <{FROM}>"));
    assert_eq!(m["envelope"]["to"], json!([stays_email]));
    assert_eq!(m["content_type"], "multipart/alternative");
    let (reconnect, opt_out) = links_of(m);
    assert!(
        reconnect.starts_with(&format!("{PUBLIC_URL}reminders/lkr_")),
        "{reconnect}"
    );
    assert_eq!(opt_out, format!("{reconnect}/opt-out"));
    assert_eq!(m["headers"]["List-Unsubscribe"], format!("<{opt_out}>"));
    assert_eq!(
        m["headers"]["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    let html = m["html"].as_str().unwrap();
    assert!(html.contains(&format!("href=\"{reconnect}\"")), "{html}");
    assert!(html.contains(&format!("href=\"{opt_out}\"")), "{html}");
    // The connections' ids are in no link: a token stands for them.
    assert!(!reconnect.contains(&stays.1));

    // Nothing more until the delay has passed.
    assert_eq!(run_once(&h, &mailer).await.reminders_sent, 0);
    h.clock.advance(23 * 3600);
    assert_eq!(run_once(&h, &mailer).await.reminders_sent, 0);

    // One consumer opts out: the page asks first (a mail scanner's GET changes nothing),
    // the one-click POST a mail client sends does it.
    let (_, leaves_opt_out) = links_of(&sink.messages_to(&leaves_email)[0]);
    let (status, offer) = page(&h, "GET", &path_of(&leaves_opt_out), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(offer.contains("Stop reminders"), "{offer}");
    let (_, consumer) = h.get(&format!("/v1/consumers/{}", leaves.0)).await;
    assert!(
        consumer.get("reminders_opted_out_at").is_none(),
        "{consumer}"
    );
    let (status, done) = page(
        &h,
        "POST",
        &path_of(&leaves_opt_out),
        Some("List-Unsubscribe=One-Click"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("Reminders stopped"), "{done}");
    let (_, consumer) = h.get(&format!("/v1/consumers/{}", leaves.0)).await;
    assert!(consumer["reminders_opted_out_at"].is_string(), "{consumer}");

    h.clock.advance(3600);
    let report = run_once(&h, &mailer).await;
    assert_eq!(report.reminders_sent, 1, "{report:?}");
    let second = sink.messages_to(&stays_email);
    assert_eq!(second.len(), 2, "the second reminder, a day later");
    let (second_reconnect, _) = links_of(&second[1]);
    assert_ne!(
        second_reconnect, reconnect,
        "each reminder has its own link"
    );
    assert_eq!(sink.messages_to(&leaves_email).len(), 1, "opted out");

    // Two was the maximum.
    h.clock.advance(3 * 24 * 3600);
    assert_eq!(run_once(&h, &mailer).await.reminders_sent, 0);
    assert_eq!(sink.messages_to(&stays_email).len(), 2);

    // An unknown link says so and changes nothing.
    let (status, text) = page(&h, "GET", "/reminders/lkr_unknown", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("not valid or has expired"), "{text}");
    let (status, _) = page(&h, "POST", "/reminders/lkr_unknown/opt-out", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_connection_in_error_is_reminded_too() {
    let sink = SmtpSink::start();
    let mailer = sink.mailer(FROM);
    let h = Harness::new(testing::sqlite_table().await).await;
    // The provider no longer knows the vendor's app: nothing will renew these tokens.
    let (integration, _provider) = refusing_integration(&h, "invalid_client").await;
    let email = unique_email("error");
    let (_, id) = installed(&h, &integration, Some(&email)).await;
    enable_reminders(&h, 3).await;
    h.clock.advance(INTO_THE_MARGIN);
    let report = run_once(&h, &mailer).await;
    assert_eq!((report.errors, report.reminders_sent), (1, 1), "{report:?}");
    let (_, connection) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "error");
    let sent = sink.messages_to(&email);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["headers"]["Subject"], "Reconnect Books to Acme");
}

#[tokio::test]
async fn reminder_settings_are_validated_naming_the_field() {
    let h = Harness::new(testing::sqlite_table().await).await;
    for (body, field) in [
        (
            json!({"reminders": {"enabled": true, "max_reminders": 0}}),
            "reminders.max_reminders",
        ),
        (
            json!({"reminders": {"repeat_after_hours": 721}}),
            "reminders.repeat_after_hours",
        ),
        (
            json!({"reminders": {"enabled": true, "every": 2}}),
            "reminders.every",
        ),
    ] {
        let (status, problem) = h.send("PATCH", "/v1/account", body).await;
        assert!(status.is_client_error(), "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(
        account["reminders"],
        json!({"enabled": false, "repeat_after_hours": 24, "max_reminders": 3})
    );
}

#[tokio::test]
async fn reminders_go_through_amazon_ses_and_wait_while_it_refuses() {
    let domain = format!("acme-{}.example", hex::encode(random_bytes::<4>()));
    let from = format!("reminders@{domain}");
    let sdk = testing::sdk_config().await;
    let mailer = Mailer::ses(&sdk, &from).unwrap();
    let h = Harness::new(testing::dynamo_table().await).await;
    let (integration, _provider) = refusing_integration(&h, "invalid_grant").await;
    let email = unique_email("ses");
    installed(&h, &integration, Some(&email)).await;
    enable_reminders(&h, 3).await;

    // The sender's identity is not verified yet: SES refuses, the reminder waits.
    h.clock.advance(INTO_THE_MARGIN);
    let report = run_once(&h, &mailer).await;
    assert_eq!((report.needs_reauth, report.reminders_sent), (1, 0));
    assert!(ses_messages_to(&email).await.is_empty());

    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .unwrap();
    // Retried with backoff (at most an hour after the first failure).
    h.clock.advance(3600);
    assert_eq!(run_once(&h, &mailer).await.reminders_sent, 1);
    let sent = ses_messages_to(&email).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["headers"]["Subject"], "Reconnect Books to Acme");
    assert_eq!(sent[0]["headers"]["From"], format!("Acme <{from}>"));
    assert!(
        sent[0]["text"]
            .as_str()
            .unwrap()
            .contains("/reminders/lkr_")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emailed_link_reconnects_the_connection_in_chromium() {
    let sink = SmtpSink::start();
    let mailer = sink.mailer(FROM);
    let (h, base) = served().await;
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    let integration = oauth_integration(&h, &client, "basic", None).await;
    enable_reminders(&h, 3).await;
    let email = unique_email("chromium");
    let (_, consumer) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Globex", "email": email}),
        )
        .await;
    let consumer = consumer["id"].as_str().unwrap();
    let (status, link) = h
        .send(
            "POST",
            &format!("/v1/consumers/{consumer}/connections"),
            json!({"name": "Books", "integration_id": integration}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let report = run(
        json!({"stub": "https://app.acme.test", "start": link["url"],
               "steps": [{"waitFor": format!("{base}oauth/callback")}]}),
        None,
    )
    .await;
    let connected = report["snapshots"].as_array().unwrap().last().unwrap();
    assert_eq!(connected["heading"], "Connected", "{connected}");
    let (_, listed) = h
        .get(&format!("/v1/consumers/{consumer}/connections"))
        .await;
    let id = listed["data"][0]["id"].as_str().unwrap().to_owned();

    // The user revokes the app at the provider; the next refresh finds out.
    let Credentials::Oauth2 { refresh_token, .. } = h.credentials(&id).await else {
        panic!("OAuth 2.0 credentials expected");
    };
    let revoked = reqwest::Client::new()
        .post(format!("{}/token/revocation", issuer()))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", refresh_token.unwrap().expose())])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    h.clock.advance(INTO_THE_MARGIN);
    let report = run_once(&h, &mailer).await;
    assert_eq!((report.needs_reauth, report.reminders_sent), (1, 1));
    let sent = sink.messages_to(&email);
    assert_eq!(sent.len(), 1);

    // The email as the consumer sees it, and its button followed in the browser: the
    // provider again, then the connection works.
    let html = sent[0]["html"].as_str().unwrap();
    let report = run(
        json!({"stub": "https://app.acme.test",
        "start": format!("data:text/html;charset=utf-8,{}", urlencode(html)),
        "steps": [
            {"click": "Reconnect Test Provider"},
            {"waitFor": format!("{base}oauth/callback")}
        ]}),
        Some("reminder-email"),
    )
    .await;
    let email_view = &report["snapshots"][0];
    assert_eq!(
        email_view["heading"],
        "Test Provider needs you to sign in again"
    );
    let last = report["snapshots"].as_array().unwrap().last().unwrap();
    // A re-authorisation ends on the marketplace, the connection marked connected.
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .contains("Your software is connected."),
        "{last}"
    );
    let (_, connection) = h.get(&format!("/v1/connections/{id}")).await;
    assert_eq!(connection["status"], "active", "re-authorised in place");

    // Mended: no more reminders, and the old link says there is nothing to do.
    h.clock.advance(25 * 3600);
    assert_eq!(run_once(&h, &mailer).await.reminders_sent, 0);
    assert_eq!(sink.messages_to(&email).len(), 1);
    let reconnect = chromium::link(email_view, "Reconnect Test Provider").unwrap();
    let report = run(
        json!({"stub": "https://app.acme.test", "start": reconnect, "steps": []}),
        Some("reminder-mended"),
    )
    .await;
    assert_eq!(report["snapshots"][0]["heading"], "Nothing to reconnect");

    // The opt-out link, as the consumer clicks it: a page that asks, a button that acts.
    let opt_out = chromium::link(email_view, "Stop these reminders").unwrap();
    let report = run(
        json!({"stub": "https://app.acme.test", "start": opt_out, "steps": [{"click": "Stop reminders"}]}),
        Some("reminder-opt-out"),
    )
    .await;
    assert_eq!(report["snapshots"][0]["heading"], "Stop reminder emails");
    assert_eq!(report["snapshots"][1]["heading"], "Reminders stopped");
    let (_, consumer) = h.get(&format!("/v1/consumers/{consumer}")).await;
    assert!(consumer["reminders_opted_out_at"].is_string(), "{consumer}");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
