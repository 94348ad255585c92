//! The worker site's cookies: read from a request, written with the
//! attributes every one of them carries (HttpOnly, SameSite, Path=/, and
//! Secure unless the site is reached on loopback, where browsers keep a
//! Secure cookie only over HTTPS and the local site is plain HTTP).

use axum::http::{header, HeaderMap, HeaderValue};

/// The value of cookie `name` in the request, if any.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// Is the site reached on loopback (the local stack), by its Host header?
pub fn on_loopback(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

/// How a cookie is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations from elsewhere (a link to the site works).
    Lax,
    /// Never sent from elsewhere.
    Strict,
}

/// A Set-Cookie value; `max_age_s` None lasts the browser session.
pub fn set(name: &str, value: &str, same_site: SameSite, secure: bool, max_age_s: Option<i64>) -> Option<HeaderValue> {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site:?}");
    if secure {
        text.push_str("; Secure");
    }
    if let Some(s) = max_age_s {
        text.push_str(&format!("; Max-Age={}", s.max(0)));
    }
    HeaderValue::from_str(&text).ok()
}

/// The Set-Cookie value that removes cookie `name`.
pub fn clear(name: &str, secure: bool) -> Option<HeaderValue> {
    set(name, "", SameSite::Lax, secure, Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_and_written_locked_down() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; hitloop_csrf=abc; b=2"));
        assert_eq!(get(&headers, "hitloop_csrf").as_deref(), Some("abc"));
        assert_eq!(get(&headers, "missing"), None);
        let set = set("s", "v", SameSite::Strict, true, Some(60)).unwrap();
        assert_eq!(set.to_str().unwrap(), "s=v; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=60");
        assert!(clear("s", false).unwrap().to_str().unwrap().ends_with("Max-Age=0"));
    }

    #[test]
    fn loopback_is_known_by_the_host() {
        let with_host = |h: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static(h));
            on_loopback(&headers)
        };
        assert!(with_host("127.0.0.1:8080") && with_host("localhost:3000") && with_host("[::1]:80"));
        assert!(!with_host("work.example.org") && !with_host("127.0.0.1.example.org"));
    }
}
