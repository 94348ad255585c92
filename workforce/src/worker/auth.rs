//! Who is signed in to the worker site. `LocalSignIn` is the local
//! sandbox's: a worker id and nothing else (a cookie holds it), labelled as
//! such on the page. A deployed site signs people in with a Cognito user
//! pool (`hitloop-workforce-cognito`) behind the same trait.

use async_trait::async_trait;
use axum::http::{HeaderMap, HeaderValue};

use super::cookies::{self, SameSite};
use super::pages::SignInForm;

/// Where a sign-in attempt stands.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: the cookies to set.
    Done(Vec<HeaderValue>),
    /// The person must choose a password first (an invitation's first
    /// sign-in): the page asks for it, carrying these.
    ChoosePassword { email: String, session: String },
    /// Not signed in, and why (shown to the person).
    Refused(String),
}

#[async_trait]
pub trait WorkerAuth: Send + Sync {
    /// The signed-in worker's id, if the request carries a valid session.
    async fn worker(&self, headers: &HeaderMap) -> Option<String>;
    /// What the sign-in page asks for.
    fn form(&self) -> SignInForm;
    /// Signs in with the sign-in form's fields (or the choose-password
    /// form's). `secure`: the cookies are for HTTPS only.
    async fn sign_in(&self, fields: &[(String, String)], secure: bool) -> SignIn;
    /// Ends the request's session: the cookies that clear it.
    async fn sign_out(&self, headers: &HeaderMap, secure: bool) -> Vec<HeaderValue>;
}

/// The value of field `name`.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Local sign-in: any well-formed worker id, no password. Fine on loopback
/// for trying tasks and labeling by hand; not an authentication.
pub struct LocalSignIn;

const COOKIE: &str = "hitloop_worker";

#[async_trait]
impl WorkerAuth for LocalSignIn {
    async fn worker(&self, headers: &HeaderMap) -> Option<String> {
        cookies::get(headers, COOKIE).filter(|id| crate::ids::is_worker_id(id))
    }

    fn form(&self) -> SignInForm {
        SignInForm::WorkerId
    }

    async fn sign_in(&self, fields: &[(String, String)], secure: bool) -> SignIn {
        let worker_id = field(fields, "worker_id").unwrap_or_default().trim();
        if !crate::ids::is_worker_id(worker_id) {
            return SignIn::Refused(format!(
                "{worker_id:?} is not a worker id: use an A followed by capital letters and digits, like A1B2C3D4E5F6G7"
            ));
        }
        match cookies::set(COOKIE, worker_id, SameSite::Lax, secure, None) {
            Some(cookie) => SignIn::Done(vec![cookie]),
            None => SignIn::Refused("that worker id cannot be kept in a cookie".into()),
        }
    }

    async fn sign_out(&self, _headers: &HeaderMap, secure: bool) -> Vec<HeaderValue> {
        cookies::clear(COOKIE, secure).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_cookie_names_the_worker() {
        let auth = LocalSignIn;
        let SignIn::Done(cookies) = auth.sign_in(&[("worker_id".into(), "A1B2C3".into())], false).await else {
            panic!("a well-formed id signs in");
        };
        let mut headers = HeaderMap::new();
        let value = cookies[0].to_str().unwrap().split(';').next().unwrap().to_string();
        headers.insert("cookie", HeaderValue::from_str(&format!("other=1; {value}")).unwrap());
        assert_eq!(auth.worker(&headers).await.as_deref(), Some("A1B2C3"));
        assert!(matches!(auth.sign_in(&[("worker_id".into(), "<script>".into())], false).await, SignIn::Refused(_)));
        headers.insert("cookie", HeaderValue::from_static("hitloop_worker=<b>"));
        assert_eq!(auth.worker(&headers).await, None, "a forged cookie with markup is no worker");
    }
}
