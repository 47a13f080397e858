//! The admin commands against DynamoDB + Secrets Manager (moto), as an operator runs them
//! after `sam deploy`: create the table, an account, another key, import integrations.

use std::process::{Command, Output};

/// `latchkey ARGS --data-dir DIR` with the AWS SDK pointed at moto.
fn command(args: &[&str], dir: &std::path::Path) -> Command {
    let endpoint = std::env::var("LATCHKEY_TEST_AWS_ENDPOINT")
        .expect("LATCHKEY_TEST_AWS_ENDPOINT is not set: run the suite with `tests/run`");
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("LATCHKEY_VAULT_MODE", "secretsmanager")
        .env(
            "LATCHKEY_SECRET_PREFIX",
            format!("latchkey/cli-{}", std::process::id()),
        )
        .env_remove("LATCHKEY_STORE");
    command
}

fn latchkey(args: &[&str], dir: &std::path::Path) -> Output {
    command(args, dir).output().expect("run latchkey")
}

fn table() -> String {
    format!(
        "dynamodb:lk-cli-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in {text}"))
}

#[test]
fn operator_commands_work_against_dynamodb() {
    let dir = tempfile::tempdir().unwrap();
    let store = table();
    let store = store.as_str();
    stdout(&latchkey(&["--store", store, "create-table"], dir.path()));

    // Without the deployment's vault settings the CLI would seal secrets with a local
    // key the deployed functions cannot open: it refuses, and says what to set.
    let unsealed = command(
        &["--store", store, "accounts", "create", "--name", "Acme"],
        dir.path(),
    )
    .env_remove("LATCHKEY_VAULT_MODE")
    .output()
    .unwrap();
    assert!(!unsealed.status.success());
    let said = String::from_utf8_lossy(&unsealed.stderr);
    assert!(
        said.contains("LATCHKEY_VAULT_MODE") && said.contains("--local-key"),
        "{said}"
    );
    assert!(
        !dir.path().join("sealing.key").exists(),
        "no local key made"
    );

    let created = stdout(&latchkey(
        &["--store", store, "accounts", "create", "--name", "Acme"],
        dir.path(),
    ));
    let account = field(&created, "account: ").to_owned();
    assert!(field(&created, "api key: ").starts_with("lk_"));
    let another = stdout(&latchkey(
        &[
            "--store",
            store,
            "api-keys",
            "create",
            "--account",
            &account,
        ],
        dir.path(),
    ));
    assert!(field(&another, "api key: ").starts_with("lk_"));
    let web = stdout(&latchkey(
        &[
            "--store",
            store,
            "api-keys",
            "create",
            "--account",
            &account,
            "--label",
            "web tier",
            "--scope",
            "connect",
        ],
        dir.path(),
    ));
    let web_id = field(&web, "key id: ").to_owned();
    let list = |dir: &std::path::Path| -> Vec<serde_json::Value> {
        let out = stdout(&latchkey(
            &["--store", store, "api-keys", "list", "--account", &account],
            dir,
        ));
        serde_json::from_str(&out).unwrap()
    };
    let listed = list(dir.path());
    assert_eq!(listed.len(), 3, "{listed:?}");
    let listed_web = listed.iter().find(|k| k["id"] == web_id.as_str()).unwrap();
    assert_eq!(listed_web["scopes"], serde_json::json!(["connect"]));
    assert!(
        !serde_json::to_string(&listed).unwrap().contains("lk_"),
        "no key listed"
    );
    let revoke = |id: &str, force: bool, dir: &std::path::Path| {
        let mut args = vec![
            "--store",
            store,
            "api-keys",
            "revoke",
            "--account",
            &account,
            id,
        ];
        if force {
            args.push("--force");
        }
        latchkey(&args, dir)
    };
    assert!(revoke(&web_id, false, dir.path()).status.success());
    let fulls: Vec<String> = list(dir.path())
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fulls.len(), 2);
    assert!(revoke(&fulls[0], false, dir.path()).status.success());
    let last = revoke(&fulls[1], false, dir.path());
    assert!(!last.status.success());
    assert!(String::from_utf8_lossy(&last.stderr).contains("last full-scope key"));

    let file = dir.path().join("custom.json");
    std::fs::write(
        &file,
        serde_json::json!([{
            "key": "inhouse", "name": "In-house API",
            "auth_options": [{"key": "apikey", "type": "api_key"}],
            "api": {"base_url": "https://api.inhouse.example", "token_param_name": "X-Api-Key", "value_template": "{token}"}
        }])
        .to_string(),
    )
    .unwrap();
    let imported = stdout(&latchkey(
        &[
            "--store",
            store,
            "integrations",
            "import",
            file.to_str().unwrap(),
            "--account",
            &account,
        ],
        dir.path(),
    ));
    assert!(imported.trim().ends_with(" inhouse"), "{imported}");
    // Importing the same key again is refused, naming the duplicate.
    let again = latchkey(
        &[
            "--store",
            store,
            "integrations",
            "import",
            file.to_str().unwrap(),
            "--account",
            &account,
        ],
        dir.path(),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("key is already in use"));
    // An unknown account is an error, not a silent no-op.
    let nobody = latchkey(
        &[
            "--store",
            store,
            "api-keys",
            "create",
            "--account",
            "acc_nobody",
        ],
        dir.path(),
    );
    assert!(!nobody.status.success());

    // `status`: nothing connected yet, in text and in JSON; an unknown account fails.
    let text = stdout(&latchkey(
        &["--store", store, "status", "--account", &account],
        dir.path(),
    ));
    assert_eq!(
        field(&text, "Connections: "),
        "0 (0 active, 0 needs_reauth, 0 error)"
    );
    assert_eq!(field(&text, "Next refresh due: "), "none");
    let json = stdout(&latchkey(
        &["--store", store, "status", "--account", &account, "--json"],
        dir.path(),
    ));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["connections"]["total"], 0);
    assert_eq!(json["webhook_backlog"], 0);
    let nobody = latchkey(
        &["--store", store, "status", "--account", "acc_nobody"],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no account acc_nobody"));
    let reindexed = stdout(&latchkey(
        &["--store", store, "reindex", "--account", &account],
        dir.path(),
    ));
    assert!(
        reindexed.starts_with("reindexed 0 connections"),
        "{reindexed}"
    );
}

