//! Signing in and verifying tokens against a user pool on moto: an invited
//! person sets a password and is signed in; the pool's ID token names them;
//! every way a token can be wrong is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hitloop_workforce_cognito::{
    worker_id_of, CognitoDirectory, DirectoryError, SignInStep, TokenError, TokenVerifier, Tokens, UserPool,
};

const TEMPORARY: &str = "Temporary-Pass-1";
const CHOSEN: &str = "My-Own-Passw0rd!";

fn endpoint() -> String {
    std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("HITLOOP_TEST_AWS_ENDPOINT (moto): run `make test`")
}

/// A new pool with an app client that allows password sign-in.
async fn new_pool(sdk: &hitloop_aws::SdkConfig) -> UserPool {
    hitloop_workforce_cognito::pools::create_pool(sdk, &format!("annotators-{}", uuid::Uuid::new_v4().simple()))
        .await
        .unwrap()
}

/// Another app client of the pool.
async fn client_of(sdk: &hitloop_aws::SdkConfig, pool_id: &str) -> UserPool {
    hitloop_workforce_cognito::pools::create_site_client(sdk, pool_id).await.unwrap()
}

/// Invites `email` and signs them in for the first time: their tokens.
async fn first_sign_in(directory: &CognitoDirectory, email: &str) -> Tokens {
    directory.invite(email, Some(TEMPORARY)).await.unwrap();
    let SignInStep::NewPasswordRequired { session } = directory.sign_in(email, TEMPORARY).await.unwrap() else {
        panic!("an invited person first chooses a password");
    };
    match directory.set_new_password(email, &session, CHOSEN).await.unwrap() {
        SignInStep::SignedIn(tokens) => tokens,
        other => panic!("{other:?}"),
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The token with its payload changed by `edit` (its signature left as it was).
fn tampered(token: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    edit(&mut payload);
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2])
}

/// The token with its header replaced.
fn with_header(token: &str, header: serde_json::Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), parts[1], parts[2])
}

#[tokio::test]
async fn an_invited_person_sets_a_password_and_their_token_names_them() {
    let sdk = hitloop_aws::local_sdk_config(&endpoint()).await;
    let pool = new_pool(&sdk).await;
    let directory = CognitoDirectory::new(&sdk, pool.clone());
    let invited = directory.invite("ana@example.org", Some(TEMPORARY)).await.unwrap();
    assert_eq!(directory.invite("ana@example.org", None).await.unwrap_err(), DirectoryError::AlreadyInvited);

    assert_eq!(directory.sign_in("ana@example.org", "wrong").await.unwrap_err(), DirectoryError::NotAuthorized);
    assert_eq!(directory.sign_in("nobody@example.org", TEMPORARY).await.unwrap_err(), DirectoryError::NotAuthorized);
    let SignInStep::NewPasswordRequired { session } = directory.sign_in("ana@example.org", TEMPORARY).await.unwrap()
    else {
        panic!("the temporary password asks for a new one");
    };
    let SignInStep::SignedIn(tokens) = directory.set_new_password("ana@example.org", &session, CHOSEN).await.unwrap()
    else {
        panic!("signed in once the password is set");
    };
    assert!(tokens.expires_in_s > 0);
    // From now on, the chosen password signs in at once.
    assert!(matches!(directory.sign_in("ana@example.org", CHOSEN).await.unwrap(), SignInStep::SignedIn(_)));

    let verifier = TokenVerifier::new(&pool, &pool.jwks_url(Some(&endpoint())));
    let person = verifier.verify(&tokens.id_token, now_s()).await.unwrap();
    assert_eq!(person.sub, invited.sub);
    assert_eq!(person.worker_id, worker_id_of(&invited.sub));
    assert_eq!(person.email.as_deref(), Some("ana@example.org"));
    assert!(person.expires_s > now_s());
    verifier.verify(&tokens.id_token, now_s()).await.unwrap();
    assert_eq!(verifier.keys().fetches().await, 1, "the pool's keys are fetched once and kept");

    directory.sign_out(&tokens.access_token).await.unwrap();
}

