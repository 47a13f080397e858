//! The management API (catalog, consumers, account, activation links) through the same
//! dispatch the gateway and the Lambda functions use, on SQLite and on DynamoDB (moto).
//! Each case runs twice: `sqlite::<case>` and `dynamodb::<case>`.

use latchkey_core::catalog::{builtins, fingerprint, sync_builtins};
use latchkey_domain::IntegrationId;
use latchkey_store::{Integrations, Links};
use std::collections::BTreeSet;
use std::sync::Arc;

use lambda_http::http::StatusCode;
use latchkey_domain::token::token_hash;
use latchkey_domain::{ClientSecret, IntegrationStatus};
use latchkey_domain::{Credentials, SecretScope};
use latchkey_store::Table;
use latchkey_store::testing;
use latchkey_tests::{Harness, PUBLIC_URL};
use serde_json::{Value, json};

fn zendesk_like(key: &str) -> Value {
    json!({
        "key": key,
        "name": "Helpdesk",
        "logo": {"content_type": "image/png", "data_base64": "iVBORw0KGgo="},
        "parameters": [{"name": "subdomain", "label": "Subdomain", "required": true, "pattern": "[a-z0-9-]{1,63}"}],
        "auth_options": [{
            "key": "oauth", "type": "oauth2",
            "authorization_url": "https://{subdomain}.helpdesk.example/oauth/authorize",
            "token_url": "https://{subdomain}.helpdesk.example/oauth/token",
            "token_method": "GET", "client_auth": "body",
            "revoke_url": "https://{subdomain}.helpdesk.example/oauth/revoke",
            "scopes": ["read"],
            "token_params": {"audience": "{subdomain}"},
            "client": {"client_id": "app-123", "client_secret": "s3cret-value"}
        }],
        "api": {
            "base_url": "https://{subdomain}.helpdesk.example/api/v2",
            "token_placement": "query", "token_param_name": "access_token",
            "value_template": "{token}", "request_params": {"locale": "en"}
        }
    })
}

async fn all_pages(h: &Harness, path: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (status, page) = h.get(&url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

async fn catalog_lists_builtins_by_status(h: Harness) {
    let all = all_pages(&h, "/v1/integrations", 4).await;
    let keys: BTreeSet<_> = all
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), all.len(), "every integration exactly once");
    for key in [
        "github",
        "google",
        "salesforce",
        "shopify",
        "zendesk",
        "stripe",
        "quickbooks",
    ] {
        assert!(
            keys.contains(key),
            "{key} missing from the built-in catalog"
        );
    }
    // Every built-in has a logo, its categories and where its docs are.
    assert!(all.len() >= 150, "{} built-ins", all.len());
    for i in &all {
        assert!(i["logo_url"].is_string(), "{}", i["key"]);
        assert!(i["categories"].as_array().is_some_and(|c| !c.is_empty()));
        assert!(
            i["docs_url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://"))
        );
    }
    let stripe = all.iter().find(|i| i["key"] == "stripe").unwrap();
    let (status, logo) = h.get(stripe["logo_url"].as_str().unwrap()).await;
    assert_eq!(
        (status, &logo["content_type"]),
        (StatusCode::OK, &json!("image/svg+xml"))
    );
    // Nothing is offered until the account enables it: an API-key one needs nothing
    // more, an OAuth one its app.
    let inactive = all_pages(&h, "/v1/integrations?status=inactive", 50).await;
    assert_eq!(inactive.len(), all.len());
    let (status, _) = h
        .send(
            "PATCH",
            &format!("/v1/integrations/{}", stripe["id"].as_str().unwrap()),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let active = all_pages(&h, "/v1/integrations?status=active", 50).await;
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["key"], "stripe");
    assert!(
        all.iter()
            .all(|i| i["created_at"].as_str().is_some_and(|t| t.ends_with('Z')))
    );
    let (status, problem) = h.get("/v1/integrations?status=paused").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status"))
    );
    let (status, problem) = h.get("/v1/integrations?limit=0").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    let (status, problem) = h.get("/v1/integrations?cursor=garbage").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("cursor"))
    );
}

