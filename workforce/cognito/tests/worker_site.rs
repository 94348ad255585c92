//! The worker site signed in through a user pool (moto's cognito-idp), over
//! HTTP: an invited person chooses a password and works as the worker id
//! derived from them; sessions that are forged, from another pool, or
//! signed out are refused; every form needs its token; the control
//! endpoints, which trust anyone, are not served.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hitloop_workforce::server::{start, GivenSignIn, Requesters, Running, ServerConfig};
use hitloop_workforce::worker::sessions::{MemoryRevokedSessions, RevokedSessions};
use hitloop_workforce_cognito::{worker_id_of, CognitoDirectory, CognitoSignIn, SignInStep, TokenVerifier, UserPool};

const TEMPORARY: &str = "Temporary-Pass-1";
const CHOSEN: &str = "My-Own-Passw0rd!";
const CSRF: &str = "00112233445566778899aabbccddeeff";

fn endpoint() -> String {
    std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("HITLOOP_TEST_AWS_ENDPOINT (moto): run `make test`")
}

async fn new_pool(sdk: &hitloop_aws::SdkConfig) -> UserPool {
    let name = format!("annotators-{}", uuid::Uuid::new_v4().simple());
    hitloop_workforce_cognito::pools::create_pool(sdk, &name).await.unwrap()
}

struct Site {
    running: Running,
    http: reqwest::Client,
    directory: CognitoDirectory,
}

/// The service with its worker site signing people in through `pool`.
async fn site(sdk: &hitloop_aws::SdkConfig, pool: &UserPool, revoked: Arc<dyn RevokedSessions>) -> Site {
    let verifier = TokenVerifier::new(pool, &pool.jwks_url(Some(&endpoint())));
    let sign_in = CognitoSignIn::new(CognitoDirectory::new(sdk, pool.clone()), verifier, revoked);
    let running = start(ServerConfig {
        speed: 0.0,
        requesters: Requesters::Open,
        worker_sign_in: Some(GivenSignIn(Arc::new(sign_in))),
        ..Default::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Site { running, http, directory: CognitoDirectory::new(sdk, pool.clone()) }
}

impl Site {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url)
    }

    async fn get(&self, path: &str, session: Option<&str>) -> (u16, String) {
        let mut cookies = format!("hitloop_csrf={CSRF}");
        if let Some(s) = session {
            cookies.push_str(&format!("; hitloop_session={s}"));
        }
        let resp = self.http.get(self.url(path)).header("cookie", cookies).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// A form posted as the site's own page posts it; the status, the body
    /// and the Set-Cookie values.
    async fn post(&self, path: &str, session: Option<&str>, form: &[(&str, &str)]) -> (u16, String, Vec<String>) {
        let mut form = form.to_vec();
        form.push(("csrf", CSRF));
        let mut cookies = format!("hitloop_csrf={CSRF}");
        if let Some(s) = session {
            cookies.push_str(&format!("; hitloop_session={s}"));
        }
        let resp = self.http.post(self.url(path)).header("cookie", cookies).form(&form).send().await.unwrap();
        let set = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        (resp.status().as_u16(), resp.text().await.unwrap(), set)
    }

    /// Signs `email` in for the first time (temporary password, then their
    /// own): the session cookie's value.
    async fn first_sign_in(&self, email: &str) -> String {
        self.directory.invite(email, Some(TEMPORARY)).await.unwrap();
        let (status, page, _) = self.post("/worker/sign-in", None, &[("email", email), ("password", TEMPORARY)]).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Choose your password"), "{page}");
        let session = hidden(&page, "session");
        let (status, page, set) = self
            .post("/worker/sign-in", None, &[("email", email), ("session", &session), ("new_password", CHOSEN)])
            .await;
        assert_eq!(status, 303, "{page}");
        let cookie = set.iter().find(|c| c.starts_with("hitloop_session=")).expect("a session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Max-Age="),
            "{cookie}"
        );
        cookie.trim_start_matches("hitloop_session=").split(';').next().unwrap().to_string()
    }
}

/// The value of hidden field `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let from = page.find(&marker).unwrap_or_else(|| panic!("no {name} in {page}")) + marker.len();
    page[from..].split('"').next().unwrap().to_string()
}

