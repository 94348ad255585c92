//! The HTTP face of the service: the MTurk wire protocol on `POST /`, and a
//! small control API under `/_hitloop/` (not part of MTurk) for tests and
//! tools: the clock, state, faults, notifications and the worker side.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::answer::{question_form_answers, AnswerValue};
use crate::api;
use crate::auth::SignedRequest;
use crate::error::{ApiError, ErrorType};
use crate::server::Shared;

const JSON_1_1: &str = "application/x-amz-json-1.1";

/// What a deployment serves: the MTurk API (every request signed) and a
/// health check. No control endpoint and no worker site: those trust
/// whoever calls them (the annotators' site signs people in; issue 14).
pub fn api_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", post(mturk))
        .route("/_hitloop/health", get(|| async { Json(json!({ "ok": true })) }))
        .with_state(shared)
}

/// What a deployment with a worker site serves: the API, health, and the
/// worker site with real sign-in (`auth`). No control endpoints: they would
/// let anyone act for any worker.
pub fn site_router(shared: Arc<Shared>, auth: Arc<dyn crate::worker::auth::WorkerAuth>) -> Router {
    api_router(shared.clone()).merge(crate::worker::router(shared, auth))
}

/// What the local service serves: the API, the control endpoints (clock,
/// state, faults, the simulated workers' actions) and the worker site with
/// the local sign-in (anyone may be any worker).
pub fn router(shared: Arc<Shared>) -> Router {
    let control = Router::new()
        .route("/_hitloop/state", get(state))
        .route("/_hitloop/clock", get(clock))
        .route("/_hitloop/clock/advance", post(advance))
        .route("/_hitloop/faults", get(get_faults).put(put_faults))
        .route("/_hitloop/notifications/flush", post(flush))
        .route("/_hitloop/account/deposit", post(deposit))
        .route("/_hitloop/workers/accept", post(accept))
        .route("/_hitloop/workers/submit", post(submit))
        .route("/_hitloop/workers/return", post(return_assignment))
        .with_state(shared.clone());
    api_router(shared.clone())
        .merge(control)
        .merge(crate::worker::router(shared, Arc::new(crate::worker::auth::LocalSignIn)))
}

/// An API response. Its Date header is the marketplace's clock (as a real
/// service's is its own), which a client needs when the clock is simulated.
fn aws_response(status: u16, body: &Value, now_ms: i64) -> Response {
    let mut resp =
        (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body.to_string()).into_response();
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(JSON_1_1));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(date) = chrono::DateTime::from_timestamp_millis(now_ms) {
        if let Ok(v) = HeaderValue::from_str(&date.format("%a, %d %b %Y %H:%M:%S GMT").to_string()) {
            headers.insert("date", v);
        }
    }
    resp
}

fn error_response(e: &ApiError, now_ms: i64) -> Response {
    aws_response(e.kind.http_status(), &e.body(now_ms), now_ms)
}

async fn mturk(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = shared.clock.now_ms();
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = SignedRequest { method: method.as_str(), path_and_query, headers: &headers, body: &body };
    // Clients sign with their wall clock, or (the Rust SDK) with the clock
    // our Date headers tell them: the marketplace's, simulated locally.
    let marketplace = std::time::UNIX_EPOCH + std::time::Duration::from_millis(now.max(0) as u64);
    if let Err(e) = shared.auth.check(&request, &[std::time::SystemTime::now(), marketplace]).await {
        tracing::info!(error = %e, "request refused: signature");
        return error_response(&e.to_api_error(), now);
    }
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let operation = match api::operation_name(target) {
        Ok(op) => op,
        Err(e) => return error_response(&e, now),
    };
    let (fault, latency, late) = {
        let mut faults = shared.faults.lock().unwrap_or_else(|p| p.into_inner());
        (faults.check(operation), faults.config.latency_ms, faults.late_reply())
    };
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    if let Some(e) = fault {
        return error_response(&e, now);
    }
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                let err = ApiError {
                    kind: ErrorType::Serialization,
                    message: format!("The request body is not valid JSON: {e}"),
                    turk_code: None,
                };
                return error_response(&err, now);
            }
        }
    };
    let (result, now) = {
        let world = shared.turn().await;
        let r = api::call(world.engine, operation, &input).await;
        (r, world.engine.now_ms())
    };
    if shared.reply_after_delivery {
        shared.delivered().await;
    }
    if let Some(wait) = late {
        tokio::time::sleep(wait).await;
    }
    match result {
        Ok(output) => aws_response(200, &output, now),
        Err(e) => {
            tracing::debug!(operation, error = %e, "request refused");
            error_response(&e, now)
        }
    }
}

