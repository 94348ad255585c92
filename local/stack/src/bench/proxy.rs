//! A counting proxy: forwards every request to one upstream (moto, the
//! MTurk-compatible service) and counts them by service and operation, as
//! the function under test made them. It also counts writes to a job's
//! state record (`#JOB`) and refused conditional writes, both billed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// "dynamodb.GetItem" -> calls
    pub calls: BTreeMap<String, u64>,
    /// UpdateItem and transaction parts on a job's state record (`#JOB`).
    pub job_writes: u64,
    /// ... and on its tallies (`#DONE#n`).
    pub tally_writes: u64,
    /// Conditional writes the store refused (still billed).
    pub refused_writes: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// What was counted since `before`.
    pub fn since(&self, before: &Counts) -> Counts {
        let mut calls = self.calls.clone();
        for (op, n) in &before.calls {
            if let Some(c) = calls.get_mut(op) {
                *c -= n;
            }
        }
        calls.retain(|_, n| *n > 0);
        Counts {
            calls,
            job_writes: self.job_writes - before.job_writes,
            tally_writes: self.tally_writes - before.tally_writes,
            refused_writes: self.refused_writes - before.refused_writes,
        }
    }

    /// These counts and `other`'s together.
    pub fn merged(mut self, other: &Counts) -> Counts {
        self.add(other);
        self
    }

    pub fn add(&mut self, other: &Counts) {
        for (op, n) in &other.calls {
            *self.calls.entry(op.clone()).or_default() += n;
        }
        self.job_writes += other.job_writes;
        self.tally_writes += other.tally_writes;
        self.refused_writes += other.refused_writes;
    }

    /// Whether anything was written (a DynamoDB write, a marketplace change).
    pub fn wrote(&self) -> bool {
        self.calls.keys().any(|op| {
            let name = op.rsplit('.').next().unwrap_or(op);
            ["Put", "Update", "Delete", "Transact", "Batch", "Send", "Approve", "Create", "Reject"]
                .iter()
                .any(|w| name.starts_with(w))
        })
    }
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    counts: Mutex<Counts>,
}

pub struct CountingProxy {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> std::io::Result<CountingProxy> {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            counts: Mutex::new(Counts::default()),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CountingProxy { url, shared, task })
    }

    pub fn counts(&self) -> Counts {
        self.shared.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// `dynamodb.GetItem`, `mturk.GetAssignment`, `sqs.SendMessageBatch`: from
/// the JSON protocols' X-Amz-Target; otherwise the method and path.
fn operation(method: &Method, uri: &Uri, headers: &HeaderMap) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|t| t.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("?", target));
        let service = match service {
            s if s.starts_with("DynamoDB") => "dynamodb",
            s if s.starts_with("MTurkRequester") => "mturk",
            "AmazonSQS" => "sqs",
            "SageMaker" => "sagemaker",
            other => other,
        };
        return format!("{service}.{op}");
    }
    format!("{method} {}", uri.path())
}

/// Updates of records whose sort key `matches`, in an UpdateItem or a transaction.
fn writes_to(op: &str, body: &[u8], matches: impl Fn(&str) -> bool) -> u64 {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return 0 };
    let hit = |key: &serde_json::Value| key["sk"]["S"].as_str().is_some_and(&matches);
    match op {
        "dynamodb.UpdateItem" => u64::from(hit(&v["Key"])),
        "dynamodb.TransactWriteItems" => v["TransactItems"]
            .as_array()
            .map(|parts| parts.iter().filter(|p| hit(&p["Update"]["Key"])).count() as u64)
            .unwrap_or(0),
        _ => 0,
    }
}

async fn forward(State(s): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let op = operation(&method, &uri, &headers);
    let job_writes = writes_to(&op, &body, |sk| sk == "#JOB");
    let tally_writes = writes_to(&op, &body, |sk| sk.starts_with("#DONE#"));
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = s.http.request(method, format!("{}{path}", s.upstream)).body(body);
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            request = request.header(k, v);
        }
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = response.status();
    let mut out_headers = HeaderMap::new();
    for (k, v) in response.headers() {
        if k != "transfer-encoding" && k != "content-length" && k != "connection" {
            out_headers.insert(k.clone(), v.clone());
        }
    }
    let bytes = response.bytes().await.unwrap_or_default();
    let refused = !status.is_success()
        && bytes.windows(22).any(|w| w == b"ConditionalCheckFailed" || w == b"TransactionCanceledExc");
    if let Ok(mut c) = s.counts.lock() {
        *c.calls.entry(op).or_default() += 1;
        c.job_writes += job_writes;
        c.tally_writes += tally_writes;
        c.refused_writes += u64::from(refused);
    }
    (status, out_headers, bytes).into_response()
}
