//! Chromium for the page tests: a harness served by the real local gateway, and a run of
//! `browser/steps.mjs` (playwright-core over Debian's Chromium) that reports what each
//! step showed.

use std::process::Command;
use std::sync::Arc;

use latchkey::gateway;
use latchkey_store::testing;
use serde_json::Value;

use crate::Harness;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the suite with `tests/run`"))
}

/// A harness whose pages a browser can open: the local gateway on a loopback port.
/// Returns it with its base URL (`http://127.0.0.1:PORT/`).
pub async fn served() -> (Harness, String) {
    let (listener, addr) = gateway::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let base = format!("http://{addr}/");
    let h = Harness::with_public_url(testing::sqlite_table().await, &base).await;
    tokio::spawn(gateway::serve(listener, Arc::clone(&h.app)));
    (h, base)
}

/// Runs a plan (see `browser/steps.mjs`) and returns its report; a step that could not be
/// taken fails the test, with what the page showed. Screenshots go to
/// `target/screenshots/{name}-…png` when `name` is given, with the whole report beside
/// them (`{name}-report.json`).
pub async fn run(mut plan: Value, name: Option<&str>) -> Value {
    let mut prefix = None;
    if let Some(name) = name {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/screenshots");
        let path = format!("{dir}/{name}");
        // `name` may name a folder too (`console/walk`).
        std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
        plan["screenshots"] = Value::from(path.as_str());
        prefix = Some(path);
    }
    let steps = plan["steps"].clone();
    let report = run_script("steps.mjs", plan).await;
    if let Some(prefix) = prefix {
        std::fs::write(format!("{prefix}-report.json"), format!("{report:#}")).unwrap();
    }
    let shots = report["snapshots"].as_array().expect("snapshots");
    // Shown with a failing test's output: a line a step, short enough that the failure's
    // own message still ends the output.
    for (i, shot) in shots.iter().enumerate() {
        eprintln!("  [{i}] {} · {}", shot["url"], shot["heading"]);
    }
    if let Some((i, failed)) = shots
        .iter()
        .enumerate()
        .find(|(_, s)| s.get("error").is_some())
    {
        // On one line each, without terminal colours, so that the end of CI's output holds
        // them whole.
        let short = |v: &Value| {
            let mut plain = String::new();
            let mut colour = false;
            for c in v.as_str().unwrap_or("").chars() {
                match c {
                    '\u{1b}' => colour = true,
                    'm' if colour => colour = false,
                    _ if colour => {}
                    c if c.is_whitespace() => {
                        if !plain.ends_with(' ') {
                            plain.push(' ');
                        }
                    }
                    c => plain.push(c),
                }
            }
            plain.trim().chars().take(400).collect::<String>()
        };
        panic!(
            "step {} ({}) could not be taken: {}\n  on {} ({}), which showed: {}",
            i - 1,
            steps[i - 1],
            short(&failed["error"]),
            failed["url"],
            failed["heading"],
            short(&failed["text"])
        );
    }
    report
}

/// Runs `tests/browser/{script}` with `plan` and returns the JSON it prints.
pub async fn run_script(script: &str, plan: Value) -> Value {
    let chromium = env("LATCHKEY_TEST_CHROMIUM");
    let script = format!("{}/browser/{script}", env!("CARGO_MANIFEST_DIR"));
    let plan = plan.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args([script.as_str(), &plan])
            .env("CHROMIUM", chromium)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "browser run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// The link whose text is `text` on a snapshot, if any.
pub fn link<'a>(snapshot: &'a Value, text: &str) -> Option<&'a str> {
    snapshot["links"]
        .as_array()?
        .iter()
        .find(|l| l["text"] == text)
        .and_then(|l| l["href"].as_str())
}
