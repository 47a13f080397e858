//! A fault-injecting HTTP proxy for the tests: put between Latchkey and an AWS wire API
//! (moto) or a provider, it forwards every request and records its name, except the calls
//! a test picked, which get a fault instead: an error answer (a 500, throttling) or a
//! stall. AWS calls are named by their `X-Amz-Target` (`DynamoDB_20120810.GetItem`,
//! `secretsmanager.GetSecretValue`), others by method and path.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::loopback::{Recorded, read};

#[derive(Debug, Clone)]
pub enum Fault {
    /// This answer instead of the upstream's.
    Answer(u16, &'static str),
    /// No answer for this long, then the connection closes.
    Stall(Duration),
}

impl Fault {
    /// What a DynamoDB or Secrets Manager outage looks like: retryable.
    pub const SERVER_ERROR: Fault = Fault::Answer(
        500,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected"}"#,
    );
    /// DynamoDB throttling: retryable, with backoff.
    pub const THROTTLED: Fault = Fault::Answer(
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"injected"}"#,
    );
}

#[derive(Default)]
struct State {
    /// Faults still to give, in order, by call name.
    planned: Vec<(String, VecDeque<Fault>)>,
    seen: Vec<String>,
    given: usize,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Serves until the test ends, forwarding to `upstream` (`http://127.0.0.1:…`).
    pub async fn to(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, upstream) = (state.clone(), upstream.trim_end_matches('/').to_owned());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (state, upstream, client) = (shared.clone(), upstream.clone(), client.clone());
                tokio::spawn(async move {
                    let Some(request) = read(&mut stream).await else {
                        return;
                    };
                    let fault = state.lock().unwrap().next(&request);
                    let (status, content_type, body) = match fault {
                        Some(Fault::Stall(d)) => {
                            tokio::time::sleep(d).await;
                            return;
                        }
                        Some(Fault::Answer(status, body)) => (
                            status,
                            "application/x-amz-json-1.0".to_owned(),
                            body.as_bytes().to_vec(),
                        ),
                        None => match forward(&client, &upstream, request).await {
                            Some(answer) => answer,
                            None => return,
                        },
                    };
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                });
            }
        });
        Self { url, state }
    }

    /// The next `times` calls named `call` get `fault` (after any planned before).
    pub fn inject(&self, call: &str, times: usize, fault: Fault) {
        let mut state = self.state.lock().unwrap();
        let planned = match state.planned.iter().position(|(c, _)| c == call) {
            Some(i) => &mut state.planned[i].1,
            None => {
                state.planned.push((call.to_owned(), VecDeque::new()));
                &mut state.planned.last_mut().unwrap().1
            }
        };
        planned.extend(std::iter::repeat_n(fault, times));
    }

    /// Forgets the faults not given yet.
    pub fn heal(&self) {
        self.state.lock().unwrap().planned.clear();
    }

    /// How many calls named `call` arrived (faulted or forwarded).
    pub fn count(&self, call: &str) -> usize {
        let state = self.state.lock().unwrap();
        state.seen.iter().filter(|c| *c == call).count()
    }

    /// How many faults were given.
    pub fn given(&self) -> usize {
        self.state.lock().unwrap().given
    }
}

impl State {
    fn next(&mut self, request: &Recorded) -> Option<Fault> {
        let name = match request.headers.get("x-amz-target") {
            Some(target) => target.clone(),
            None => format!(
                "{} {}",
                request.method,
                request.target.split('?').next().unwrap_or("")
            ),
        };
        let fault = self
            .planned
            .iter_mut()
            .find(|(c, _)| *c == name)
            .and_then(|(_, faults)| faults.pop_front());
        self.given += usize::from(fault.is_some());
        self.seen.push(name);
        fault
    }
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    request: Recorded,
) -> Option<(u16, String, Vec<u8>)> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).ok()?;
    let mut outgoing = client.request(method, format!("{upstream}{}", request.target));
    for (name, value) in &request.headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.body(request.body).send().await.ok()?;
    let status = answer.status().as_u16();
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    Some((status, content_type, answer.bytes().await.ok()?.to_vec()))
}
