//! The functions that call the marketplace sign with the requester key in
//! the Secrets Manager secret the stack names (MTURK_KEY_SECRET), read with
//! the function's own credentials: the only way a deployed pipeline gets
//! into a workforce service that checks its keys. Each function's own
//! configuration code is built from its variables, on moto and the service
//! (authentication on).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::BTreeMap;

use common::aws_endpoint;
use hitloop_core::error::Error;
use hitloop_lambda::env::Vars;
use hitloop_pipeline::ports::Crowd;
use hitloop_secrets::StoredKey;
use hitloop_workforce::server::{start, Running, ServerConfig};

/// A fresh secret holding `text`; its ARN.
async fn secret(sdk: &hitloop_aws::SdkConfig, text: &str) -> String {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let name = format!("mturk-key-{}", uuid::Uuid::new_v4().simple());
    let made = secrets.create_secret().name(name).secret_string(text).send().await.unwrap();
    made.arn().unwrap().to_string()
}

/// Each marketplace-calling function's crowd, as its configuration builds
/// it from `key_secret` (and the other variables it reads).
fn crowds(
    service: &Running,
    key_secret: &str,
    sdk: &hitloop_aws::SdkConfig,
) -> Vec<(&'static str, std::sync::Arc<dyn Crowd>)> {
    let env: BTreeMap<String, String> = [
        ("TABLE_NAME", "unused-table"),
        ("MTURK_ENDPOINT", service.url.as_str()),
        ("MTURK_KEY_SECRET", key_secret),
        ("MTURK_ATTEMPT_TIMEOUT_MS", "5000"),
        ("NOTIFICATION_QUEUE_URL", "http://unused/queue"),
        ("PUBLISH_QUEUE_URL", "http://unused/queue"),
        ("TRAINING_QUEUE_URL", "http://unused/queue"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let vars = Vars::Map(&env);
    vec![
        ("publish", publish::config::Config::from(&vars).unwrap().deps(sdk).crowd),
        ("collect", collect::config::Config::from(&vars).unwrap().deps(sdk).crowd),
        ("sweep", sweep::config::Config::from(&vars).unwrap().deps(sdk).collect.crowd),
    ]
}

fn the_key_of(service: &Running) -> StoredKey {
    let c = service.credentials();
    StoredKey { access_key_id: c.access_key_id().into(), secret_access_key: c.secret_access_key().into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_sign_with_the_key_in_their_secret() {
    let service = start(ServerConfig { speed: 0.0, ..Default::default() }).await.unwrap();
    // The functions' own credentials (moto's dummies) are not a key the service issued.
    let sdk = hitloop_local::local_sdk(&aws_endpoint()).await;
    let arn = secret(&sdk, &the_key_of(&service).to_json()).await;
    for (function, crowd) in crowds(&service, &arn, &sdk) {
        let balance = crowd.balance().await.unwrap_or_else(|e| panic!("{function}: {e}"));
        assert_eq!(balance.to_string(), "10000.00", "{function}");
    }
    // Without the secret they are refused: the same calls with the
    // function's own credentials.
    let own = hitloop_mturk_client::MturkCrowd::new(&sdk, &service.url, std::time::Duration::from_secs(5));
    let refused = own.balance().await.unwrap_err();
    assert!(refused.to_string().contains("UnrecognizedClientException"), "{refused}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_key_is_a_clear_error_that_never_shows_the_secret() {
    let service = start(ServerConfig { speed: 0.0, ..Default::default() }).await.unwrap();
    let sdk = hitloop_local::local_sdk(&aws_endpoint()).await;
    let right = the_key_of(&service);
    let wrong_secret = StoredKey { secret_access_key: "not-the-secret-0123456789".into(), ..right.clone() };
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf".to_string();
    let cases = [
        (secret(&sdk, &wrong_secret.to_json()).await, "does not match"),
        (secret(&sdk, "AKHL:not-the-secret-0123456789").await, "is not JSON"),
        (secret(&sdk, r#"{"AccessKeyId": "AKHL"}"#).await, "has no SecretAccessKey"),
        (missing.clone(), "no-such-secret"),
    ];
    for (arn, expected) in cases {
        for (function, crowd) in crowds(&service, &arn, &sdk) {
            let err = crowd.balance().await.unwrap_err();
            let text = err.to_string();
            assert!(text.contains(expected), "{function}, {expected}: {text}");
            assert!(!text.contains("not-the-secret") && !text.contains(&right.secret_access_key), "{text}");
            // A refused signature is the caller's to fix: trying again cannot help.
            if expected == "does not match" {
                assert!(matches!(err, Error::Permanent(_)), "{function}: {err:?}");
            }
        }
    }
    service.stop().await;
}
