//! The reminder tests' mail peers: a loopback SMTP sink (`smtp-sink.py`, aiosmtpd) that
//! keeps every message it receives, and the messages moto's SES accepted; both read back
//! decoded, as a mail client would show them.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use latchkey_mail::Mailer;
use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/smtp-sink.py");

fn python() -> String {
    let bin = std::env::var("LATCHKEY_TEST_VENV_BIN")
        .expect("LATCHKEY_TEST_VENV_BIN is not set: run the suite with `tests/run`");
    format!("{bin}/python")
}

/// An SMTP server on a loopback port, stopped when dropped.
pub struct SmtpSink {
    child: Child,
    folder: tempfile::TempDir,
    pub relay: String,
}

impl SmtpSink {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let folder = tempfile::tempdir().unwrap();
        let mut child = Command::new(python())
            .arg(SCRIPT)
            .arg("serve")
            .arg(port.to_string())
            .arg(folder.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut ready = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP sink did not start");
        Self {
            child,
            folder,
            relay: format!("127.0.0.1:{port}"),
        }
    }

    /// A mailer that sends to this sink from `from`.
    pub fn mailer(&self, from: &str) -> Mailer {
        Mailer::smtp(&self.relay, from).unwrap()
    }

    /// Every message received so far, oldest first, to `to` only.
    pub fn messages_to(&self, to: &str) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(self.folder.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).unwrap()).unwrap())
            .filter(|m| m["headers"]["To"] == to)
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw RFC 5322 message, decoded as the sink decodes what it receives.
pub fn parse(raw: &str) -> Value {
    let mut child = Command::new(python())
        .arg(SCRIPT)
        .arg("parse")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(raw.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The messages moto's SES accepted for `to`, decoded.
pub async fn ses_messages_to(to: &str) -> Vec<Value> {
    let endpoint = std::env::var("LATCHKEY_TEST_AWS_ENDPOINT")
        .expect("LATCHKEY_TEST_AWS_ENDPOINT is not set: run the suite with `tests/run`");
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| parse(m["raw_data"].as_str().unwrap()))
        .filter(|m| m["headers"]["To"] == to)
        .collect()
}
