//! The SAM template: it lints clean (cfn-lint and `sam validate --lint`), declares exactly
//! the route table in code, runs `refresh` (and only it) on a schedule with reserved
//! concurrency, grants each function only what it uses, and every function's Lambda
//! artefact was built (`tests/run` builds them with cargo-lambda first).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use latchkey_web::ROUTES;
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn tool(name: &str) -> PathBuf {
    let bin = std::env::var("LATCHKEY_TEST_VENV_BIN")
        .expect("LATCHKEY_TEST_VENV_BIN is not set: run the suite with `tests/run`");
    Path::new(&bin).join(name)
}

fn run(command: &mut Command) -> (bool, String) {
    let out = command
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .expect("run the tool");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn template_path() -> PathBuf {
    root().join("infra/template.yaml")
}

/// The template as JSON, parsed by SAM's own YAML loader (it knows `!Ref` and friends).
fn template() -> Value {
    let script = "import json,sys\nfrom samtranslator.yaml_helper import yaml_parse\nprint(json.dumps(yaml_parse(open(sys.argv[1]).read())))";
    let (ok, out) = run(Command::new(tool("python"))
        .args(["-c", script])
        .arg(template_path()));
    assert!(ok, "{out}");
    serde_json::from_str(&out).unwrap()
}

/// The template's conditions, as one deployment sets them.
#[derive(Debug, Clone, Copy)]
struct Deployment {
    sealed: bool,
    sends_reminders: bool,
}

impl Deployment {
    fn all() -> impl Iterator<Item = Self> {
        [(true, false), (false, false), (true, true), (false, true)]
            .into_iter()
            .map(|(sealed, sends_reminders)| Self {
                sealed,
                sends_reminders,
            })
    }
}

/// Resolves `Fn::If` on the template's conditions and drops `AWS::NoValue`.
fn resolve(value: &Value, d: Deployment) -> Option<Value> {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::If") => {
            let branches = map["Fn::If"].as_array().unwrap();
            let holds = match branches[0].as_str().unwrap() {
                "Sealed" => d.sealed,
                "SendsReminders" => d.sends_reminders,
                // Neither changes what a function is granted: the default deployment.
                "HasPublicBaseUrl" | "NotifiesAlarms" => false,
                other => panic!("unknown condition {other}"),
            };
            resolve(&branches[if holds { 1 } else { 2 }], d)
        }
        Value::Object(map) if map.get("Ref") == Some(&json!("AWS::NoValue")) => None,
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter_map(|(k, v)| resolve(v, d).map(|v| (k.clone(), v)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(
            items.iter().filter_map(|v| resolve(v, d)).collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Function resources by their binary name.
fn functions(template: &Value) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| {
            (
                r["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                r.clone(),
            )
        })
        .collect()
}

#[test]
fn template_lints_clean_with_cfn_lint_and_sam_validate() {
    let (ok, out) = run(Command::new(tool("cfn-lint")).arg(template_path()));
    assert!(ok, "cfn-lint:\n{out}");
    let (ok, out) = run(Command::new(tool("sam"))
        .args(["validate", "--lint", "--template-file"])
        .arg(template_path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test"));
    assert!(ok, "sam validate --lint:\n{out}");
}

#[test]
fn http_routes_equal_the_route_table() {
    let template = template();
    let mut declared = BTreeSet::new();
    for (binary, function) in functions(&template) {
        for event in function["Properties"]["Events"]
            .as_object()
            .unwrap()
            .values()
        {
            // The scheduled function's EventBridge rule is no route (see the test below).
            if event["Type"] == "Schedule" {
                continue;
            }
            assert_eq!(event["Type"], "HttpApi", "{binary}: {event}");
            assert_eq!(event["Properties"]["ApiId"], json!({"Ref": "HttpApi"}));
            let method = event["Properties"]["Method"].as_str().unwrap().to_owned();
            let path = event["Properties"]["Path"].as_str().unwrap().to_owned();
            assert!(
                declared.insert((method, path, binary.clone())),
                "declared twice"
            );
        }
    }
    let in_code: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.function.name().to_owned(),
            )
        })
        .collect();
    assert_eq!(declared, in_code);
}

/// What each function's code calls: the handlers' store and vault operations.
fn needs(binary: &str, d: Deployment) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let table: &[&str] = match binary {
        "links" => &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
        "connections" | "refresh" | "popup" | "callback" => &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        ],
        // Uniqueness guards are written in transactions: ConditionCheckItem too.
        _ => &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
            "dynamodb:ConditionCheckItem",
        ],
    };
    let vault: &[&str] = match binary {
        "catalog" => &[
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:DeleteSecret",
        ],
        // The account's JWT and webhook secrets (written), and a deleted consumer's
        // connections' credentials (read to revoke, then deleted).
        "consumers" => &[
            "secretsmanager:GetSecretValue",
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:DeleteSecret",
        ],
        // Connections' credentials: stored, read (credentials, proxy, refresh), replaced
        // on refresh (a refresh that lost to a re-authorisation moves AWSCURRENT back)
        // and deleted on disconnect. The console acts through the catalog's, consumers',
        // links' and connections' handlers: what they use together.
        "connections" | "refresh" | "console" => &[
            "secretsmanager:GetSecretValue",
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:DeleteSecret",
            "secretsmanager:UpdateSecretVersionStage",
        ],
        "popup" | "callback" => &[
            "secretsmanager:GetSecretValue",
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:DeleteSecret",
        ],
        _ => &[],
    };
    let mut needs = BTreeMap::from([("Table", table.iter().copied().collect())]);
    // Reminder emails leave from the refresh run, only when a sender is configured.
    if binary == "refresh" && d.sends_reminders {
        needs.insert("Mail", BTreeSet::from(["ses:SendEmail"]));
    }
    if d.sealed {
        needs.insert("DataKey", BTreeSet::from(["secretsmanager:GetSecretValue"]));
    } else if !vault.is_empty() {
        needs.insert("Vault", vault.iter().copied().collect());
    }
    needs
}

