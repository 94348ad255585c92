//! Requester authentication as aws-sdk-mturk meets it: the service answers a
//! request signed with its key and refuses, with AWS's error, an unknown key, a
//! wrong secret and a stale signature. (boto3's side, with tampered bodies and
//! headers: tests/python/test_signatures.py; the arithmetic against requests
//! boto3 signed: src/auth/sigv4_tests.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_mturk::error::ProvideErrorMetadata;
use aws_smithy_async::time::StaticTimeSource;
use common::{frozen, mturk_client_as};

async fn refusal(client: &aws_sdk_mturk::Client) -> (String, u16) {
    let err = client.get_account_balance().send().await.expect_err("refused");
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (err.code().unwrap_or_default().to_string(), status)
}

#[tokio::test]
async fn the_service_answers_its_key_and_refuses_others() {
    let s = frozen().await;
    assert!(s.mturk.get_account_balance().send().await.is_ok(), "signed with the service's key");

    let key = s.running.requester_key.clone().unwrap();
    let unknown = Credentials::new("AKHLNOSUCHKEY0000000", &key.secret_access_key, None, None, "t");
    assert_eq!(
        refusal(&mturk_client_as(&s.running.url, unknown).await).await,
        ("UnrecognizedClientException".into(), 400)
    );

    let wrong = Credentials::new(&key.access_key_id, "not-the-secret", None, None, "t");
    assert_eq!(refusal(&mturk_client_as(&s.running.url, wrong).await).await, ("InvalidSignatureException".into(), 400));
}

#[tokio::test]
async fn a_signature_from_ten_minutes_ago_has_expired() {
    let s = frozen().await;
    let past = SystemTime::now() - Duration::from_secs(600);
    // One attempt: the SDK would otherwise correct its clock by the answer's
    // Date header and sign again, as AWS SDKs do on a skew error.
    let stale = s
        .mturk
        .config()
        .to_builder()
        .time_source(StaticTimeSource::new(past))
        .retry_config(aws_sdk_mturk::config::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_mturk::Client::from_conf(stale);
    let err = client.get_account_balance().send().await.expect_err("refused");
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    assert!(err.message().unwrap_or_default().starts_with("Signature expired"), "{err:?}");
}
