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
    start_with(data_dir, &[])
}

/// [`start`] with more arguments to `serve`.
fn start_with(data_dir: &std::path::Path, extra: &[&str]) -> Gateway {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args([
            "--data-dir",
            data_dir.to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .args(extra)
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
        .get(format!("{}/v1/integrations?key=stripe", first.base))
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

/// Runs every `curl` example of the README as written, in order, against a fresh
/// `latchkey serve`: placeholders (`int_…`, `csm_…`, `con_…`, `key_…`) are filled from the
/// previous answers, and any answer that is not 2xx fails unless the README shows it on
/// the next line (`# → 409 …`). Calls through the proxy reach a provider that does not
/// exist here and may answer 502.
#[test]
fn the_readme_examples_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(dir.path());
    let key = api_key(&gateway.output).expect("a key on first start");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let (script, commands) = readme::script(&readme);
    assert!(commands >= 20, "only {commands} examples found");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{}\n{script}\necho \"ran=$ran\"", readme::PRELUDE))
        .env("LK", gateway.base.trim_end_matches('/'))
        .env("KEY", &key)
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n--- script ---\n{script}");
    assert!(
        stdout.trim_end().ends_with(&format!("ran={commands}")),
        "{stdout}\n{stderr}"
    );
}

mod readme {
    /// A `curl` that checks each answer's status and remembers the ids it names.
    pub const PRELUDE: &str = r#"
set -u
ID_int="" ID_csm="" ID_con="" ID_key="" ran=0
curl() {
  local out status body want
  out=$(command curl -sS -w '\n%{http_code}' "$@") || { echo "README: curl failed: $*" >&2; exit 1; }
  status=${out##*$'\n'}
  body=${out%$'\n'*}
  ran=$((ran + 1))
  want=${EXPECT:-2}
  if [[ $status != $want* ]] && ! [[ $status == 502 && "$*" == */proxy/* ]]; then
    printf 'README example answered HTTP %s (the README shows %s…): curl %s\n%s\n' "$status" "$want" "$*" "$body" >&2
    exit 1
  fi
  # A created resource, or an answer naming exactly one, fills the next placeholders.
  local ids
  ids=$(grep -o '"id": *"[a-z]*_[a-z0-9]*"' <<<"$body" | grep -o '[a-z]*_[a-z0-9]*' || true)
  if [[ $status == 201 || $(grep -c . <<<"$ids") == 1 ]]; then
    local id
    for id in $ids; do
      case $id in int_*|csm_*|con_*|key_*) printf -v "ID_${id%%_*}" '%s' "$id" ;; esac
    done
  fi
  printf '%s\n' "$body"
}
"#;

    /// The README's shell examples that call the API, rewritten to run: returns the
    /// script and how many `curl` commands it holds.
    pub fn script(readme: &str) -> (String, usize) {
        let mut script = String::new();
        let mut commands = 0;
        let mut rest = readme;
        while let Some(start) = rest.find("```sh\n") {
            let body = &rest[start + 6..];
            let end = body.find("```").expect("a closed block");
            let block = &body[..end];
            rest = &body[end + 3..];
            if block.contains("$LK") {
                let (text, n) = runnable(block);
                script.push_str(&text);
                commands += n;
            }
        }
        (script, commands)
    }

    /// One block: `export LK=…` lines dropped (the test sets them), each `curl` given the
    /// status the README shows after it, placeholders turned into the remembered ids.
    fn runnable(block: &str) -> (String, usize) {
        let chars: Vec<char> = block.chars().collect();
        let (mut out, mut i, mut commands) = (String::new(), 0, 0);
        while i < chars.len() {
            let line_end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| i + p + 1);
            let line: String = chars[i..line_end].iter().collect();
            if line.starts_with("export LK=") {
                i = line_end;
            } else if line.starts_with("curl ") {
                let end = command_end(&chars, i);
                let command = fill(&chars[i..end]);
                let next: String = chars[end..].iter().take_while(|&&c| c != '\n').collect();
                let expect = next
                    .trim_start()
                    .strip_prefix("# → ")
                    .and_then(|t| t.get(..3))
                    .filter(|s| s.chars().all(|c| c.is_ascii_digit()))
                    .unwrap_or("2");
                out.push_str(&format!("EXPECT={expect} {command}\n"));
                commands += 1;
                i = end;
            } else {
                out.push_str(&line);
                i = line_end;
            }
        }
        (out, commands)
    }

    /// Where the command starting at `start` ends: a newline outside quotes that no
    /// backslash continues (a trailing comment is dropped).
    fn command_end(chars: &[char], start: usize) -> usize {
        let (mut single, mut double, mut i) = (false, false, start);
        while i < chars.len() {
            match chars[i] {
                '\\' if !single => i += 1,
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '\n' if !single && !double => return i + 1,
                _ => {}
            }
            i += 1;
        }
        chars.len()
    }

    /// The command with its placeholders as variables, quoted for where they stand, and
    /// without a trailing comment.
    fn fill(command: &[char]) -> String {
        let (mut out, mut single, mut double, mut i) = (String::new(), false, false, 0);
        while i < command.len() {
            let c = command[i];
            let rest: String = command[i..command.len().min(i + 5)].iter().collect();
            let placeholder = ["int_…", "csm_…", "con_…", "key_…"]
                .iter()
                .find(|p| rest.starts_with(**p));
            if let Some(p) = placeholder {
                let var = format!("ID_{}", &p[..3]);
                if single {
                    out.push_str(&format!("'\"${var}\"'"));
                } else {
                    out.push_str(&format!("${{{var}}}"));
                }
                i += 5;
                continue;
            }
            match c {
                '\\' if !single && i + 1 < command.len() => {
                    out.push(c);
                    out.push(command[i + 1]);
                    i += 2;
                    continue;
                }
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '#' if !single && !double && out.ends_with(' ') => {
                    out.push('\n');
                    break;
                }
                _ => {}
            }
            out.push(c);
            i += 1;
        }
        out
    }
}

/// Private and loopback addresses are out of reach unless `--allow-private-egress` says
/// otherwise, and that flag is refused where it would expose them.
#[tokio::test]
async fn private_egress_is_off_unless_asked_for_and_only_on_loopback() {
    // A webhook receiver on this machine: what the egress policy decides.
    let hooks = serde_json::json!({"webhook_url": "http://127.0.0.1:9/hooks"});
    let http = reqwest::Client::new();
    for (extra, expected) in [(&[][..], 422), (&["--allow-private-egress"][..], 200)] {
        let dir = tempfile::tempdir().unwrap();
        let gateway = start_with(dir.path(), extra);
        let key = api_key(&gateway.output).unwrap();
        let patched = http
            .patch(format!("{}/v1/account", gateway.base))
            .bearer_auth(&key)
            .json(&hooks)
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), expected, "{extra:?}");
        if expected == 422 {
            let problem: serde_json::Value = patched.json().await.unwrap();
            assert_eq!(problem["field"], "webhook_url", "{problem}");
        }
    }
    let refused = |args: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("LATCHKEY_STORE")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = refused(&["serve", "--addr", "0.0.0.0:0", "--allow-private-egress"]);
    assert!(said.contains("loopback --addr"), "{said}");
    let said = refused(&[
        "--store",
        "dynamodb:latchkey-prod",
        "refresh",
        "--once",
        "--allow-private-egress",
    ]);
    assert!(said.contains("dynamodb: store"), "{said}");
}

/// L2: a socket that never finishes its request is closed by the gateway (it used to be
/// held forever), and others are served meanwhile.
#[tokio::test]
async fn a_socket_that_never_finishes_its_request_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(dir.path());
    let addr = gateway
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let served = reqwest::get(format!("{}/v1/openapi.json", gateway.base))
        .await
        .unwrap();
    assert_eq!(served.status(), 200, "others are served meanwhile");
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        slow.read_to_end(&mut answer),
    )
    .await;
    assert!(
        closed.is_ok(),
        "the half-sent request still holds its socket"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

/// `latchkey vault rotate-key` then `retire-keys` on a local data folder: every sealed
/// secret is sealed again under the new key (nothing is left under the old one), the key
/// file keeps the old key only until it is retired, and the credentials read the same
/// before, between and after.
#[tokio::test]
async fn the_data_key_rotates_and_retires_without_losing_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let gateway = start(dir.path());
    let key = api_key(&gateway.output).unwrap();
    let call = |gateway: &Gateway, method: reqwest::Method, path: &str, body: serde_json::Value| {
        http.request(method, format!("{}{path}", gateway.base))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let found: serde_json::Value = call(
        &gateway,
        reqwest::Method::GET,
        "/v1/integrations?key=stripe",
        serde_json::json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let stripe = found["data"][0]["id"].as_str().unwrap().to_owned();
    // Built-ins start inactive: enable it (an API-key one needs nothing more).
    let enabled = call(
        &gateway,
        reqwest::Method::PATCH,
        &format!("/v1/integrations/{stripe}"),
        serde_json::json!({"status": "active"}),
    )
    .await
    .unwrap();
    assert_eq!(enabled.status(), 200);
    let consumer: serde_json::Value = call(
        &gateway,
        reqwest::Method::POST,
        "/v1/consumers",
        serde_json::json!({"name": "Globex"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let installed: serde_json::Value = call(
        &gateway,
        reqwest::Method::POST,
        &format!(
            "/v1/consumers/{}/connections/install",
            consumer["id"].as_str().unwrap()
        ),
        serde_json::json!({"integration_id": stripe, "auth_value": "sk_test_rotate"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let credentials = format!(
        "/v1/connections/{}/credentials",
        installed["id"].as_str().unwrap()
    );
    let read = |gateway: Gateway| {
        let path = credentials.clone();
        let call = &call;
        async move {
            let answer: serde_json::Value =
                call(&gateway, reqwest::Method::GET, &path, serde_json::json!({}))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
            answer["api_key"].as_str().map(str::to_owned)
        }
    };
    let secret = call(
        &gateway,
        reqwest::Method::POST,
        "/v1/account/webhook-secret",
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert_eq!(secret.status(), 201);
    assert_eq!(read(gateway).await.as_deref(), Some("sk_test_rotate"));

    let vault = |command: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["--data-dir", dir.path().to_str().unwrap(), "vault", command])
            .env_remove("LATCHKEY_STORE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let key_file = || std::fs::read_to_string(dir.path().join("sealing.key")).unwrap();
    let stored = || {
        let mut bytes = std::fs::read(dir.path().join("latchkey.db")).unwrap();
        bytes.extend(std::fs::read(dir.path().join("latchkey.db-wal")).unwrap_or_default());
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let before = key_file();

    let rotated = vault("rotate-key");
    let (current, retired) = rotated
        .strip_prefix("data key ")
        .and_then(|r| r.split_once(" is current (retired: "))
        .map(|(c, r)| (c.to_owned(), r.split(')').next().unwrap().to_owned()))
        .unwrap_or_else(|| panic!("{rotated}"));
    assert!(rotated.contains("secrets sealed again"), "{rotated}");
    assert_eq!(key_file().lines().count(), 2);
    assert_eq!(
        key_file().lines().nth(1),
        before.lines().next(),
        "the old key still opens"
    );
    let table = stored();
    assert!(
        !table.contains(&format!("v2.{retired}.")),
        "nothing left under the old key"
    );
    assert!(table.contains(&format!("v2.{current}.")));
    assert_eq!(
        read(start(dir.path())).await.as_deref(),
        Some("sk_test_rotate")
    );

    let retired_out = vault("retire-keys");
    assert!(
        retired_out.contains("1 retired keys dropped"),
        "{retired_out}"
    );
    assert_eq!(
        key_file().lines().collect::<Vec<_>>(),
        vec![key_file().lines().next().unwrap()]
    );
    assert_ne!(key_file().trim(), before.trim());
    assert_eq!(
        read(start(dir.path())).await.as_deref(),
        Some("sk_test_rotate")
    );
}
