//! Verification against requests boto3 signed (captured by
//! `workforce/tests/fixtures/capture_boto3_signed.py`), and each way a
//! request can fail.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::*;
use crate::auth::{MemoryKeys, RequesterAuth, RequesterKeys};

#[derive(Deserialize)]
struct Fixture {
    access_key_id: String,
    secret: String,
    requests: Vec<Captured>,
}

#[derive(Deserialize, Clone)]
struct Captured {
    method: String,
    headers: std::collections::BTreeMap<String, String>,
    body: String,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("../../tests/fixtures/boto3_signed.json")).unwrap()
}

fn headers(c: &Captured) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in &c.headers {
        map.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    map
}

fn signed_at(c: &Captured) -> SystemTime {
    let t = NaiveDateTime::parse_from_str(&c.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").unwrap();
    SystemTime::from(t.and_utc())
}

/// Claims and verifies `c` at `now` with `secret`.
fn check(c: &Captured, now: SystemTime, secret: &str) -> Result<String, AuthError> {
    let headers = headers(c);
    let request = SignedRequest { method: &c.method, path_and_query: "/", headers: &headers, body: c.body.as_bytes() };
    let claim = request.claim(&[now])?;
    request.verify(&claim, secret)?;
    Ok(claim.access_key_id)
}

#[test]
fn every_request_boto3_signed_verifies_in_any_region() {
    let f = fixture();
    assert!(f.requests.len() >= 6);
    for c in &f.requests {
        assert_eq!(check(c, signed_at(c), &f.secret), Ok(f.access_key_id.clone()), "{:?}", c.headers);
    }
    assert!(f.requests.iter().any(|c| c.headers["Authorization"].contains("/eu-west-1/")));
    // boto3 escapes non-ASCII text in JSON bodies (\u2014): such a body is covered.
    assert!(f.requests.iter().any(|c| c.body.contains("\\u2014")), "a body with escaped non-ASCII text");
}

#[test]
fn a_wrong_secret_does_not_match() {
    let f = fixture();
    let c = &f.requests[0];
    assert_eq!(check(c, signed_at(c), "not-the-secret"), Err(AuthError::Mismatch));
    let err = AuthError::Mismatch.to_api_error();
    assert_eq!(err.kind.wire_name(), "InvalidSignatureException");
    assert_eq!(err.kind.http_status(), 400);
}

#[test]
fn a_tampered_body_or_signed_header_does_not_match_but_an_unsigned_header_may_change() {
    let f = fixture();
    let c = f.requests.iter().find(|c| c.body.contains("Reward")).unwrap();
    let now = signed_at(c);

    let mut body = c.clone();
    body.body = body.body.replace("0.05", "5.00");
    assert_eq!(check(&body, now, &f.secret), Err(AuthError::Mismatch));

    let mut target = c.clone();
    target.headers.insert("X-Amz-Target".into(), "MTurkRequesterServiceV20170117.DeleteHIT".into());
    assert_eq!(check(&target, now, &f.secret), Err(AuthError::Mismatch));

    let mut host = c.clone();
    host.headers.insert("Host".into(), "elsewhere.example.org".into());
    assert_eq!(check(&host, now, &f.secret), Err(AuthError::Mismatch), "Host is signed");

    let mut agent = c.clone();
    agent.headers.insert("User-Agent".into(), "something else".into());
    assert!(check(&agent, now, &f.secret).is_ok(), "User-Agent is not signed");

    let mut dropped = c.clone();
    dropped.headers.remove("X-Amz-Target");
    assert_eq!(check(&dropped, now, &f.secret), Err(AuthError::Mismatch), "a signed header that is gone");
}

#[test]
fn the_clock_may_differ_by_five_minutes_either_way() {
    let f = fixture();
    let c = &f.requests[0];
    let t = signed_at(c);
    let minutes = |m: u64| Duration::from_secs(m * 60);
    assert!(check(c, t + minutes(4), &f.secret).is_ok());
    assert!(check(c, t - minutes(4), &f.secret).is_ok());
    match check(c, t + minutes(6), &f.secret) {
        Err(AuthError::Invalid(m)) => assert!(m.starts_with("Signature expired:"), "{m}"),
        other => panic!("{other:?}"),
    }
    match check(c, t - minutes(6), &f.secret) {
        Err(AuthError::Invalid(m)) => assert!(m.starts_with("Signature not yet current:"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_second_clock_the_service_keeps_is_as_good_as_the_first() {
    let f = fixture();
    let c = &f.requests[0];
    let headers = headers(c);
    let request = SignedRequest { method: "POST", path_and_query: "/", headers: &headers, body: c.body.as_bytes() };
    let hour_later = signed_at(c) + Duration::from_secs(3600);
    assert!(matches!(request.claim(&[hour_later]), Err(AuthError::Invalid(_))));
    assert!(request.claim(&[hour_later, signed_at(c)]).is_ok(), "the simulated marketplace clock");
}

#[test]
fn a_request_without_a_signature_is_missing_its_token() {
    let f = fixture();
    let mut c = f.requests[0].clone();
    c.headers.remove("Authorization");
    assert_eq!(check(&c, signed_at(&c), &f.secret), Err(AuthError::Missing));
    assert_eq!(AuthError::Missing.to_api_error().kind.wire_name(), "MissingAuthenticationTokenException");
}

fn with_authorization(c: &Captured, edit: impl Fn(&str) -> String) -> Captured {
    let mut c = c.clone();
    let a = edit(&c.headers["Authorization"]);
    c.headers.insert("Authorization".into(), a);
    c
}

#[test]
fn a_malformed_or_misscoped_signature_is_refused_before_any_arithmetic() {
    let f = fixture();
    let c = &f.requests[0];
    let now = signed_at(c);
    let incomplete = |c: &Captured| matches!(check(c, now, &f.secret), Err(AuthError::Incomplete(_)));
    let invalid = |c: &Captured| matches!(check(c, now, &f.secret), Err(AuthError::Invalid(_)));

    assert!(incomplete(&with_authorization(c, |a| a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"))));
    assert!(incomplete(&with_authorization(c, |a| a.split(", Signature=").next().unwrap().to_string())));
    assert!(incomplete(&with_authorization(c, |a| a.replace("/aws4_request", "/aws5_request"))));
    assert!(incomplete(&with_authorization(c, |a| a.replace("content-type;host;", "content-type;"))), "Host unsigned");
    assert!(invalid(&with_authorization(c, |a| a.replace("/mturk-requester/", "/s3/"))), "another service's scope");
    assert!(invalid(&with_authorization(c, |a| {
        let date = &c.headers["X-Amz-Date"][..8];
        a.replace(&format!("/{date}/"), "/20200101/")
    })));
    let mut no_date = c.clone();
    no_date.headers.remove("X-Amz-Date");
    assert!(incomplete(&no_date));
}

#[tokio::test]
async fn requester_auth_refuses_unknown_and_revoked_keys() {
    let f = fixture();
    let c = &f.requests[0];
    let hm = headers(c);
    let request = SignedRequest { method: "POST", path_and_query: "/", headers: &hm, body: c.body.as_bytes() };
    let keys = std::sync::Arc::new(MemoryKeys::with_key(&f.access_key_id, &f.secret, "fixture"));
    let auth = RequesterAuth::Keys(keys.clone());
    assert_eq!(auth.check(&request, &[signed_at(c)]).await, Ok(Some(f.access_key_id.clone())));
    let other = RequesterAuth::Keys(std::sync::Arc::new(MemoryKeys::new()));
    assert_eq!(other.check(&request, &[signed_at(c)]).await, Err(AuthError::UnknownKey));
    keys.revoke(&f.access_key_id).await.unwrap();
    assert_eq!(auth.check(&request, &[signed_at(c)]).await, Err(AuthError::UnknownKey));
    assert_eq!(RequesterAuth::Off.check(&request, &[signed_at(c)]).await, Ok(None));
}
