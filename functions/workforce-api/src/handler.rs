//! An HTTPS request (Function URL or API Gateway HTTP API, as lambda_http
//! gives it) -> the service's router: the MTurk API, every request's SigV4
//! signature verified against the issued keys, and a health check. The
//! control endpoints and the local worker site are not served here.

use std::sync::Arc;

use hitloop_workforce::server::Shared;

pub fn app(service: Arc<Shared>) -> axum::Router {
    hitloop_workforce::http::api_router(service)
}
