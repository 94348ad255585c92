//! `hitloop workforce invite` end to end: the team lead invites a person into
//! the annotators' user pool (the real binary, against moto's cognito-idp),
//! is told the worker id they will have, and cannot invite them twice.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::process::Command;

fn invite(endpoint: &str, pool: &str, email: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hitloop"))
        .args(["workforce", "invite", "--user-pool", pool, email])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "lead")
        .env("AWS_SECRET_ACCESS_KEY", "lead")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test]
async fn a_team_lead_invites_a_person_once() {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("run under `make test` (moto)");
    let sdk = hitloop_local::local_sdk(&endpoint).await;
    let pool = hitloop_workforce_cognito::pools::create_pool(&sdk, &format!("people-{}", std::process::id()))
        .await
        .unwrap()
        .pool_id;

    let (ok, out, err) = invite(&endpoint, &pool, "ana@example.org");
    assert!(ok, "{err}");
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let user = idp.admin_get_user().user_pool_id(&pool).username("ana@example.org").send().await.unwrap();
    let sub = user.user_attributes().iter().find(|a| a.name() == "sub").unwrap().value().unwrap().to_string();
    assert!(out.contains(&format!("worker id: {}", hitloop_workforce_cognito::worker_id_of(&sub))), "{out}");
    assert_eq!(user.user_status().map(|s| s.as_str()), Some("FORCE_CHANGE_PASSWORD"), "a temporary password first");

    let (ok, _, err) = invite(&endpoint, &pool, "ana@example.org");
    assert!(!ok && err.contains("already invited"), "{err}");
}
