//! The console walked in Chromium as a new vendor would, against the real local gateway
//! and the real OAuth server: sign in with the first key, define a custom OAuth
//! integration and enable it with the app's credentials, create a consumer and a link,
//! complete the connection in a second browser, see it active, make its refresh fail at
//! the provider, see it under needs re-authorisation with the error, send a
//! re-authorisation link, revoke a key (the API refuses it next), sign out (the old
//! cookie opens nothing), with a settings form refused and a secret rotated on the way;
//! then every page again in dark mode, uploading a logo and sending a test event.
//! axe-core checks every page; screenshots at 1280 and 360 px go
//! to `target/screenshots/console/`.

use latchkey_domain::{ConnectionStatus, Credentials};
use latchkey_store::Connections;
use latchkey_tests::chromium::{run, served};
use latchkey_tests::oauth::{issuer, redirect_client_to, register};
use serde_json::{Value, json};

/// Every `axe` snapshot of a run found no serious or critical violation.
fn accessible(report: &Value) {
    for (i, shot) in report["snapshots"].as_array().unwrap().iter().enumerate() {
        if let Some(found) = shot.get("axe") {
            assert_eq!(found, &json!([]), "axe on snapshot {i} ({})", shot["url"]);
        }
    }
}

fn text(shot: &Value) -> &str {
    shot["text"].as_str().unwrap_or("")
}

