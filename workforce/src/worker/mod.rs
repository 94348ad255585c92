//! The worker site, at `/worker/`: sign in with a worker id, see the HITs you
//! may accept (grouped by HIT type), preview one, accept it, do the task,
//! return it or submit. Tasks render as MTurk rendered them: an HTMLQuestion
//! in a sandboxed frame, an ExternalQuestion's URL with `assignmentId`,
//! `hitId`, `workerId` and `turkSubmitTo` appended (`ASSIGNMENT_ID_NOT_AVAILABLE`
//! in preview), answers posted to `<turkSubmitTo>/mturk/externalSubmit`.
//!
//! Every action goes through the engine the API uses (qualifications, blocks,
//! one assignment per worker per HIT, deadlines, notifications), so a human's
//! answer is indistinguishable from a simulated worker's downstream.

pub mod auth;
pub mod cookies;
pub mod csrf;
pub mod my_work;
pub mod pages;
pub mod sessions;

use std::sync::Arc;

use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::answer::{question_form_answers, AnswerValue};
use crate::model::AssignmentStatus;
use crate::question::{self, Question};
use crate::server::Shared;
use auth::{SignIn, WorkerAuth};
use csrf::Csrf;
use pages::{esc, url_param, Viewer};

/// What the task page gets instead of an assignment id in preview (MTurk's value).
pub const NOT_ACCEPTED: &str = "ASSIGNMENT_ID_NOT_AVAILABLE";

/// The crowd-html-elements script templates load from AWS; served here instead.
const CROWD_ELEMENTS_URL: &str = "https://assets.crowd.aws/crowd-html-elements.js";
const CROWD_ELEMENTS_LOCAL: &str = "/worker/assets/crowd-html-elements.js";

#[derive(Clone)]
pub struct WorkerSite {
    shared: Arc<Shared>,
    auth: Arc<dyn WorkerAuth>,
}

pub fn router(shared: Arc<Shared>, auth: Arc<dyn WorkerAuth>) -> Router {
    Router::new()
        .route("/worker", get(|| async { Redirect::permanent("/worker/") }))
        .route("/worker/", get(list))
        .route("/worker/sign-in", post(sign_in))
        .route("/worker/sign-out", post(sign_out))
        .route("/worker/me", get(my_work_page))
        .route("/worker/hits/{hit_id}", get(preview))
        .route("/worker/hits/{hit_id}/accept", post(accept))
        .route("/worker/assignments/{assignment_id}", get(working))
        .route("/worker/assignments/{assignment_id}/return", post(give_back))
        .route("/worker/assignments/{assignment_id}/skip", post(skip))
        .route("/worker/types/{hit_type_id}/next", post(next_of_type))
        .route("/worker/task/{hit_id}", get(task_document))
        .route("/worker/assets/{name}", get(asset))
        .route("/mturk/externalSubmit", post(external_submit))
        .route_layer(axum::middleware::from_fn(csrf::guard))
        .with_state(WorkerSite { shared, auth })
}

/// The signed-in person a request comes from, and the token its page's
/// forms carry; anyone else is sent to the sign-in page.
struct SignedIn {
    worker: String,
    csrf: String,
}

impl SignedIn {
    fn viewer(&self) -> Viewer<'_> {
        Viewer::signed_in(&self.worker, &self.csrf)
    }
}

impl axum::extract::FromRequestParts<WorkerSite> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, site: &WorkerSite) -> Result<Self, Response> {
        let csrf = parts.extensions.get::<Csrf>().map(|c| c.0.clone()).unwrap_or_default();
        match site.auth.worker(&parts.headers).await {
            Some(worker) => Ok(SignedIn { worker, csrf }),
            None => Err(Redirect::to("/worker/").into_response()),
        }
    }
}

fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

