//! `hitloop workforce keys` end to end: an admin issues a key (the real
//! binary, against DynamoDB and KMS on moto), a requester signs with it and is
//! answered by a service that reads its keys from that table, the admin lists
//! and revokes it, and the next request is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::process::Command;
use std::sync::Arc;

use aws_sdk_mturk::error::ProvideErrorMetadata;
use hitloop_workforce::server::{start, Requesters, ServerConfig};
use hitloop_workforce_dynamodb::{table, DynamoKeys};

/// Runs `hitloop workforce keys <args>` as an admin would, against moto.
fn keys(endpoint: &str, table: &str, kms_key: &str, args: &[&str]) -> (bool, String, String) {
    keys_with(endpoint, table, kms_key, args, &[])
}

/// The same with more environment variables.
fn keys_with(
    endpoint: &str,
    table: &str,
    kms_key: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hitloop"))
        .args(["workforce", "keys", "--table", table, "--kms-key", kms_key])
        .args(args)
        .envs(env.iter().copied())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "admin")
        .env("AWS_SECRET_ACCESS_KEY", "admin")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A workforce service's table and KMS key on moto, as its stack makes them.
struct Workforce {
    endpoint: String,
    sdk: hitloop_aws::SdkConfig,
    ddb: aws_sdk_dynamodb::Client,
    kms: aws_sdk_kms::Client,
    name: String,
    kms_key: String,
}

