//! Cross-site request forgery: every form the site renders repeats a random
//! token that also sits in an HttpOnly, SameSite=Strict cookie, and a POST
//! holds only when the two match (the double-submit pattern: another site
//! can make a browser post here, but can neither read that cookie nor set
//! it). No state on the server, so any instance of the service checks a
//! form any other rendered. The sign-in form is covered too (a session
//! forced on someone is an attack as well). `externalSubmit` is not: the
//! task frame is sandboxed and carries no cookie of ours; the assignment id
//! is its credential, as on MTurk.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::cookies::{self, SameSite};

pub const COOKIE: &str = "hitloop_csrf";
pub const FIELD: &str = "csrf";

/// The most a form body may hold (the site's forms are a few fields).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The token of this request, for the forms a page renders.
#[derive(Debug, Clone)]
pub struct Csrf(pub String);

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Paths whose POSTs carry no token (see the module's comment).
fn exempt(path: &str) -> bool {
    path == "/mturk/externalSubmit"
}

/// The middleware: gives every request its token (a new one, set as a
/// cookie, when the browser has none) and refuses a POST whose form does
/// not repeat it.
pub async fn guard(request: Request, next: Next) -> Response {
    let held = cookies::get(request.headers(), COOKIE).filter(|t| t.len() == 32);
    let secure = !cookies::on_loopback(request.headers());
    let token = held.clone().unwrap_or_else(new_token);
    let mut request = request;
    if request.method() == Method::POST && !exempt(request.uri().path()) {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
            return refused("The form is too large.");
        };
        let given = form_urlencoded::parse(&bytes).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned());
        let ok = match (&held, given) {
            (Some(expected), Some(given)) => matches(expected, &given),
            _ => false,
        };
        if !ok {
            return refused("This form has expired or did not come from this site: reload the page and try again.");
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(Csrf(token.clone()));
    let mut response = next.run(request).await;
    if held.is_none() {
        if let Some(cookie) = cookies::set(COOKIE, &token, SameSite::Strict, secure, None) {
            response.headers_mut().append(axum::http::header::SET_COOKIE, cookie);
        }
    }
    response
}

fn refused(text: &str) -> Response {
    let html = super::pages::message("Refused", super::pages::Viewer::anonymous(""), text);
    (StatusCode::FORBIDDEN, axum::response::Html(html)).into_response()
}

/// The hidden field a form carries.
pub fn field(token: &str) -> String {
    format!(r#"<input type="hidden" name="{FIELD}" value="{}">"#, super::pages::esc(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(matches(&a, &a.clone()));
        assert!(!matches(&a, &b) && !matches(&a, &a[..31]) && !matches(&a, ""));
    }
}