#[test]
fn each_function_is_granted_exactly_what_it_uses() {
    let template = template();
    let functions = functions(&template);
    assert_eq!(functions.len(), 8);
    for d in Deployment::all() {
        for (binary, function) in &functions {
            let function = resolve(function, d).unwrap();
            let policies = function["Properties"]["Policies"].as_array().unwrap();
            assert_eq!(
                policies.len(),
                1,
                "{binary}: one inline policy, no managed ones"
            );
            let mut granted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for statement in policies[0]["Statement"].as_array().unwrap() {
                assert_eq!(statement["Effect"], "Allow");
                let sid = statement["Sid"].as_str().unwrap();
                let actions: BTreeSet<&str> = match &statement["Action"] {
                    Value::String(a) => BTreeSet::from([a.as_str()]),
                    Value::Array(items) => items.iter().map(|a| a.as_str().unwrap()).collect(),
                    other => panic!("{other}"),
                };
                assert!(
                    actions.iter().all(|a| !a.contains('*')),
                    "{binary}: wildcard action"
                );
                let resources = statement["Resource"].to_string();
                assert!(
                    !resources.contains("\"*\""),
                    "{binary}: a statement on every resource"
                );
                match sid {
                    "Table" => assert_eq!(
                        statement["Resource"],
                        json!([{"Fn::GetAtt": ["Table", "Arn"]}, {"Fn::Sub": "${Table.Arn}/index/*"}])
                    ),
                    "Vault" => assert!(
                        resources.contains(":secret:latchkey/${Stage}/*"),
                        "{binary}: {resources}"
                    ),
                    "DataKey" => assert_eq!(statement["Resource"], json!({"Ref": "DataKeySecret"})),
                    // Only the configured sender's identity (address or domain), only as
                    // that From address.
                    "Mail" => {
                        assert!(
                            resources.contains(":identity/${ReminderSender}"),
                            "{resources}"
                        );
                        assert_eq!(
                            statement["Condition"],
                            json!({"StringEquals": {"ses:FromAddress": {"Ref": "ReminderSender"}}})
                        );
                    }
                    other => panic!("{binary}: unexpected statement {other}"),
                }
                granted.insert(sid, actions);
            }
            assert_eq!(granted, needs(binary, d), "{binary} ({d:?})");
        }
    }
}