fn sign_in(key: &str) -> Vec<Value> {
    vec![
        json!({"fill": {"api_key": key}}),
        json!({"click": "Sign in"}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_vendor_walks_the_console_in_chromium() {
    let issuer = issuer();
    let (h, base) = served().await;
    let console = format!("{base}console/");
    let client = register(
        &["authorization_code", "refresh_token"],
        "client_secret_basic",
    )
    .await;
    // The custom integration the vendor's engineer defines in the console: the OAuth
    // server of this test, inactive until its app is set.
    let definition = json!({
        "key": "walkprovider", "name": "Walk Provider", "status": "inactive",
        "description": "The OAuth server of this test",
        "auth_options": [{
            "key": "oauth", "type": "oauth2",
            "authorization_url": format!("{issuer}/auth"), "token_url": format!("{issuer}/token"),
            "revoke_url": format!("{issuer}/token/revocation"),
            "scopes": ["openid", "offline_access"], "authorization_params": {"prompt": "consent"},
            "issuer": issuer
        }],
        "api": {"base_url": "https://api.walk.example"}
    });

    // 1. Sign in, define the integration and enable it, create a consumer and a link.
    let mut steps = vec![json!({"axe": true})];
    steps.extend(sign_in(&h.key));
    steps.extend([
        json!({"axe": true}),
        json!({"click": "Integrations"}),
        json!({"axe": true}),
        json!({"click": "New custom integration"}),
        json!({"axe": true}),
        json!({"fill": {"definition": serde_json::to_string_pretty(&definition).unwrap()}}),
        json!({"click": "Create integration"}),
        json!({"axe": true}),
        json!({"fill": {"client.client_id": client.id, "client.client_secret": client.secret}}),
        json!({"click": "Save and activate"}),
        json!({"click": "Integrations"}),
        json!({"fill": {"q": "walk"}}),
        json!({"click": "Search"}),
        json!({"click": "Consumers"}),
        json!({"fill": {"name": "Globex", "internal_reference": "globex-1"}}),
        json!({"click": "Create consumer"}),
        json!({"axe": true}),
        json!({"select": {"integration_id": "Walk Provider"}}),
        json!({"click": "Create activation link"}),
        json!({"axe": true}),
        json!({"click": "Copy"}),
        json!({"see": "Copied"}),
    ]);
    let report = run(
        json!({"stub": "https://app.acme.test", "start": console, "steps": steps}),
        Some("console/1-setup"),
    )
    .await;
    accessible(&report);
    let shots = report["snapshots"].as_array().unwrap();
    assert_eq!(shots[0]["heading"], "Sign in to the console");
    assert_eq!(shots[3]["heading"], "Connections", "signed in");
    assert_eq!(shots[7]["heading"], "New custom integration");
    let created = &shots[10];
    assert!(text(created).contains("Created."), "{}", text(created));
    assert!(text(created).contains("Inactive"));
    let integration_id = created["url"]
        .as_str()
        .unwrap()
        .split("/integrations/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    // The exact redirect URI to register, ready to copy; the provider's app gets it.
    let (_, integration) = h.get(&format!("/v1/integrations/{integration_id}")).await;
    assert_eq!(
        created["readonly"]["redirect-uri"],
        integration["redirect_uri"]
    );
    redirect_client_to(&client, integration["redirect_uri"].as_str().unwrap()).await;
    assert!(text(&shots[13]).contains("Saved."), "{}", text(&shots[13]));
    assert!(text(&shots[13]).contains("Active"));
    assert_eq!(
        shots[16]["cards"],
        json!(["Walk Provider"]),
        "the search finds it"
    );
    assert_eq!(shots[19]["heading"], "Globex");
    let link = shots[22]["readonly"]["link-url"]
        .as_str()
        .expect("the link");
    assert!(link.starts_with(&format!("{base}connect/lka_")), "{link}");
    // The page's script copies it (the field stays selectable without the script).
    let buttons = shots[25]["buttons"].as_array().unwrap();
    assert!(buttons.contains(&json!("Copied")), "{buttons:?}");
    let (_, active) = h.get(&format!("/v1/integrations/{integration_id}")).await;
    assert_eq!(active["status"], "active");
    assert_eq!(
        active["auth_options"][0]["client"]["client_id"],
        client.id.as_str()
    );

    // 2. The consumer completes the connection in a browser of their own.
    run(
        json!({"stub": "https://app.acme.test", "start": link, "steps": [{"waitUrl": "oauth/callback"}]}),
        None,
    )
    .await;
    let listed = h
        .app
        .store
        .connection_inventory(&h.account_id, &Default::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "one connection");
    let connection = listed.items[0].value.clone();
    assert_eq!(connection.status, ConnectionStatus::Active);

    // 3. Active in the inventory (in dark mode this time); then the user revokes the app
    //    at the provider, so the refresh token is dead.
    let mut steps = sign_in(&h.key);
    steps.extend([
        json!({"axe": true}),
        json!({"click": connection.name.as_str()}),
        json!({"axe": true}),
    ]);
    let report = run(
        json!({"stub": "https://app.acme.test", "start": console, "colorScheme": "dark", "steps": steps}),
        Some("console/2-inventory-dark"),
    )
    .await;
    accessible(&report);
    let shots = report["snapshots"].as_array().unwrap();
    assert!(text(&shots[2]).contains("Globex") && text(&shots[2]).contains("Active"));
    assert!(
        text(&shots[4]).contains("Walk Provider"),
        "the connection's page"
    );
    let Credentials::Oauth2 { refresh_token, .. } = h.credentials(connection.id.as_str()).await
    else {
        panic!("OAuth 2.0 credentials expected");
    };
    let revoked = reqwest::Client::new()
        .post(format!("{issuer}/token/revocation"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", refresh_token.unwrap().expose())])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());

    // 4. Refresh now fails for good; the connection is under needs re-authorisation with
    //    the error; a re-authorisation link; a key revoked; sign out.
    let (_, ops) = h
        .send("POST", "/v1/api-keys", json!({"label": "ops"}))
        .await;
    let ops_key = ops["key"].as_str().unwrap().to_owned();
    let page = format!("{console}connections/{}", connection.id);
    let mut steps = sign_in(&h.key);
    steps.extend([
        json!({"goto": page}),
        json!({"click": "Refresh now"}),
        json!({"goto": format!("{console}connections?status=needs_reauth")}),
        json!({"axe": true}),
        json!({"goto": page}),
        json!({"click": "Send a re-authorisation link"}),
        json!({"axe": true}),
        json!({"click": "API keys"}),
        json!({"axe": true}),
        json!({"button": "Revoke ops"}),
        json!({"click": "Settings"}),
        json!({"axe": true}),
        json!({"fill": {"branding.primary_color": "blue"}}),
        json!({"click": "Save branding"}),
        json!({"click": "Rotate the webhook signing secret"}),
        json!({"cookies": true}),
        json!({"click": "Sign out"}),
        json!({"axe": true}),
    ]);
    let report = run(
        json!({"stub": "https://app.acme.test", "start": console, "steps": steps}),
        Some("console/3-repair"),
    )
    .await;
    accessible(&report);
    let shots = report["snapshots"].as_array().unwrap();
    assert!(
        text(&shots[4]).contains("needs to be re-authorised by its user"),
        "the refresh's problem in words: {}",
        text(&shots[4])
    );
    assert!(
        text(&shots[5]).contains("Globex"),
        "listed under needs_reauth"
    );
    assert!(text(&shots[8]).contains("invalid_grant"), "the last error");
    let relink = shots[8]["readonly"]["link-url"].as_str().expect("a link");
    assert!(relink.starts_with(&format!("{base}connect/lka_")));
    assert!(text(&shots[12]).contains("revoked"), "{}", text(&shots[12]));
    let (status, _) = h.call("GET", "/v1/connections", Some(&ops_key), None).await;
    assert_eq!(status.as_u16(), 401, "the revoked key is refused");
    // A bad colour: the API's problem by its field, nothing saved; then a rotation.
    let bad = &shots[16]["invalid"];
    assert_eq!(bad[0]["name"], "branding.primary_color", "{bad}");
    assert!(
        bad[0]["describedBy"][0]
            .as_str()
            .unwrap()
            .contains("#1f6feb"),
        "{bad}"
    );
    assert!(text(&shots[16]).contains("must be a colour"));
    let secret = shots[17]["readonly"]["new-secret"]
        .as_str()
        .expect("the new secret");
    assert!(secret.len() >= 40, "shown once: {secret}");
    assert!(text(&shots[19]).contains("You are signed out."));
    let cookie = shots[18]["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lk_console")
        .expect("the session cookie")["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{console}connections"))
        .header("cookie", format!("lk_console={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.status().as_u16(),
        302,
        "the old session opens nothing"
    );
    assert_eq!(
        h.app
            .store
            .connection(&h.account_id, &connection.id)
            .await
            .unwrap()
            .unwrap()
            .value
            .status,
        ConnectionStatus::NeedsReauth
    );

    // 5. Every page once more in dark mode, for its screenshots and axe; on the way a
    //    logo file is uploaded and a test event sent to the vendor's receiver.
    let receiver =
        latchkey_tests::loopback::Loopback::start(|_| async { (204, String::new()) }).await;
    latchkey_tests::webhooks::pointed_at(&h, &receiver).await;
    let logo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/core/catalog/logos/vercel.svg"
    );
    let mut steps = sign_in(&h.key);
    steps.extend([
        json!({"click": "Integrations"}),
        json!({"axe": true}),
        json!({"click": "Walk Provider"}),
        json!({"axe": true}),
        json!({"goto": format!("{console}integrations/new")}),
        json!({"axe": true}),
        json!({"click": "Consumers"}),
        json!({"axe": true}),
        json!({"click": "Globex"}),
        json!({"axe": true}),
        json!({"click": "Connections"}),
        json!({"click": connection.name.as_str()}),
        json!({"axe": true}),
        json!({"click": "API keys"}),
        json!({"axe": true}),
        json!({"click": "Settings"}),
        json!({"upload": {"f-logo": logo}}),
        json!({"click": "Save branding"}),
        json!({"click": "Send a test event"}),
        json!({"axe": true}),
    ]);
    let report = run(
        json!({"stub": "https://app.acme.test", "start": console, "colorScheme": "dark", "steps": steps}),
        Some("console/4-dark"),
    )
    .await;
    accessible(&report);
    let shots = report["snapshots"].as_array().unwrap();
    assert!(text(&shots[20]).contains("Saved."), "{}", text(&shots[20]));
    let tested = text(&shots[22]);
    assert!(
        tested.contains("Test event delivered: your endpoint answered HTTP 204."),
        "{tested}"
    );
    assert!(
        tested.contains("webhook.test"),
        "listed under recent deliveries"
    );
    let (_, account) = h.get("/v1/account").await;
    assert_eq!(account["branding"]["logo"]["content_type"], "image/svg+xml");
    assert_eq!(
        receiver
            .recorded()
            .iter()
            .filter(|r| r.body.contains("webhook.test"))
            .count(),
        1
    );
}
