//! A Lambda Runtime API on loopback, for running a function's real binary
//! outside Lambda: it hands the process one event at a time on
//! `GET /runtime/invocation/next` and takes its response, and notes when the
//! process first asked for an event (it is initialised: the cold start).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{oneshot, Notify};

type Reply = oneshot::Sender<Result<serde_json::Value, String>>;

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<(String, serde_json::Value, Reply)>>,
    waiting: Mutex<HashMap<String, Reply>>,
    arrived: Notify,
    first_poll: Mutex<Option<Instant>>,
    polled: Notify,
    next_id: Mutex<u64>,
}

pub struct RuntimeApi {
    /// `host:port`, what AWS_LAMBDA_RUNTIME_API holds.
    pub address: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi { address, shared, task })
    }

    /// When the process first asked for an event (None until it does, or
    /// when `within` passes).
    pub async fn first_poll(&self, within: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let waiting = self.shared.polled.notified();
            if let Some(at) = self.shared.first_poll.lock().ok().and_then(|p| *p) {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, waiting).await.is_err() {
                return None;
            }
        }
    }

    /// Hands `event` to the function and waits for its response.
    pub async fn invoke(&self, event: serde_json::Value) -> Result<serde_json::Value, String> {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut n = self.shared.next_id.lock().map_err(|_| "poisoned")?;
            *n += 1;
            format!("req-{n:08}")
        };
        self.shared.queue.lock().map_err(|_| "poisoned")?.push_back((id, event, tx));
        self.shared.arrived.notify_one();
        match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the invocation was dropped".into()),
            Err(_) => Err("the function did not answer in 120 s".into()),
        }
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    if let Ok(mut first) = s.first_poll.lock() {
        if first.is_none() {
            *first = Some(Instant::now());
            s.polled.notify_waiters();
        }
    }
    loop {
        let arrived = s.arrived.notified();
        let job = s.queue.lock().ok().and_then(|mut q| q.pop_front());
        if let Some((id, event, reply)) = job {
            if let Ok(mut w) = s.waiting.lock() {
                w.insert(id.clone(), reply);
            }
            let mut headers = HeaderMap::new();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 900_000)
                .unwrap_or_default();
            for (k, v) in [
                ("lambda-runtime-aws-request-id", id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:bench".into()),
                ("lambda-runtime-trace-id", format!("Root=1-00000000-{id}")),
            ] {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    headers.insert(k, v);
                }
            }
            return (StatusCode::OK, headers, event.to_string()).into_response();
        }
        arrived.await;
    }
}

fn answer(s: &Shared, id: &str, result: Result<serde_json::Value, String>) -> StatusCode {
    match s.waiting.lock().ok().and_then(|mut w| w.remove(id)) {
        Some(reply) => {
            let _ = reply.send(result);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
    answer(&s, &id, Ok(value))
}

async fn fail(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&s, &id, Err(String::from_utf8_lossy(&body).into()))
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!("the function failed to start: {}", String::from_utf8_lossy(&body));
    StatusCode::ACCEPTED
}