fn sub_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sub"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_person_signs_in_works_as_their_own_worker_id_and_signs_out() {
    let sdk = hitloop_aws::local_sdk_config(&endpoint()).await;
    let pool = new_pool(&sdk).await;
    let s = site(&sdk, &pool, Arc::new(MemoryRevokedSessions::default())).await;

    let (_, page) = s.get("/worker/", None).await;
    assert!(page.contains(r#"name="email""#) && page.contains(r#"type="password""#), "{page}");
    assert!(!page.contains("Local sandbox"), "{page}");
    let (status, page, set) =
        s.post("/worker/sign-in", None, &[("email", "nobody@example.org"), ("password", "x")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("Incorrect email or password.") && set.is_empty(), "{page}");

    let session = s.first_sign_in("ana@example.org").await;
    let worker = worker_id_of(&sub_of(&session));
    let (_, page) = s.get("/worker/", Some(&session)).await;
    assert!(page.contains(&format!("Signed in as <strong>{worker}</strong>")), "{page}");
    assert!(!page.contains("ana@example.org"), "the email is not shown as the worker");

    // The worker id is what the requester sees on the assignment.
    let mturk =
        aws_sdk_mturk::Client::new(&hitloop_aws::local_sdk_config_as(&s.running.url, s.running.credentials()).await);
    let hit = mturk
        .create_hit()
        .max_assignments(1)
        .lifetime_in_seconds(3600)
        .assignment_duration_in_seconds(300)
        .reward("0.05")
        .title("Label a flower")
        .description("Pick the species")
        .question(r#"<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[<form><input name="label"></form>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#)
        .send()
        .await
        .unwrap()
        .hit
        .unwrap()
        .hit_id
        .unwrap();
    let (status, _, _) = s.post(&format!("/worker/hits/{hit}/accept"), Some(&session), &[]).await;
    assert_eq!(status, 303);
    let assignment = s.running.shared.engine.store().hits_of_worker(&worker).await.unwrap();
    assert!(assignment.contains(&hit), "accepted as {worker}");

    // Nothing unauthenticated acts for a worker here.
    let control = s
        .http
        .post(s.url("/_hitloop/workers/accept"))
        .json(&serde_json::json!({"HITId": hit, "WorkerId": "A1ANYONE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(control.status().as_u16(), 404);

    // Signing out clears the cookie, and the old cookie no longer works.
    let (status, _, set) = s.post("/worker/sign-out", Some(&session), &[]).await;
    assert_eq!(status, 303);
    assert!(set.iter().any(|c| c.starts_with("hitloop_session=;") && c.contains("Max-Age=0")), "{set:?}");
    let (_, page) = s.get("/worker/", Some(&session)).await;
    assert!(page.contains(r#"name="email""#) && !page.contains("Signed in as"), "a signed-out session is refused");
    // Signing in again gives a new session that works.
    let SignInStep::SignedIn(_) = s.directory.sign_in("ana@example.org", CHOSEN).await.unwrap() else { panic!() };
    let (status, _, set) = s.post("/worker/sign-in", None, &[("email", "ana@example.org"), ("password", CHOSEN)]).await;
    assert_eq!(status, 303);
    let again = set.iter().find(|c| c.starts_with("hitloop_session=")).unwrap();
    let again = again.trim_start_matches("hitloop_session=").split(';').next().unwrap();
    assert!(s.get("/worker/", Some(again)).await.1.contains("Signed in as"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_foreign_and_tokenless_requests_are_refused() {
    let sdk = hitloop_aws::local_sdk_config(&endpoint()).await;
    let pool = new_pool(&sdk).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("sessions-{}", uuid::Uuid::new_v4().simple());
    hitloop_workforce_dynamodb::table::create(&ddb, &table).await.unwrap();
    let revoked = Arc::new(hitloop_workforce_dynamodb::DynamoRevokedSessions::new(ddb, &table));
    let s = site(&sdk, &pool, revoked).await;
    let session = s.first_sign_in("bo@example.org").await;
    assert!(s.get("/worker/", Some(&session)).await.1.contains("Signed in as"));

    let signed_out = |page: &str| page.contains(r#"name="email""#) && !page.contains("Signed in as");
    // Someone else's sub under bo's signature.
    let parts: Vec<&str> = session.split('.').collect();
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "someone-else".into();
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
    assert!(signed_out(&s.get("/worker/", Some(&forged)).await.1));
    // A session of another pool's site.
    let elsewhere = new_pool(&sdk).await;
    let other_site = site(&sdk, &elsewhere, Arc::new(MemoryRevokedSessions::default())).await;
    let theirs = other_site.first_sign_in("bo@example.org").await;
    assert!(signed_out(&s.get("/worker/", Some(&theirs)).await.1));
    assert!(signed_out(&s.get("/worker/", Some("garbage")).await.1));

    // A form without its token, even with a valid session.
    let resp = s
        .http
        .post(s.url("/worker/sign-out"))
        .header("cookie", format!("hitloop_csrf={CSRF}; hitloop_session={session}"))
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert!(s.get("/worker/", Some(&session)).await.1.contains("Signed in as"), "still signed in");

    // Signed out on the DynamoDB record: refused from then on.
    let (status, _, _) = s.post("/worker/sign-out", Some(&session), &[]).await;
    assert_eq!(status, 303);
    assert!(signed_out(&s.get("/worker/", Some(&session)).await.1));
}