#[tokio::test]
async fn every_wrong_token_is_refused() {
    let sdk = hitloop_aws::local_sdk_config(&endpoint()).await;
    let pool = new_pool(&sdk).await;
    let directory = CognitoDirectory::new(&sdk, pool.clone());
    let tokens = first_sign_in(&directory, "bo@example.org").await;
    let verifier = TokenVerifier::new(&pool, &pool.jwks_url(Some(&endpoint())));
    let now = now_s();
    let id = &tokens.id_token;
    assert!(verifier.verify(id, now).await.is_ok());

    // Someone else's sub, or a later expiry, under the original signature.
    let other = tampered(id, |p| p["sub"] = "someone-else".into());
    assert_eq!(verifier.verify(&other, now).await.unwrap_err(), TokenError::BadSignature);
    let longer = tampered(id, |p| p["exp"] = (now + 86_400).into());
    assert_eq!(verifier.verify(&longer, now).await.unwrap_err(), TokenError::BadSignature);
    // Expired: the same token an hour and a second later.
    let expires = verifier.verify(id, now).await.unwrap().expires_s;
    assert_eq!(verifier.verify(id, expires).await.unwrap_err(), TokenError::Expired);
    // The access token is not a session.
    assert_eq!(verifier.verify(&tokens.access_token, now).await.unwrap_err(), TokenError::WrongUse);
    // "none" or HMAC instead of the pool's RSA key.
    let none = with_header(id, serde_json::json!({ "alg": "HS256", "kid": "dummy" }));
    assert_eq!(verifier.verify(&none, now).await.unwrap_err(), TokenError::BadSignature);
    assert_eq!(verifier.verify("not.a.token", now).await.unwrap_err(), TokenError::Malformed);

    // A token of another pool (moto signs every pool's with one key: only
    // the issuer tells them apart), and one of another app client.
    let elsewhere = new_pool(&sdk).await;
    let theirs = first_sign_in(&CognitoDirectory::new(&sdk, elsewhere), "bo@example.org").await;
    assert_eq!(verifier.verify(&theirs.id_token, now).await.unwrap_err(), TokenError::WrongIssuer);
    let other_client = client_of(&sdk, &pool.pool_id).await;
    let SignInStep::SignedIn(via_other) =
        CognitoDirectory::new(&sdk, other_client).sign_in("bo@example.org", CHOSEN).await.unwrap()
    else {
        panic!("signed in");
    };
    assert_eq!(verifier.verify(&via_other.id_token, now).await.unwrap_err(), TokenError::WrongClient);

    // A key id the pool does not publish: one fetch to look, then none for a while.
    let fetched = verifier.keys().fetches().await;
    let rotated = with_header(id, serde_json::json!({ "alg": "RS256", "kid": "rotated" }));
    assert_eq!(verifier.verify(&rotated, now).await.unwrap_err(), TokenError::UnknownKey);
    let again = with_header(id, serde_json::json!({ "alg": "RS256", "kid": "rotated-again" }));
    assert_eq!(verifier.verify(&again, now).await.unwrap_err(), TokenError::UnknownKey);
    assert!(verifier.keys().fetches().await <= fetched + 1, "made-up key ids do not make a fetch each");
}

#[tokio::test]
async fn keys_that_cannot_be_read_are_a_retryable_error() {
    let pool = UserPool { pool_id: "us-east-1_Nowhere".into(), client_id: "c".into() };
    let verifier = TokenVerifier::new(&pool, "http://127.0.0.1:9/us-east-1_Nowhere/.well-known/jwks.json");
    let token = with_header("e30.e30.c2ln", serde_json::json!({ "alg": "RS256", "kid": "k" }));
    let err = verifier.verify(&token, now_s()).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}
