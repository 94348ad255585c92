//! An HTTPS request (Function URL or API Gateway HTTP API, as lambda_http
//! gives it) -> the service's router: the MTurk API (every request's SigV4
//! signature verified against the issued keys), a health check, and the
//! worker site with people signed in through the user pool. The control
//! endpoints, which trust whoever calls, are not served here.

use std::sync::Arc;

use hitloop_workforce::server::Shared;
use hitloop_workforce::worker::auth::WorkerAuth;

pub fn app(service: Arc<Shared>, sign_in: Arc<dyn WorkerAuth>) -> axum::Router {
    hitloop_workforce::http::site_router(service, sign_in)
}
