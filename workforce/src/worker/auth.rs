//! Who a request comes from. Locally a worker signs in with a worker id and
//! nothing else (a cookie holds it); a deployed worker site puts real
//! authentication behind the same interface.

use axum::http::{HeaderMap, HeaderValue};

pub trait WorkerAuth: Send + Sync {
    /// The signed-in worker's id, if any.
    fn worker(&self, headers: &HeaderMap) -> Option<String>;
    /// The Set-Cookie (or other) header value that signs `worker_id` in, or
    /// why they may not.
    fn sign_in(&self, worker_id: &str) -> Result<HeaderValue, String>;
    /// The header value that signs the worker out.
    fn sign_out(&self) -> HeaderValue;
}

/// Local sign-in: any well-formed worker id, no password. Fine on loopback
/// for trying tasks and labeling by hand; not an authentication.
pub struct LocalSignIn;

const COOKIE: &str = "hitloop_worker";

impl WorkerAuth for LocalSignIn {
    fn worker(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| value.to_string())
            .filter(|id| crate::ids::is_worker_id(id))
    }

    fn sign_in(&self, worker_id: &str) -> Result<HeaderValue, String> {
        if !crate::ids::is_worker_id(worker_id) {
            return Err(format!(
                "{worker_id:?} is not a worker id: use an A followed by capital letters and digits, like A1B2C3D4E5F6G7"
            ));
        }
        HeaderValue::from_str(&format!("{COOKIE}={worker_id}; Path=/; HttpOnly; SameSite=Lax"))
            .map_err(|e| e.to_string())
    }

    fn sign_out(&self) -> HeaderValue {
        HeaderValue::from_static("hitloop_worker=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_names_the_worker() {
        let auth = LocalSignIn;
        let cookie = auth.sign_in("A1B2C3").unwrap();
        let mut headers = HeaderMap::new();
        let value = cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        headers.insert("cookie", HeaderValue::from_str(&format!("other=1; {value}")).unwrap());
        assert_eq!(auth.worker(&headers).as_deref(), Some("A1B2C3"));
        assert!(auth.sign_in("<script>").is_err());
        headers.insert("cookie", HeaderValue::from_static("hitloop_worker=<b>"));
        assert_eq!(auth.worker(&headers), None, "a forged cookie with markup is no worker");
    }
}
