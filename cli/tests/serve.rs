//! `latchkey serve` as a user runs it: the real binary, a fresh data folder, real HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Gateway {
    child: Child,
    base: String,
    output: Vec<String>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the gateway on a free port and reads its start-up lines.
fn start(data_dir: &std::path::Path) -> Gateway {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args([
            "--data-dir",
            data_dir.to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .env_remove("LATCHKEY_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start latchkey serve");
    let mut output = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the gateway says where it serves")
            .unwrap();
        output.push(line.clone());
        if let Some(url) = line.strip_prefix("Latchkey is serving on ") {
            break url.to_owned();
        }
    };
    Gateway {
        child,
        base,
        output,
    }
}

fn api_key(output: &[String]) -> Option<String> {
    output
        .iter()
        .find_map(|l| l.strip_prefix("API key (shown once): "))
        .map(str::to_owned)
}

#[tokio::test]
async fn first_start_prints_a_working_key_and_later_starts_keep_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path());
    let key = api_key(&first.output).expect("a ready API key on first start");
    let http = reqwest::Client::new();

    let list = http
        .get(format!("{}/v1/integrations?status=active", first.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let body: serde_json::Value = list.json().await.unwrap();
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["key"] == "stripe")
    );

    let created = http
        .post(format!("{}/v1/consumers", first.base))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name": "Globex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let unauthorized = http
        .get(format!("{}/v1/consumers", first.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(
        unauthorized.headers()["content-type"],
        "application/problem+json"
    );
    let too_big = http
        .post(format!("{}/v1/consumers", first.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    drop(first);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("sealing.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let second = start(dir.path());
    assert_eq!(
        api_key(&second.output),
        None,
        "the key is shown only on first start"
    );
    let consumers: serde_json::Value = http
        .get(format!("{}/v1/consumers", second.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(consumers["data"][0]["name"], "Globex");
}
