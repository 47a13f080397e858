//! The Nango-format importer on a hand-written providers file: each mapping it makes and
//! each reason it skips an entry.

use std::collections::{BTreeMap, BTreeSet};

use latchkey::nango::map;
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("fixtures/nango-providers.yaml");

fn imported() -> BTreeMap<String, Value> {
    map(FIXTURE, None)
        .unwrap()
        .imported
        .into_iter()
        .map(|input| {
            // As the API would show it: through the same serde the catalog uses.
            let integration = input
                .into_integration("int_x".into(), "acc_x".into(), None, 0)
                .unwrap();
            (
                integration.key.clone(),
                serde_json::to_value(integration).unwrap(),
            )
        })
        .collect()
}

#[test]
fn oauth2_entries_keep_endpoints_scopes_parameters_and_captures() {
    let all = imported();
    let acme = &all["acmecrm"];
    assert_eq!(acme["name"], "Acme CRM");
    assert_eq!(
        acme["status"], "inactive",
        "waits for the account's OAuth app"
    );
    assert_eq!(acme["categories"], json!(["crm", "marketing"]));
    assert_eq!(acme["docs_url"], "https://docs.acmecrm.example/oauth");
    let option = &acme["auth_options"][0];
    assert_eq!(option["type"], "oauth2");
    assert_eq!(
        option["authorization_url"],
        "https://{subdomain}.acmecrm.example/oauth/authorize"
    );
    assert_eq!(
        option["token_url"],
        "https://{subdomain}.acmecrm.example/oauth/token"
    );
    assert_eq!(option["scopes"], json!(["contacts.read", "deals.write"]));
    assert_eq!(option["scope_separator"], ",");
    assert_eq!(option["client_auth"], "basic");
    assert_eq!(option["pkce"], false);
    assert_eq!(option["authorization_params"], json!({"prompt": "consent"}));
    assert_eq!(
        option["token_params"],
        json!({"audience": "api"}),
        "grant_type is ours"
    );
    assert_eq!(
        option["capture"],
        json!([{"parameter": "instance_id", "source": "token_response", "field": "instance_id", "pattern": null}])
    );
    let parameters = acme["parameters"].as_array().unwrap();
    assert_eq!(parameters[0]["name"], "subdomain");
    assert_eq!(parameters[0]["label"], "Subdomain");
    assert_eq!(parameters[0]["required"], true);
    assert_eq!(parameters[0]["pattern"], "^[a-z0-9-]{1,63}$");
    assert_eq!(
        parameters[0]["help"],
        "The part before .acmecrm.example in your address."
    );
    assert_eq!(parameters[1]["name"], "instance_id");
    assert_eq!(
        acme["api"]["base_url"],
        "https://{subdomain}.acmecrm.example/api"
    );
    assert_eq!(acme["api"]["token_param_name"], "authorization");
    assert_eq!(acme["api"]["value_template"], "Bearer {token}");
    assert_eq!(acme["api"]["verify_path"], "/me");
    // An alias is its target with its own fields on top.
    let sandbox = &all["acmecrmsandbox"];
    assert_eq!(sandbox["name"], "Acme CRM (sandbox)");
    assert_eq!(
        sandbox["api"]["base_url"],
        "https://{subdomain}.sandbox.acmecrm.example/api"
    );
    assert_eq!(sandbox["auth_options"][0]["token_url"], option["token_url"]);
}

#[test]
fn other_modes_map_to_their_latchkey_options() {
    let all = imported();
    let ledger = &all["ledger"];
    assert_eq!(ledger["status"], "active");
    assert_eq!(ledger["categories"], json!(["accounting"]));
    let cc = &ledger["auth_options"][0];
    assert_eq!(cc["type"], "oauth2_client_credentials");
    assert_eq!(cc["token_url"], "https://auth.ledger.example/token");
    assert_eq!(
        cc["client_auth"], "body",
        "Nango's default: the secret in the body"
    );
    assert_eq!(cc["scopes"], json!(["read"]));

    let keyed = &all["keyed"];
    assert_eq!(keyed["auth_options"][0]["type"], "api_key");
    assert_eq!(keyed["categories"], json!(["developer_tools"]));
    assert_eq!(keyed["api"]["token_placement"], "header");
    assert_eq!(keyed["api"]["token_param_name"], "x-api-key");
    assert_eq!(keyed["api"]["value_template"], "{token}");
    let queried = &all["queried"];
    assert_eq!(queried["api"]["token_placement"], "query");
    assert_eq!(queried["api"]["token_param_name"], "api_key");

    let helpdesk = &all["helpdesk"];
    assert_eq!(helpdesk["auth_options"][0]["type"], "basic");
    assert_eq!(helpdesk["categories"], json!(["ticketing"]));

    let boards = &all["boards"];
    assert_eq!(boards["status"], "inactive");
    let oauth1 = &boards["auth_options"][0];
    assert_eq!(oauth1["type"], "oauth1");
    assert_eq!(
        oauth1["request_token_url"],
        "https://boards.example/oauth/request_token"
    );
    assert_eq!(
        oauth1["access_token_url"],
        "https://boards.example/oauth/access_token"
    );
    assert_eq!(all.len(), 7, "{:?}", all.keys().collect::<Vec<_>>());
}

#[test]
fn what_latchkey_cannot_run_is_skipped_with_its_reason() {
    let skipped: BTreeMap<String, (String, String)> = map(FIXTURE, None)
        .unwrap()
        .skipped
        .into_iter()
        .map(|(name, why)| (name, (why.kind.to_owned(), why.detail)))
        .collect();
    let kind = |name: &str| skipped.get(name).map(|(k, _)| k.as_str());
    for (name, expected) in [
        ("two-step", "auth mode"),
        ("scripted", "script"),
        ("either", "alternatives (||)"),
        ("versioned", "extra header or query"),
        ("rsa", "signature"),
        ("no-base", "no base URL"),
        ("json-token", "token request format"),
        ("split-token-url", "token URL per auth mode"),
        ("cert", "client certificate"),
        ("anywhere", "invalid"),
        ("custom-auth", "token auth"),
        ("undeclared", "undeclared parameter"),
        ("credentials", "template"),
        ("refreshes-elsewhere", "separate refresh URL"),
        ("odd-callback", "non-standard callback"),
        ("orphan", "alias"),
        ("acme_crm", "key clash"),
    ] {
        assert_eq!(
            kind(name),
            Some(expected),
            "{name}: {:?}",
            skipped.get(name)
        );
    }
    assert_eq!(skipped.len(), 17, "{skipped:?}");
    let (_, why) = &skipped["anywhere"];
    assert!(why.contains("api.base_url"), "names the field: {why}");
}

#[test]
fn only_picks_entries_and_names_an_unknown_one() {
    let only: BTreeSet<String> = ["keyed".to_owned(), "rsa".to_owned()].into();
    let mapped = map(FIXTURE, Some(&only)).unwrap();
    assert_eq!(mapped.imported.len(), 1);
    assert_eq!(mapped.skipped.len(), 1);
    let unknown: BTreeSet<String> = ["nope".to_owned()].into();
    assert!(map(FIXTURE, Some(&unknown)).unwrap_err().contains("nope"));
    assert!(map("- not: a map", None).is_err());
}