/// Where externalSubmit goes: this service, as the browser reached it.
fn submit_base(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

#[derive(Deserialize, Default)]
struct Notice {
    notice: Option<String>,
}

async fn list(
    State(site): State<WorkerSite>,
    Extension(Csrf(csrf)): Extension<Csrf>,
    headers: HeaderMap,
    Query(q): Query<Notice>,
) -> Response {
    let Some(worker) = site.auth.worker(&headers).await else {
        return page(StatusCode::OK, pages::sign_in(Viewer::anonymous(&csrf), site.auth.form(), None));
    };
    let viewer = Viewer::signed_in(&worker, &csrf);
    let w = site.shared.turn().await;
    let engine = &w.engine;
    let now = engine.now_ms();
    let mut groups: Vec<(crate::model::HitType, Vec<crate::model::Hit>)> = Vec::new();
    let open = match engine.open_hits_for(&worker, 500, 20_000).await {
        Ok(open) => open,
        Err(e) => return unavailable(viewer, e),
    };
    for hit in open {
        match groups.iter_mut().find(|(t, _)| t.id == hit.hit_type_id) {
            Some((_, hits)) => hits.push(hit),
            None => match engine.store().hit_type(&hit.hit_type_id).await {
                Ok(Some(t)) => groups.push((t, vec![hit])),
                Ok(None) => {}
                Err(e) => return unavailable(viewer, e),
            },
        }
    }
    page(StatusCode::OK, pages::hit_list(viewer, &groups, now, q.notice.as_deref()))
}

/// The page for a store that could not answer: try again shortly.
fn unavailable(viewer: Viewer<'_>, e: crate::store::StoreError) -> Response {
    tracing::error!(error = %e, "worker page: store failed");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::message("Try again", viewer, "The service could not answer just now; reload the page in a moment."),
    )
}

/// The signed-in person's own figures, messages and recent assignments.
async fn my_work_page(State(site): State<WorkerSite>, me: SignedIn) -> Response {
    let viewer = me.viewer();
    let w = site.shared.turn().await;
    let engine = &w.engine;
    let now = engine.now_ms();
    let week = crate::figures::Window { from_ms: now - 7 * crate::engine::DAY_MS, to_ms: i64::MAX };
    let read = async {
        Ok::<_, crate::store::StoreError>((
            engine.worker_records(&me.worker).await?,
            engine.worker_messages(&me.worker).await?,
        ))
    };
    match read.await {
        Ok((records, messages)) => {
            let recent: Vec<_> = records.assignments.iter().rev().take(my_work::RECENT).cloned().collect();
            let view = my_work::MyWork {
                all_time: &records.figures(crate::figures::Window::ALL),
                last_week: &records.figures(week),
                messages: &messages,
                recent: &recent,
                now_ms: now,
            };
            page(StatusCode::OK, my_work::page(viewer, &view))
        }
        Err(e) => unavailable(viewer, e),
    }
}

/// The sign-in form, or the choose-password form of a first sign-in.
async fn sign_in(
    State(site): State<WorkerSite>,
    Extension(Csrf(csrf)): Extension<Csrf>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let viewer = Viewer::anonymous(&csrf);
    let secure = !cookies::on_loopback(&headers);
    match site.auth.sign_in(&fields, secure).await {
        SignIn::Done(set) => {
            let mut r = Redirect::to("/worker/").into_response();
            for cookie in set {
                r.headers_mut().append(header::SET_COOKIE, cookie);
            }
            r
        }
        SignIn::ChoosePassword { email, session } => {
            page(StatusCode::OK, pages::choose_password(viewer, &email, &session, None))
        }
        SignIn::Refused(why) => match (auth::field(&fields, "email"), auth::field(&fields, "session")) {
            // A new password the pool refused: ask again, in the same session.
            (Some(email), Some(session)) => {
                page(StatusCode::BAD_REQUEST, pages::choose_password(viewer, email, session, Some(&why)))
            }
            _ => page(StatusCode::BAD_REQUEST, pages::sign_in(viewer, site.auth.form(), Some(&why))),
        },
    }
}