/// A parameter's or property's value as a whole number (YAML may give `2` or `"2"`).
fn whole_number(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

#[test]
fn refresh_runs_on_a_schedule_with_reserved_concurrency() {
    let template = template();
    let functions = functions(&template);
    assert!(functions.contains_key("refresh"), "no refresh function");
    for (binary, function) in &functions {
        let events = function["Properties"]["Events"].as_object().unwrap();
        if binary.as_str() != "refresh" {
            assert!(
                events.values().all(|e| e["Type"] != "Schedule"),
                "{binary}: only refresh runs on a schedule"
            );
            continue;
        }
        assert_eq!(events.len(), 1, "refresh: exactly one event, its schedule");
        let event = events.values().next().unwrap();
        assert_eq!(event["Type"], "Schedule", "refresh: no HTTP route");
        let schedule = event["Properties"]["Schedule"].as_str().unwrap();
        assert!(
            (schedule.starts_with("rate(") || schedule.starts_with("cron("))
                && schedule.ends_with(')'),
            "refresh: schedule {schedule}"
        );

        // Reserved concurrency, so that refresh runs never starve the HTTP functions
        // (and at least 1: 0 would disable the function).
        let reserved = &function["Properties"]["ReservedConcurrentExecutions"];
        match reserved.get("Ref").and_then(Value::as_str) {
            Some(name) => {
                let parameter = &template["Parameters"][name];
                assert_eq!(parameter["Type"], "Number", "refresh: parameter {name}");
                for bound in ["Default", "MinValue"] {
                    let value = whole_number(&parameter[bound]);
                    assert!(
                        value.is_some_and(|n| n >= 1),
                        "refresh: parameter {name} {bound}: {}",
                        parameter[bound]
                    );
                }
            }
            None => assert!(
                whole_number(reserved).is_some_and(|n| n >= 1),
                "refresh: ReservedConcurrentExecutions {reserved}"
            ),
        }

        // A run stops 20 s short of its deadline: it needs far more than the HTTP timeout.
        let timeout = whole_number(&function["Properties"]["Timeout"]);
        assert!(
            timeout.is_some_and(|t| (60..=900).contains(&t)),
            "refresh: Timeout {timeout:?}"
        );
    }
}

/// `sam deploy --guided` asks for every parameter with its description: the vault mode's
/// must say what each choice means and what it costs.
#[test]
fn guided_deploy_explains_both_vault_modes() {
    let template = template();
    let vault = &template["Parameters"]["VaultMode"];
    assert_eq!(vault["Default"], "sealed");
    let description = vault["Description"].as_str().unwrap();
    for (choice, says) in [
        ("sealed", "inside each DynamoDB item"),
        (
            "secretsmanager",
            "one Secrets Manager secret per connection",
        ),
    ] {
        assert!(
            vault["AllowedValues"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == choice),
            "{choice} is allowed"
        );
        assert!(
            description.contains(choice) && description.contains(says),
            "the prompt explains {choice}: {description}"
        );
    }
    assert!(
        description.contains("$0.40 per secret-month"),
        "the prompt gives the cost"
    );
}

#[test]
fn every_function_artefact_is_built() {
    let dir = std::env::var("LATCHKEY_TEST_LAMBDA_DIR")
        .expect("LATCHKEY_TEST_LAMBDA_DIR is not set: run the suite with `tests/run`");
    for binary in functions(&template()).keys() {
        let path = Path::new(&dir).join(binary).join("bootstrap");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&bytes[..4], b"\x7fELF", "{binary}: an ELF executable");
        assert_eq!(
            u16::from_le_bytes([bytes[18], bytes[19]]),
            0x3e,
            "{binary}: built for x86-64"
        );
    }
}

/// What `sam build` deploys is what the tests ran. SAM builds each function in its
/// CodeUri: at the workspace root Cargo would unify features across every member (the
/// CLI's SQLite store and the tests' harness would end up in every function), so each
/// CodeUri is the function's own package. `tests/run` has SAM build the catalog function
/// (`sam_build_catalog`); its artefact matches the tested one and links no SQLite.
#[test]
fn sam_build_deploys_the_tested_artefacts() {
    for (binary, function) in functions(&template()) {
        assert_eq!(
            function["Properties"]["CodeUri"],
            format!("../functions/{binary}"),
            "{binary}: built as its own package"
        );
        assert!(
            root()
                .join("functions")
                .join(&binary)
                .join("Cargo.toml")
                .exists(),
            "{binary}"
        );
    }
    let check = std::env::var("LATCHKEY_TEST_SAM_CHECK")
        .expect("LATCHKEY_TEST_SAM_CHECK is not set: run the suite with `tests/run`");
    let check = Path::new(&check);
    let tested = std::fs::read(check.join("tested-catalog")).unwrap();
    let built = std::fs::read(check.join("build/CatalogFunction/bootstrap")).unwrap();
    // The header SQLite writes into every database file: in every binary linking it.
    let sqlite = |bytes: &[u8]| {
        bytes
            .windows(15)
            .filter(|w| w == b"SQLite format 3")
            .count()
    };
    assert_eq!(sqlite(&built), 0, "SAM's catalog links SQLite");
    assert_eq!(sqlite(&tested), 0, "the tested catalog links SQLite");
    let difference = tested.len().abs_diff(built.len());
    assert!(
        difference < 16 * 1024,
        "SAM's catalog is {} bytes, the tested one {}",
        built.len(),
        tested.len()
    );
}