async fn workforce(tag: &str) -> Workforce {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("run under `make test` (moto)");
    let sdk = hitloop_local::local_sdk(&endpoint).await;
    let (ddb, kms) = (aws_sdk_dynamodb::Client::new(&sdk), aws_sdk_kms::Client::new(&sdk));
    let name = format!("workforce-{tag}-{}", std::process::id());
    table::create(&ddb, &name).await.unwrap();
    let kms_key = kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    Workforce { endpoint, sdk, ddb, kms, name, kms_key }
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_issues_lists_and_revokes_a_requester_key() {
    let Workforce { endpoint, ddb, kms, name, kms_key, .. } = workforce("keys").await;

    let (ok, out, err) = keys(&endpoint, &name, &kms_key, &["create", "--description", "the ci pipeline"]);
    assert!(ok, "{err}");
    let (id, secret) = (field(&out, "AccessKeyId:").to_string(), field(&out, "SecretAccessKey:").to_string());
    assert!(out.contains("shown this once"), "{out}");

    let store = Arc::new(DynamoKeys::new(ddb.clone(), kms.clone(), &name, &kms_key));
    let service =
        start(ServerConfig { speed: 0.0, requesters: Requesters::Store(store), ..Default::default() }).await.unwrap();
    let credentials = aws_sdk_mturk::config::Credentials::new(&id, &secret, None, None, "issued");
    let mturk = aws_sdk_mturk::Client::new(&hitloop_aws::local_sdk_config_as(&service.url, credentials).await);
    assert!(mturk.get_account_balance().send().await.is_ok(), "answered with the issued key");

    let (ok, listed, _) = keys(&endpoint, &name, &kms_key, &["list"]);
    assert!(ok);
    let row = listed.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{listed}"));
    assert!(row.contains("Active") && row.contains("the ci pipeline"), "{row}");
    assert!(!listed.contains(&secret), "list never shows a secret");

    let (ok, _, err) = keys(&endpoint, &name, &kms_key, &["revoke", &id]);
    assert!(ok, "{err}");
    let refused = mturk.get_account_balance().send().await.expect_err("revoked");
    assert_eq!(refused.code(), Some("UnrecognizedClientException"));
    let (_, listed, _) = keys(&endpoint, &name, &kms_key, &["list"]);
    assert!(listed.lines().any(|l| l.starts_with(&id) && l.contains("Revoked")), "{listed}");

    let (ok, _, err) = keys(&endpoint, &name, &kms_key, &["revoke", "AKHLNOSUCHKEY0000000"]);
    assert!(!ok && err.contains("there is no key AKHLNOSUCHKEY0000000"), "{err}");
    service.stop().await;
}

/// What the secret `name` holds now.
async fn stored(sdk: &hitloop_aws::SdkConfig, name: &str) -> hitloop_secrets::StoredKey {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let text = secrets.get_secret_value().secret_id(name).send().await.unwrap().secret_string.unwrap();
    hitloop_secrets::StoredKey::parse(&text).unwrap()
}

/// GetAccountBalance from a client that signs with the key in `secret`, as
/// the pipeline's functions do.
async fn balance_signed_from(sdk: &hitloop_aws::SdkConfig, url: &str, secret: &str) -> Result<(), Option<String>> {
    let signing = hitloop_secrets::signing_with_key_in(sdk, secret);
    let mturk =
        aws_sdk_mturk::Client::from_conf(aws_sdk_mturk::config::Builder::from(&signing).endpoint_url(url).build());
    mturk.get_account_balance().send().await.map(|_| ()).map_err(|e| e.code().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_goes_into_the_pipelines_secret_unseen_and_a_second_one_rotates_it() {
    let Workforce { endpoint, sdk, ddb, kms, name, kms_key } = workforce("secret").await;
    let secret_name = format!("{name}/mturk-key");

    let (ok, out, err) =
        keys(&endpoint, &name, &kms_key, &["create", "--description", "pipeline", "--secret", &secret_name]);
    assert!(ok, "{err}");
    let first = stored(&sdk, &secret_name).await;
    assert_eq!(field(&out, "AccessKeyId:"), first.access_key_id);
    assert!(!out.contains(&first.secret_access_key) && out.contains("MTurkKeySecret=arn:aws:secretsmanager:"), "{out}");

    // The functions' way in: signing with whatever the secret holds.
    let store = Arc::new(DynamoKeys::new(ddb.clone(), kms.clone(), &name, &kms_key));
    let service =
        start(ServerConfig { speed: 0.0, requesters: Requesters::Store(store), ..Default::default() }).await.unwrap();
    assert_eq!(balance_signed_from(&sdk, &service.url, &secret_name).await, Ok(()));

    // Rotation: a second key into the same secret, the first revoked.
    let (ok, _, err) =
        keys(&endpoint, &name, &kms_key, &["create", "--description", "pipeline 2", "--secret", &secret_name]);
    assert!(ok, "{err}");
    let second = stored(&sdk, &secret_name).await;
    assert_ne!(second.access_key_id, first.access_key_id);
    let (ok, _, err) = keys(&endpoint, &name, &kms_key, &["revoke", &first.access_key_id]);
    assert!(ok, "{err}");
    assert_eq!(
        balance_signed_from(&sdk, &service.url, &secret_name).await,
        Ok(()),
        "a client made now reads the new key"
    );

    let (ok, out, err) = keys(&endpoint, &name, &kms_key, &["create", "--json"]);
    assert!(ok, "{err}");
    let printed = hitloop_secrets::StoredKey::parse(out.trim()).unwrap();
    assert!(printed.access_key_id.starts_with("AKHL"));
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_whose_secret_cannot_be_stored_is_revoked_not_left_active() {
    let Workforce { endpoint, name, kms_key, .. } = workforce("unstored").await;
    // Secrets Manager is out of reach (its own endpoint, nothing listening)
    // after the key was issued: the step between the two writes fails.
    let unreachable = [("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9"), ("AWS_MAX_ATTEMPTS", "1")];
    let args = ["create", "--description", "lost", "--secret", "hitloop/unreachable"];
    let (ok, out, err) = keys_with(&endpoint, &name, &kms_key, &args, &unreachable);
    assert!(!ok, "{out}");
    assert!(err.contains("hitloop/unreachable") && err.contains("was revoked"), "{err}");
    let (_, listed, _) = keys(&endpoint, &name, &kms_key, &["list"]);
    let row = listed.lines().find(|l| l.contains("lost")).unwrap_or_else(|| panic!("{listed}"));
    assert!(row.contains("Revoked"), "no usable key is left behind that nobody holds: {row}");
}