async fn sign_out(State(site): State<WorkerSite>, headers: HeaderMap) -> Response {
    let secure = !cookies::on_loopback(&headers);
    let mut r = Redirect::to("/worker/").into_response();
    for cookie in site.auth.sign_out(&headers, secure).await {
        r.headers_mut().append(header::SET_COOKIE, cookie);
    }
    r
}

/// The task frame's URL for a HIT, with MTurk's parameters.
fn frame_src(question: &Question, hit_id: &str, assignment_id: &str, worker: &str, base: &str) -> String {
    let mut params = format!("assignmentId={}&hitId={}", url_param(assignment_id), url_param(hit_id));
    if assignment_id != NOT_ACCEPTED {
        params.push_str(&format!("&workerId={}", url_param(worker)));
    }
    params.push_str(&format!("&turkSubmitTo={}", url_param(base)));
    match question {
        Question::External { url, .. } => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}{params}")
        }
        _ => format!("/worker/task/{}?{params}", url_param(hit_id)),
    }
}

fn frame_height(question: &Question) -> i64 {
    match question {
        Question::Html { frame_height, .. } | Question::External { frame_height, .. } if *frame_height > 0 => {
            *frame_height
        }
        _ => 800,
    }
}

async fn preview(
    State(site): State<WorkerSite>,
    me: SignedIn,
    headers: HeaderMap,
    Path(hit_id): Path<String>,
) -> Response {
    let (worker, viewer) = (&me.worker, me.viewer());
    let base = submit_base(&headers);
    let w = site.shared.turn().await;
    let engine = &w.engine;
    let html = match engine.hit_and_type(&hit_id).await {
        Err(e) => return unavailable(viewer, e),
        Ok(None) => Err(pages::message("No such HIT", viewer, &format!("There is no HIT {hit_id}."))),
        Ok(Some((hit, t))) => match engine.question_of(&hit) {
            None => Err(pages::message("Cannot show this HIT", viewer, "Its question cannot be read.")),
            Some(q) => {
                let refusal = match engine.refusal_now(worker, &hit).await {
                    Ok(r) => r,
                    Err(e) => return unavailable(viewer, e),
                };
                Ok(preview_page(viewer, &hit, &t, &q, refusal.as_deref(), &base, engine.now_ms()))
            }
        },
    };
    match html {
        Ok(h) => page(StatusCode::OK, h),
        Err(h) => page(StatusCode::NOT_FOUND, h),
    }
}

fn preview_page(
    viewer: Viewer<'_>,
    hit: &crate::model::Hit,
    hit_type: &crate::model::HitType,
    q: &Question,
    refusal: Option<&str>,
    base: &str,
    now_ms: i64,
) -> String {
    pages::task(&pages::TaskView {
        viewer,
        hit,
        hit_type,
        frame_src: frame_src(q, &hit.id, NOT_ACCEPTED, viewer.worker.unwrap_or_default(), base),
        frame_height: frame_height(q),
        assignment: None,
        now_ms,
        error: refusal,
        stream: None,
    })
}

async fn accept(State(site): State<WorkerSite>, me: SignedIn, Path(hit_id): Path<String>) -> Response {
    let viewer = me.viewer();
    let accepted = site.shared.turn().await.engine.accept(&hit_id, &me.worker).await;
    match accepted {
        Ok(assignment_id) => {
            Redirect::to(&format!("/worker/assignments/{}", url_param(&assignment_id))).into_response()
        }
        Err(e) => page(StatusCode::CONFLICT, pages::message("Not accepted", viewer, &e.message)),
    }
}