fn control_error(e: &ApiError, now: i64) -> Response {
    (StatusCode::BAD_REQUEST, Json(e.body(now))).into_response()
}

async fn state(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut summary = {
        let w = shared.turn().await;
        let mut s = w.engine.summary().await.unwrap_or_else(|e| json!({ "Error": e.to_string() }));
        if let Some(wf) = w.workforce() {
            s["Workforce"] = json!({ "Workers": wf.worker_ids(), "Stats": wf.stats });
        }
        s
    };
    summary["Notifications"] = shared.notify_stats.snapshot();
    summary["Speed"] = json!(shared.clock.speed());
    Json(summary)
}

async fn clock(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let now = shared.turn().await.engine.now_ms();
    Json(json!({ "Now": now, "Speed": shared.clock.speed() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AdvanceBody {
    seconds: f64,
}

async fn advance(State(shared): State<Arc<Shared>>, Json(body): Json<AdvanceBody>) -> Json<Value> {
    shared.clock.advance_ms((body.seconds * 1000.0) as i64);
    shared.pass_logged().await;
    let now = shared.engine.now_ms();
    Json(json!({ "Now": now }))
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let requests = shared.faults.lock().unwrap_or_else(|p| p.into_inner()).config.clone();
    let notifications = shared.notification_faults.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Json(json!({ "Requests": requests, "Notifications": notifications }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct FaultsBody {
    requests: Option<crate::faults::RequestFaults>,
    notifications: Option<crate::notify::NotificationFaults>,
}

async fn put_faults(State(shared): State<Arc<Shared>>, Json(body): Json<FaultsBody>) -> Json<Value> {
    if let Some(r) = body.requests {
        shared.faults.lock().unwrap_or_else(|p| p.into_inner()).config = r;
    }
    if let Some(n) = body.notifications {
        *shared.notification_faults.lock().unwrap_or_else(|p| p.into_inner()) = n.clone();
        let _ = shared.notify_control.send(crate::notify::Control::SetFaults(n));
    }
    get_faults(State(shared)).await
}

async fn flush(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.delivered().await;
    Json(shared.notify_stats.snapshot())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct DepositBody {
    amount: hitloop_core::money::Usd,
}

async fn deposit(State(shared): State<Arc<Shared>>, Json(body): Json<DepositBody>) -> Response {
    let now = shared.clock.now_ms();
    if body.amount.cents() <= 0 {
        return control_error(&ApiError::validation("Amount must be more than 0"), now);
    }
    let w = shared.turn().await;
    if let Err(e) = w.engine.deposit(body.amount).await {
        return control_error(&e, now);
    }
    match w.engine.summary().await {
        Ok(s) => Json(s["Account"].clone()).into_response(),
        Err(e) => control_error(&e.into(), now),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AcceptBody {
    #[serde(rename = "HITId")]
    hit_id: String,
    worker_id: String,
}

async fn accept(State(shared): State<Arc<Shared>>, Json(body): Json<AcceptBody>) -> Response {
    let (result, now) = {
        let w = shared.turn().await;
        (w.engine.accept(&body.hit_id, &body.worker_id).await, w.engine.now_ms())
    };
    match result {
        Ok(id) => Json(json!({ "AssignmentId": id })).into_response(),
        Err(e) => control_error(&e, now),
    }
}

/// A submission: the Answer XML as is, or form fields (name -> value) that
/// become one Answer each, as a plain form's externalSubmit would.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubmitBody {
    assignment_id: String,
    answer: Option<String>,
    #[serde(default)]
    fields: Vec<(String, String)>,
    /// Store the Answer as it comes, unvalidated (a hostile marketplace).
    #[serde(default)]
    unchecked: bool,
}

async fn submit(State(shared): State<Arc<Shared>>, Json(body): Json<SubmitBody>) -> Response {
    let xml = body.answer.unwrap_or_else(|| {
        let answers: Vec<(String, AnswerValue)> =
            body.fields.into_iter().map(|(k, v)| (k, AnswerValue::FreeText(v))).collect();
        question_form_answers(&answers)
    });
    let (result, now) = {
        let w = shared.turn().await;
        (w.engine.submit_checked(&body.assignment_id, xml, !body.unchecked).await, w.engine.now_ms())
    };
    match result {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => control_error(&e, now),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReturnBody {
    assignment_id: String,
}

async fn return_assignment(State(shared): State<Arc<Shared>>, Json(body): Json<ReturnBody>) -> Response {
    let (result, now) = {
        let w = shared.turn().await;
        (w.engine.return_assignment(&body.assignment_id).await, w.engine.now_ms())
    };
    match result {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => control_error(&e, now),
    }
}