async fn custom_integration_lifecycle(h: Harness) {
    let (status, created) = h
        .send("POST", "/v1/integrations", zendesk_like("helpdesk"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("int_"));
    let text = created.to_string();
    assert!(
        !text.contains("s3cret-value"),
        "the client secret is never returned: {text}"
    );
    assert_eq!(
        created["auth_options"][0]["client"]["client_secret"],
        "********"
    );
    assert_eq!(created["auth_options"][0]["client"]["client_id"], "app-123");
    assert_eq!(created["logo_url"], format!("/v1/integrations/{id}/logo"));
    assert_eq!(created["api"]["request_params"]["locale"], "en");

    let (status, fetched) = h.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!fetched.to_string().contains("s3cret-value"));
    let (status, logo) = h.get(&format!("/v1/integrations/{id}/logo")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        logo,
        json!({"content_type": "image/png", "data_base64": "iVBORw0KGgo="})
    );

    // The secret is in the vault, bound to this integration's auth option.
    let stored = h
        .app
        .store
        .integration(&h.account_id, &IntegrationId::from(id.as_str()))
        .await
        .unwrap()
        .unwrap()
        .value;
    let secret_of = |i: &latchkey_domain::Integration| match &i.auth_options[0]
        .method
        .client()
        .unwrap()
        .client_secret
    {
        Some(ClientSecret::Stored(r)) => r.clone(),
        other => panic!("not sealed: {other:?}"),
    };
    let scope = SecretScope::new(&h.account_id, format!("{id}.oauth"));
    let opened = h.app.vault.get(&scope, &secret_of(&stored)).await.unwrap();
    assert!(
        matches!(opened, Credentials::ClientSecret { client_secret } if client_secret.expose() == "s3cret-value")
    );

    // PUT replaces; a client given without its secret keeps the stored one.
    let mut replacement = zendesk_like("helpdesk");
    replacement["name"] = json!("Helpdesk v2");
    replacement["auth_options"][0]["client"] = json!({"client_id": "app-123"});
    let (status, replaced) = h
        .send("PUT", &format!("/v1/integrations/{id}"), replacement)
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["name"], "Helpdesk v2");
    let stored = h
        .app
        .store
        .integration(&h.account_id, &IntegrationId::from(id.as_str()))
        .await
        .unwrap()
        .unwrap()
        .value;
    assert!(h.app.vault.get(&scope, &secret_of(&stored)).await.is_ok());

    // The key cannot change under PUT.
    let (status, problem) = h
        .send(
            "PUT",
            &format!("/v1/integrations/{id}"),
            zendesk_like("renamed"),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("key"))
    );

    let (status, patched) = h
        .send(
            "PATCH",
            &format!("/v1/integrations/{id}"),
            json!({"status": "inactive"}),
        )
        .await;
    assert_eq!(
        (status, patched["status"].as_str()),
        (StatusCode::OK, Some("inactive"))
    );
    let (status, _) = h.delete(&format!("/v1/integrations/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h.get(&format!("/v1/integrations/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Its key is free again.
    let (status, _) = h
        .send("POST", "/v1/integrations", zendesk_like("helpdesk"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

/// `method path` with `If-Match: tag` (when given): status, `ETag`, body.
async fn conditional(
    h: &Harness,
    method: &str,
    path: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", h.key))
        .header("content-type", "application/json");
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    let body = body.map_or(lambda_http::Body::Empty, |b| b.to_string().into());
    let response = h.raw(request.body(body).unwrap()).await;
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes: &[u8] = response.body().as_ref();
    let value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    (response.status(), etag, value)
}

/// A read of an integration or a consumer answers the version as its `ETag`; a write with
/// `If-Match` happens only over that version (412 and nothing written otherwise), so two
/// editors cannot overwrite each other unseen.
async fn if_match_writes_only_over_the_version_read(h: Harness) {
    let (_, created) = h
        .send("POST", "/v1/integrations", zendesk_like("helpdesk"))
        .await;
    let path = format!("/v1/integrations/{}", created["id"].as_str().unwrap());
    let (status, read, _) = conditional(&h, "GET", &path, None, None).await;
    assert_eq!(status, StatusCode::OK);
    let read = read.expect("a read answers its ETag");

    // The first editor saves over what it read and gets the new version's tag.
    let rename = json!({"name": "Helpdesk (EU)"});
    let (status, saved, body) = conditional(&h, "PATCH", &path, Some(&read), Some(rename)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let saved = saved.expect("a write answers the new ETag");
    assert_ne!(saved, read);

    // The second editor, still on the first version: refused, nothing written.
    let mut replacement = zendesk_like("helpdesk");
    replacement["name"] = json!("Helpdesk v2");
    let (status, _, problem) =
        conditional(&h, "PUT", &path, Some(&read), Some(replacement.clone())).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    assert_eq!(problem["code"], "precondition_failed");
    assert_eq!(problem["field"], "If-Match");
    let (_, now, shown) = conditional(&h, "GET", &path, None, None).await;
    assert_eq!(shown["name"], "Helpdesk (EU)", "the first save stands");
    assert_eq!(now.as_deref(), Some(saved.as_str()));

    // The precondition comes before the body: a stale write is a 412 even when its body
    // is also wrong.
    let (status, _, _) = conditional(&h, "PUT", &path, Some(&read), Some(json!({"key": 7}))).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);

    // A weak tag never matches (strong comparison); a list with the current one and `*` do.
    let weak = format!("W/{saved}");
    let (status, _, _) =
        conditional(&h, "PUT", &path, Some(&weak), Some(replacement.clone())).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let listed = format!("\"999\", {saved}");
    let (status, _, body) = conditional(&h, "PUT", &path, Some(&listed), Some(replacement)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Helpdesk v2");
    let inactive = json!({"status": "inactive"});
    let (status, _, _) = conditional(&h, "PATCH", &path, Some("*"), Some(inactive)).await;
    assert_eq!(status, StatusCode::OK);

    // A consumer's details likewise.
    let (_, created, consumer) = conditional(
        &h,
        "POST",
        "/v1/consumers",
        None,
        Some(json!({"name": "Globex"})),
    )
    .await;
    let path = format!("/v1/consumers/{}", consumer["id"].as_str().unwrap());
    let (_, read, _) = conditional(&h, "GET", &path, None, None).await;
    let read = read.expect("a consumer's ETag");
    assert_eq!(created, Some(read.clone()), "a creation answers it too");
    let renamed = json!({"name": "Globex Corp"});
    let (status, saved, _) = conditional(&h, "PATCH", &path, Some(&read), Some(renamed)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(saved.as_deref(), Some(read.as_str()));
    let late = json!({"name": "Globex Inc"});
    let (status, _, _) = conditional(&h, "PATCH", &path, Some(&read), Some(late)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, shown) = h.get(&path).await;
    assert_eq!(shown["name"], "Globex Corp");
}

async fn integration_validation_names_the_field_and_changes_nothing(h: Harness) {
    let before = all_pages(&h, "/v1/integrations", 100).await.len();
    let mut undeclared = zendesk_like("helpdesk");
    undeclared["auth_options"][0]["token_url"] =
        json!("https://{tenant}.helpdesk.example/oauth/token");
    let mut no_app = zendesk_like("helpdesk");
    no_app["auth_options"][0]["client"] = Value::Null;
    let mut stored_ref = zendesk_like("helpdesk");
    stored_ref["auth_options"][0]["client"]["client_secret"] =
        json!({"mode": "sealed", "blob": "v1.x"});
    let mut bad_key = zendesk_like("help-desk");
    bad_key["key"] = json!("help-desk");
    let mut unknown = zendesk_like("helpdesk");
    unknown["colour"] = json!("blue");
    let mut wrong_type = zendesk_like("helpdesk");
    wrong_type["parameters"][0]["required"] = json!("yes");
    let cases = [
        (
            undeclared,
            StatusCode::UNPROCESSABLE_ENTITY,
            "auth_options[0].token_url",
        ),
        (
            no_app,
            StatusCode::UNPROCESSABLE_ENTITY,
            "auth_options[0].client",
        ),
        (
            stored_ref,
            StatusCode::UNPROCESSABLE_ENTITY,
            "auth_options[0].client.client_secret",
        ),
        (bad_key, StatusCode::UNPROCESSABLE_ENTITY, "key"),
        (unknown, StatusCode::BAD_REQUEST, "colour"),
        (
            wrong_type,
            StatusCode::BAD_REQUEST,
            "parameters[0].required",
        ),
    ];
    for (body, status, field) in cases {
        let (got, problem) = h.send("POST", "/v1/integrations", body).await;
        assert_eq!(got, status, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:latchkey:problem:")
        );
    }
    let (status, problem) = h
        .call(
            "POST",
            "/v1/integrations",
            Some(&h.key),
            Some(json!("not an object")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    // A duplicate key is a conflict naming `key`.
    let (status, _) = h
        .send("POST", "/v1/integrations", zendesk_like("helpdesk"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = h
        .send("POST", "/v1/integrations", zendesk_like("helpdesk"))
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::CONFLICT, Some("key"))
    );
    assert_eq!(
        all_pages(&h, "/v1/integrations", 100).await.len(),
        before + 1
    );
}

async fn enabling_a_builtin_takes_the_accounts_oauth_app(h: Harness) {
    let all = all_pages(&h, "/v1/integrations", 100).await;
    let github = all.iter().find(|i| i["key"] == "github").unwrap();
    let path = format!("/v1/integrations/{}", github["id"].as_str().unwrap());
    let (status, problem) = h.send("PATCH", &path, json!({"status": "active"})).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("auth_options[0].client")
        )
    );
    let (status, enabled) = h
        .send("PATCH", &path, json!({"status": "active", "client": {"client_id": "Iv1.abc", "client_secret": "gh-secret"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["status"], "active");
    assert_eq!(enabled["builtin"], "github");
    assert!(!enabled.to_string().contains("gh-secret"));
    let stored = h
        .app
        .store
        .integration(
            &h.account_id,
            &IntegrationId::from(github["id"].as_str().unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value.status, IntegrationStatus::Active);
}

/// An account made by an older release meets this release's catalog: `catalog sync` adds
/// what it lacks and updates only what the account never edited, keeping its OAuth apps.
async fn catalog_sync_adds_builtins_and_updates_only_untouched_ones(h: Harness) {
    let store = &h.app.store;
    let account = &h.account_id;
    let by_key = |key: &'static str| async move {
        store
            .integration_by_key(account, key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{key}"))
    };
    // Not in the older release.
    store
        .delete_integration(&by_key("trello").await.value)
        .await
        .unwrap();
    // Enabled with the account's app; the older release had another token URL.
    let github = by_key("github").await;
    let path = format!("/v1/integrations/{}", github.value.id);
    let (status, _) = h
        .send("PATCH", &path, json!({"status": "active", "client": {"client_id": "Iv1.abc", "client_secret": "gh-secret"}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut older = by_key("github").await;
    let catalog_token_url = older.value.auth_options[0].method.urls()[1].1.to_owned();
    if let latchkey_domain::AuthMethod::Oauth2(m) = &mut older.value.auth_options[0].method {
        m.token_url = "https://github.com/login/oauth/older_token".into();
    }
    older.value.builtin_revision = Some(fingerprint(&older.value));
    store.update_integration(&older).await.unwrap();
    // Edited by the account (as a PUT does: the revision stays, the definition changes).
    let mut edited = by_key("hubspot").await;
    if let latchkey_domain::AuthMethod::Oauth2(m) = &mut edited.value.auth_options[0].method {
        m.scopes = vec!["crm.objects.deals.read".into()];
    }
    store.update_integration(&edited).await.unwrap();
    // Seeded before revisions were kept, and as the catalog still has it.
    let mut unrevised = by_key("slack").await;
    unrevised.value.builtin_revision = None;
    store.update_integration(&unrevised).await.unwrap();
    // The account's own integration took a built-in's key.
    store
        .delete_integration(&by_key("asana").await.value)
        .await
        .unwrap();
    let mut custom = zendesk_like("asana");
    custom["status"] = json!("inactive");
    let (status, body) = h.send("POST", "/v1/integrations", custom).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let synced = sync_builtins(store, &h.app.vault, &h.account_id)
        .await
        .unwrap();
    assert_eq!(synced.added, vec!["trello".to_owned()]);
    assert_eq!(synced.updated, vec!["github".to_owned()]);
    assert_eq!(synced.edited, vec!["hubspot".to_owned()]);
    assert_eq!(synced.key_taken, vec!["asana".to_owned()]);
    assert_eq!(synced.current, builtins().len() - 4);

    let github = by_key("github").await.value;
    assert_eq!(github.auth_options[0].method.urls()[1].1, catalog_token_url);
    assert_eq!(github.status, IntegrationStatus::Active);
    let client = github.auth_options[0].method.client().unwrap();
    assert_eq!(client.client_id, "Iv1.abc");
    let Some(ClientSecret::Stored(secret)) = &client.client_secret else {
        panic!("the app's secret is kept");
    };
    let scope = SecretScope::new(&h.account_id, format!("{}.oauth", github.id));
    assert!(matches!(
        h.app.vault.get(&scope, secret).await.unwrap(),
        Credentials::ClientSecret { client_secret } if client_secret.expose() == "gh-secret"
    ));
    let hubspot = by_key("hubspot").await.value;
    assert!(format!("{:?}", hubspot.auth_options[0].method).contains("crm.objects.deals.read"));
    assert_eq!(by_key("asana").await.value.name, "Helpdesk");
    assert!(by_key("slack").await.value.builtin_revision.is_some());
    assert_eq!(
        by_key("trello").await.value.builtin.as_deref(),
        Some("trello")
    );

    let again = sync_builtins(store, &h.app.vault, &h.account_id)
        .await
        .unwrap();
    assert!(
        again.added.is_empty() && again.updated.is_empty(),
        "{again:?}"
    );
}

async fn consumers_lifecycle_and_validation(h: Harness) {
    let (status, created) = h
        .send("POST", "/v1/consumers", json!({"name": "Globex", "internal_reference": "crm-1", "email": "it@globex.test", "redirect_url": "https://app.acme.test/done"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(created.get("account_id").is_none());
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": "X", "email": "not-an-email"}), "email"),
        (
            json!({"name": "X", "redirect_url": "javascript:alert(1)"}),
            "redirect_url",
        ),
        (
            json!({"name": "X", "redirect_url": "http://app.acme.test/"}),
            "redirect_url",
        ),
    ] {
        let (status, problem) = h.send("POST", "/v1/consumers", body).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{problem}"
        );
    }
    let (status, problem) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Dup", "internal_reference": "crm-1"}),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::CONFLICT, Some("internal_reference"))
    );

    for i in 0..6 {
        h.send("POST", "/v1/consumers", json!({"name": format!("C{i}")}))
            .await;
    }
    let listed = all_pages(&h, "/v1/consumers", 4).await;
    assert_eq!(listed.len(), 7);
    let (_, by_ref) = h.get("/v1/consumers?internal_reference=crm-1").await;
    assert_eq!(by_ref["data"][0]["id"], id.as_str());

    let path = format!("/v1/consumers/{id}");
    let (status, patched) = h
        .send(
            "PATCH",
            &path,
            json!({"name": "Globex Corp", "email": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["name"].as_str(), &patched["email"]),
        (Some("Globex Corp"), &Value::Null)
    );
    let (status, problem) = h.send("PATCH", &path, json!({"name": ""})).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );
    assert_eq!(
        h.get(&path).await.1["name"],
        "Globex Corp",
        "a refused patch changes nothing"
    );
    let (status, _) = h.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&path).await.0, StatusCode::NOT_FOUND);
    let (status, _) = h
        .send(
            "POST",
            "/v1/consumers",
            json!({"name": "Reuse", "internal_reference": "crm-1"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a deleted consumer frees its reference"
    );
}

async fn account_settings(h: Harness) {
    let (status, account) = h.get("/v1/account").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["id"], h.account_id.as_str());
    assert_eq!(account["append_result_params"], true);
    // Branding: each wrong value named, nothing changed; a right one shown back.
    let big = "A".repeat(48 * 1024);
    for (branding, field) in [
        (json!({"primary_color": "purple"}), "branding.primary_color"),
        (json!({"primary_color": "#12345"}), "branding.primary_color"),
        (
            json!({"support_url": "http://help.acme.test"}),
            "branding.support_url",
        ),
        (json!({"display_name": " "}), "branding.display_name"),
        (
            json!({"logo": {"content_type": "image/svg+xml", "data_base64": big}}),
            "branding.logo.data_base64",
        ),
        (
            json!({"logo": {"content_type": "text/html", "data_base64": "PGI+"}}),
            "branding.logo.content_type",
        ),
    ] {
        let (status, problem) = h
            .send("PATCH", "/v1/account", json!({"branding": branding}))
            .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{branding}: {problem}"
        );
    }
    let (status, problem) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"branding": {"colour": "#fff"}}),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("branding.colour")),
        "{problem}"
    );
    assert_eq!(
        h.get("/v1/account").await.1["branding"],
        json!({}),
        "nothing changed"
    );
    let branding = json!({"display_name": "Acme Cloud", "primary_color": "#6E40C9",
                          "support_url": "https://help.acme.test/connect"});
    let (status, patched) = h
        .send("PATCH", "/v1/account", json!({"branding": branding}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["branding"]["display_name"], "Acme Cloud");
    assert_eq!(patched["name"], "Acme", "the account's own name stays");
    let (status, problem) = h
        .send(
            "PATCH",
            "/v1/account",
            json!({"allowed_redirect_origins": ["https://app.acme.test/path"]}),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("allowed_redirect_origins[0]")
        )
    );
    let (status, patched) = h
        .send("PATCH", "/v1/account", json!({"allowed_redirect_origins": ["https://App.Acme.test"], "redirect_url": "https://app.acme.test/integrations", "append_result_params": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["allowed_redirect_origins"],
        json!(["https://app.acme.test"])
    );
    assert_eq!(
        h.get("/v1/account").await.1["redirect_url"],
        "https://app.acme.test/integrations"
    );
}

async fn activation_links(h: Harness) {
    let (_, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Globex"}))
        .await;
    let consumer_id = consumer["id"].as_str().unwrap();
    let path = format!("/v1/consumers/{consumer_id}/connections");
    let (status, link) = h.send("POST", &path, json!({"name": "Payments"})).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let url = link["url"].as_str().unwrap();
    let token = url
        .strip_prefix(&format!("{PUBLIC_URL}connect/"))
        .expect("a link under the public URL");
    assert_eq!(
        link["expires_at"], "2027-01-15T08:30:00Z",
        "30 minutes after creation"
    );
    // Stored under its hash only, scoped to this account and consumer.
    let activation = h
        .app
        .store
        .activation(&token_hash(token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            activation.account_id.as_str(),
            activation.consumer_id.as_str()
        ),
        (h.account_id.as_str(), consumer_id)
    );
    assert!(activation.integration_id.is_none() && !activation.redirect);

    let stripe = all_pages(&h, "/v1/integrations?status=inactive", 100)
        .await
        .into_iter()
        .find(|i| i["key"] == "stripe")
        .unwrap();
    let (status, _) = h
        .send(
            "PATCH",
            &format!("/v1/integrations/{}", stripe["id"].as_str().unwrap()),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = h
        .send(
            "POST",
            &path,
            json!({"name": "Stripe", "integration_id": stripe["id"], "redirect": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let github = all_pages(&h, "/v1/integrations?status=inactive", 100)
        .await
        .into_iter()
        .find(|i| i["key"] == "github")
        .unwrap();
    for (body, field) in [
        (json!({}), "name"),
        (
            json!({"name": "X", "integration_id": "int_nope"}),
            "integration_id",
        ),
        (
            json!({"name": "X", "integration_id": github["id"]}),
            "integration_id",
        ),
        (
            json!({"name": "X", "connection_id": "con_nope"}),
            "connection_id",
        ),
    ] {
        let (status, problem) = h.send("POST", &path, body).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{problem}"
        );
    }
    let (status, _) = h
        .send(
            "POST",
            "/v1/consumers/csm_nope/connections",
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, listed) = h.get(&path).await;
    assert_eq!(
        (status, listed["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
}

async fn every_route_needs_a_valid_key_and_hides_other_accounts(h: Harness) {
    let (_, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Globex"}))
        .await;
    let (_, integration) = h
        .send("POST", "/v1/integrations", zendesk_like("helpdesk"))
        .await;
    let (c, i) = (
        consumer["id"].as_str().unwrap(),
        integration["id"].as_str().unwrap(),
    );
    let requests: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/v1/integrations".into(), None),
        (
            "POST",
            "/v1/integrations".into(),
            Some(zendesk_like("other")),
        ),
        ("GET", format!("/v1/integrations/{i}"), None),
        (
            "PUT",
            format!("/v1/integrations/{i}"),
            Some(zendesk_like("helpdesk")),
        ),
        (
            "PATCH",
            format!("/v1/integrations/{i}"),
            Some(json!({"status": "inactive"})),
        ),
        ("DELETE", format!("/v1/integrations/{i}"), None),
        ("GET", format!("/v1/integrations/{i}/logo"), None),
        ("POST", "/v1/consumers".into(), Some(json!({"name": "X"}))),
        ("GET", "/v1/consumers".into(), None),
        ("GET", format!("/v1/consumers/{c}"), None),
        (
            "PATCH",
            format!("/v1/consumers/{c}"),
            Some(json!({"name": "Y"})),
        ),
        ("DELETE", format!("/v1/consumers/{c}"), None),
        ("GET", "/v1/account".into(), None),
        ("PATCH", "/v1/account".into(), Some(json!({"name": "Z"}))),
        (
            "POST",
            format!("/v1/consumers/{c}/connections"),
            Some(json!({"name": "X"})),
        ),
        ("GET", format!("/v1/consumers/{c}/connections"), None),
    ];
    for (method, path, body) in &requests {
        for key in [None, Some("lk_wrong"), Some("")] {
            let (status, problem) = h.call(method, path, key, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {key:?}"
            );
            assert_eq!(problem["code"], "unauthorized");
        }
        // Another account's key sees none of this account's resources.
        if path.contains(c) || path.contains(i) {
            let (status, _) = h.call(method, path, Some(&h.other_key), body.clone()).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {path} across accounts"
            );
        }
    }
    // Nothing was changed by any of those attempts.
    assert_eq!(
        h.get(&format!("/v1/consumers/{c}")).await.1["name"],
        "Globex"
    );
    assert_eq!(
        h.get(&format!("/v1/integrations/{i}")).await.1["status"],
        "active"
    );
    let (_, others) = h
        .call("GET", "/v1/consumers", Some(&h.other_key), None)
        .await;
    assert_eq!(others["data"], json!([]));
}

async fn unknown_routes_and_methods(h: Harness) {
    let (status, problem) = h.get("/v1/nothing-here").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, problem) = h.call("DELETE", "/v1/account", Some(&h.key), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
}

async fn sqlite_table() -> Arc<dyn Table> {
    testing::sqlite_table().await
}

async fn dynamo_table() -> Arc<dyn Table> {
    testing::dynamo_table().await
}

macro_rules! api_suite {
    ($backend:ident, $make:path, [$($case:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Harness::new($make().await).await).await
                }
            )*
        }
    };
}

api_suite!(
    sqlite,
    super::sqlite_table,
    [
        catalog_lists_builtins_by_status,
        custom_integration_lifecycle,
        if_match_writes_only_over_the_version_read,
        integration_validation_names_the_field_and_changes_nothing,
        enabling_a_builtin_takes_the_accounts_oauth_app,
        catalog_sync_adds_builtins_and_updates_only_untouched_ones,
        consumers_lifecycle_and_validation,
        account_settings,
        activation_links,
        every_route_needs_a_valid_key_and_hides_other_accounts,
        unknown_routes_and_methods,
    ]
);

api_suite!(
    dynamodb,
    super::dynamo_table,
    [
        catalog_lists_builtins_by_status,
        custom_integration_lifecycle,
        if_match_writes_only_over_the_version_read,
        integration_validation_names_the_field_and_changes_nothing,
        enabling_a_builtin_takes_the_accounts_oauth_app,
        catalog_sync_adds_builtins_and_updates_only_untouched_ones,
        consumers_lifecycle_and_validation,
        account_settings,
        activation_links,
        every_route_needs_a_valid_key_and_hides_other_accounts,
    ]
);