async fn working(
    State(site): State<WorkerSite>,
    me: SignedIn,
    headers: HeaderMap,
    Path(assignment_id): Path<String>,
    Query(mode): Query<Stream>,
) -> Response {
    let (worker, viewer) = (&me.worker, me.viewer());
    let base = submit_base(&headers);
    let w = site.shared.turn().await;
    let engine = &w.engine;
    let a = match engine.store().assignment(&assignment_id).await {
        Ok(a) => a.filter(|a| &a.worker_id == worker),
        Err(e) => return unavailable(viewer, e),
    };
    let hit_and_type = match &a {
        Some(a) => match engine.hit_and_type(&a.hit_id).await {
            Ok(ht) => ht,
            Err(e) => return unavailable(viewer, e),
        },
        None => None,
    };
    let html = (|| {
        let Some(a) = a else {
            return Err(pages::message("No such assignment", viewer, "This is not one of your assignments."));
        };
        if a.status != AssignmentStatus::Accepted {
            let text = format!("This assignment is {}: there is nothing more to do here.", a.status.as_str());
            return Err(pages::message("Assignment closed", viewer, &text));
        }
        let Some((hit, t, q)) = hit_and_type.and_then(|(h, t)| engine.question_of(&h).map(|q| (h, t, q))) else {
            return Err(pages::message("Cannot show this HIT", viewer, "Its question cannot be read."));
        };
        let view = pages::TaskView {
            viewer,
            hit: &hit,
            hit_type: &t,
            frame_src: frame_src(&q, &hit.id, &a.id, worker, &base),
            frame_height: frame_height(&q),
            assignment: Some((&a.id, a.deadline_ms)),
            now_ms: engine.now_ms(),
            error: None,
            stream: mode.stream.as_deref().filter(|t| *t == hit.hit_type_id),
        };
        Ok(pages::task(&view))
    })();
    match html {
        Ok(h) => page(StatusCode::OK, h),
        Err(h) => page(StatusCode::NOT_FOUND, h),
    }
}

async fn give_back(State(site): State<WorkerSite>, me: SignedIn, Path(assignment_id): Path<String>) -> Response {
    let (worker, viewer) = (&me.worker, me.viewer());
    let w = site.shared.turn().await;
    let result = match w.engine.store().assignment(&assignment_id).await {
        Err(e) => return unavailable(viewer, e),
        Ok(Some(a)) if &a.worker_id == worker => {
            w.engine.return_assignment(&assignment_id).await.map_err(|e| e.message)
        }
        Ok(_) => Err("This is not one of your assignments.".to_string()),
    };
    match result {
        Ok(()) => Redirect::to("/worker/?notice=You+returned+the+HIT.").into_response(),
        Err(m) => page(StatusCode::CONFLICT, pages::message("Not returned", viewer, &m)),
    }
}