/// The local gateway over the deployed kind of store, from a data folder that does not
/// exist yet (nothing but the first start creates it in this mode).
#[tokio::test]
async fn serve_runs_against_dynamodb_from_a_fresh_data_folder() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("not-yet");
    let store = table();
    stdout(&latchkey(&["--store", &store, "create-table"], &data));
    let mut child = command(
        &[
            "--store",
            &store,
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--refresh-every",
            "0",
        ],
        &data,
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut key = None;
    let mut base = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(k) = line.strip_prefix("API key (shown once): ") {
            key = Some(k.to_owned());
        }
        if let Some(url) = line.strip_prefix("Latchkey is serving on ") {
            base = Some(url.to_owned());
            break;
        }
    }
    let Some(base) = base else {
        let _ = child.kill();
        let mut said = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
        panic!("the gateway did not start: {said}");
    };
    let list = reqwest::Client::new()
        .get(format!("{base}/v1/integrations"))
        .bearer_auth(key.expect("a key on first start"))
        .send()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(list.status(), 200);
}

#[test]
fn nango_import_and_catalog_sync_run_against_dynamodb() {
    let dir = tempfile::tempdir().unwrap();
    let store = table();
    let store = store.as_str();
    stdout(&latchkey(&["--store", store, "create-table"], dir.path()));
    let created = stdout(&latchkey(
        &["--store", store, "accounts", "create", "--name", "Acme"],
        dir.path(),
    ));
    let account = field(&created, "account: ").to_owned();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/nango-providers.yaml"
    );
    let import = |extra: &[&str]| {
        let mut args = vec![
            "--store",
            store,
            "integrations",
            "import",
            fixture,
            "--format",
            "nango",
            "--account",
            &account,
        ];
        args.extend_from_slice(extra);
        latchkey(&args, dir.path())
    };
    let out = stdout(&import(&["--only", "keyed,rsa"]));
    assert!(out.contains("imported keyed as int_"), "{out}");
    assert!(out.contains("skipped rsa: signature (RSA-SHA1)"), "{out}");
    assert!(
        out.trim_end()
            .ends_with("1 imported, 1 skipped (signature: 1)"),
        "{out}"
    );
    // The whole file: what is already there is skipped as such, the rest imported.
    let out = stdout(&import(&[]));
    assert!(
        out.contains(
            "skipped keyed: key in use (the account already has an integration with this key)"
        ),
        "{out}"
    );
    let summary = out.lines().last().unwrap();
    assert!(summary.starts_with("6 imported, 18 skipped ("), "{summary}");
    assert!(
        summary.contains("auth mode: 1") && summary.contains("key in use: 1"),
        "{summary}"
    );

    // A new account has every built-in: nothing to add, nothing to update.
    let synced = stdout(&latchkey(
        &["--store", store, "catalog", "sync", "--all"],
        dir.path(),
    ));
    assert!(
        synced.starts_with(&format!("{account}: 0 added, 0 updated, ")),
        "{synced}"
    );
    let unknown = latchkey(
        &["--store", store, "catalog", "sync", "--account", "acc_nope"],
        dir.path(),
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account acc_nope"));
}