/// The alarms watch what the code emits: each Latchkey metric an alarm names is one the
/// refresh run or the callback writes (`metrics::METRICS`), the Lambda alarms cover every
/// function, and all notify the optional SNS topic.
#[test]
fn alarms_watch_metrics_the_code_emits_and_every_function() {
    let template = template();
    let alarms: Vec<&Value> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    let emitted: BTreeSet<&str> = latchkey_web::metrics::METRICS.iter().copied().collect();
    let mut watched = BTreeSet::new();
    let function_ids: BTreeSet<String> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, _)| id.clone())
        .collect();
    for alarm in &alarms {
        let p = &alarm["Properties"];
        assert_eq!(
            p["AlarmActions"],
            json!({"Fn::If": ["NotifiesAlarms", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]})
        );
        if p["Namespace"] == "Latchkey" {
            let metric = p["MetricName"].as_str().unwrap();
            assert!(emitted.contains(metric), "{metric} is never emitted");
            assert_eq!(
                p["Dimensions"],
                json!([{"Name": "Stage", "Value": {"Ref": "Stage"}}])
            );
            watched.insert(metric.to_owned());
        } else {
            let covered: BTreeSet<String> = p["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"].as_str())
                .map(str::to_owned)
                .collect();
            assert_eq!(covered, function_ids, "{p}");
            let metric = p["Metrics"][0]["MetricStat"]["Metric"]["MetricName"]
                .as_str()
                .unwrap();
            watched.insert(metric.to_owned());
        }
    }
    let expected = ["Errors", "RefreshFailed", "Throttles", "WebhooksFailed"];
    assert_eq!(watched, expected.iter().map(|m| m.to_string()).collect());
}

/// A first deploy needs no second pass: without `PublicBaseUrl`, links and the OAuth
/// redirect URI use the address the request arrived at (API Gateway's `domainName`, and
/// the stage unless it is `$default`). The events are API Gateway's HTTP API payload 2.0.
#[tokio::test]
async fn without_a_public_url_links_use_the_address_the_request_arrived_at() {
    use latchkey_tests::Harness;
    let h = Harness::without_public_url(latchkey_store::testing::sqlite_table().await).await;
    let (status, consumer) = h
        .send("POST", "/v1/consumers", json!({"name": "Globex"}))
        .await;
    assert_eq!(status, lambda_http::http::StatusCode::CREATED);
    let path = format!(
        "/v1/consumers/{}/connections",
        consumer["id"].as_str().unwrap()
    );
    for (stage, prefix) in [("$default", ""), ("live", "live/")] {
        let event = json!({
            "version": "2.0",
            "routeKey": "POST /v1/consumers/{id}/connections",
            "rawPath": format!("/{prefix}{}", &path[1..]),
            "rawQueryString": "",
            "headers": {
                "authorization": format!("Bearer {}", h.key),
                "content-type": "application/json",
                "host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "a1b2c3d4e5",
                "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "a1b2c3d4e5",
                "http": {
                    "method": "POST",
                    "path": format!("/{prefix}{}", &path[1..]),
                    "protocol": "HTTP/1.1",
                    "sourceIp": "198.51.100.7",
                    "userAgent": "curl/8.5.0"
                },
                "requestId": "JKJaXmPLvHcESHA=",
                "routeKey": "POST /v1/consumers/{id}/connections",
                "stage": stage,
                "time": "02/Dec/2026:19:03:58 +0000",
                "timeEpoch": 1796238238000u64
            },
            "pathParameters": {"id": consumer["id"]},
            "body": "{\"name\": \"Helpdesk\"}",
            "isBase64Encoded": false
        });
        let mut request = lambda_http::request::from_str(&event.to_string()).unwrap();
        // The route is matched on the path without the stage, as API Gateway does.
        *request.uri_mut() =
            format!("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com{path}")
                .parse()
                .unwrap();
        let response = h.raw(request).await;
        let link: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(response.status(), 201, "{link}");
        let expected =
            format!("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/{prefix}connect/lka_");
        assert!(
            link["url"].as_str().unwrap().starts_with(&expected),
            "{stage}: {link}"
        );
    }
}