/// An HTMLQuestion's page, as the task frame loads it. Its script tag for
/// the crowd elements points here instead of at AWS. The frame is sandboxed
/// (no same-origin), and so is this document when opened on its own.
async fn task_document(State(site): State<WorkerSite>, Path(hit_id): Path<String>) -> Response {
    let hit = site.shared.turn().await.engine.store().hit(&hit_id).await;
    let content = match hit {
        Ok(Some(hit)) => match question::validate(&hit.question) {
            Ok(Question::Html { content, .. }) => Some(content),
            _ => None,
        },
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "task page: store failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    let Some(content) = content else {
        return page(
            StatusCode::NOT_FOUND,
            pages::message("No such task", Viewer::anonymous(""), "This HIT has no HTML task page."),
        );
    };
    let mut r = page(StatusCode::OK, content.replace(CROWD_ELEMENTS_URL, CROWD_ELEMENTS_LOCAL));
    r.headers_mut().remove("x-frame-options");
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("sandbox allow-scripts allow-forms; frame-ancestors 'self'"),
    );
    r
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "crowd-html-elements.js" => (include_str!("assets/crowd-html-elements.js"), "text/javascript; charset=utf-8"),
        "worker.css" => (include_str!("assets/worker.css"), "text/css; charset=utf-8"),
        "stream.js" => (include_str!("assets/stream.js"), "text/javascript; charset=utf-8"),
        "submitted.js" => (include_str!("assets/submitted.js"), "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

/// MTurk's externalSubmit: `assignmentId` and the task's fields, each field
/// an Answer. The assignment id is the credential, as it was on MTurk (the
/// frame is sandboxed and carries no cookie of ours).
async fn external_submit(State(site): State<WorkerSite>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let Some(assignment_id) = fields.iter().find(|(k, _)| k == "assignmentId").map(|(_, v)| v.clone()) else {
        return page(StatusCode::BAD_REQUEST, pages::submitted(false, "The form carried no assignmentId."));
    };
    if assignment_id == NOT_ACCEPTED {
        return page(StatusCode::BAD_REQUEST, pages::submitted(false, "This is a preview: accept the HIT to submit."));
    }
    let answers: Vec<(String, AnswerValue)> =
        fields.into_iter().filter(|(k, _)| k != "assignmentId").map(|(k, v)| (k, AnswerValue::FreeText(v))).collect();
    if answers.is_empty() {
        return page(StatusCode::BAD_REQUEST, pages::submitted(false, "The form carried no answer."));
    }
    let xml = question_form_answers(&answers);
    let submitted = site.shared.turn().await.engine.submit(&assignment_id, xml).await;
    match submitted {
        Ok(()) => page(StatusCode::OK, pages::submitted(true, "Thank you: your answer was submitted.")),
        Err(e) => {
            tracing::info!(assignment_id = %esc(&assignment_id), error = %e.message, "externalSubmit refused");
            page(StatusCode::CONFLICT, pages::submitted(false, &e.message))
        }
    }
}

#[derive(Deserialize, Default)]
struct Stream {
    /// Set on the pages of the labeling stream: the HIT type it goes through.
    stream: Option<String>,
}

/// The labeling stream: accept the next HIT of this type open to the
/// worker and show it; back to the list when there is none.
async fn next_of_type(State(site): State<WorkerSite>, me: SignedIn, Path(hit_type_id): Path<String>) -> Response {
    next_for(&site, &me, &hit_type_id).await
}

async fn next_for(site: &WorkerSite, me: &SignedIn, hit_type_id: &str) -> Response {
    let next = site.shared.turn().await.engine.accept_next_of_type(&me.worker, hit_type_id).await;
    match next {
        Ok(Some(assignment_id)) => Redirect::to(&format!(
            "/worker/assignments/{}?stream={}",
            url_param(&assignment_id),
            url_param(hit_type_id)
        ))
        .into_response(),
        Ok(None) => Redirect::to("/worker/?notice=No+more+HITs+of+this+kind+for+you+right+now.").into_response(),
        Err(e) => unavailable(me.viewer(), e),
    }
}

/// Gives the assignment back and goes on to the next HIT of its type.
async fn skip(State(site): State<WorkerSite>, me: SignedIn, Path(assignment_id): Path<String>) -> Response {
    let viewer = me.viewer();
    let w = site.shared.turn().await;
    let hit_type = match w.engine.store().assignment(&assignment_id).await {
        Err(e) => return unavailable(viewer, e),
        Ok(Some(a)) if a.worker_id == me.worker => match w.engine.return_assignment(&assignment_id).await {
            Ok(()) => match w.engine.store().hit(&a.hit_id).await {
                Ok(h) => h.map(|h| h.hit_type_id),
                Err(e) => return unavailable(viewer, e),
            },
            Err(e) => return page(StatusCode::CONFLICT, pages::message("Not skipped", viewer, &e.message)),
        },
        Ok(_) => {
            return page(
                StatusCode::NOT_FOUND,
                pages::message("Not skipped", viewer, "This is not one of your assignments."),
            )
        }
    };
    drop(w);
    match hit_type {
        Some(t) => next_for(&site, &me, &t).await,
        None => Redirect::to("/worker/").into_response(),
    }
}
