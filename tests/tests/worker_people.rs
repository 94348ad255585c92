//! Invited people in a real browser (headless Chromium), signed in through
//! a user pool (moto's cognito-idp), as on a deployed workforce: the team
//! lead invites two people; each signs in with the temporary password,
//! chooses a password, labels five irises in the stream with the keyboard
//! only and sees them in "My work"; their answers reach the pipeline and
//! decide the items together. Neither sees the other's work. A forged
//! session, another pool's token, a signed-out session and a form without
//! its CSRF token are refused. The sign-in, HIT list, stream and "My work"
//! pages are saved as screenshots (`make screenshots` puts them in
//! docs/screenshots/).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::Arc;

use common::chromium::{browser, chromedriver, label_in_the_stream, screenshots};
use common::webdriver::{Browser, By};
use common::*;
use hitloop_core::records::ItemStatus;
use hitloop_workforce::server::GivenSignIn;
use hitloop_workforce::worker::sessions::MemoryRevokedSessions;
use hitloop_workforce_cognito::{worker_id_of, CognitoDirectory, CognitoSignIn, SignInStep, TokenVerifier, UserPool};

const TEMPORARY: &str = "Temporary-Pass-1";
const CHOSEN: &str = "Chosen-Passw0rd!";
const ENTER: &str = "\u{E007}";

async fn new_pool(sdk: &hitloop_aws::SdkConfig) -> UserPool {
    let name = format!("annotators-{}", uuid::Uuid::new_v4().simple());
    hitloop_workforce_cognito::pools::create_pool(sdk, &name).await.unwrap()
}

/// Signs `email` in from the sign-in page with the keyboard only: the
/// temporary password, then their own.
async fn first_sign_in(c: &Browser, base: &str, email: &str, shot: bool) {
    c.goto(&format!("{base}/worker/")).await.unwrap();
    let field = c.wait_for(By::Id("email")).await.unwrap();
    if shot {
        std::fs::write(screenshots().join("sign-in.png"), c.screenshot().await.unwrap()).unwrap();
    }
    field.send_keys(email).await.unwrap();
    c.find(By::Id("password")).await.unwrap().send_keys(&format!("{TEMPORARY}{ENTER}")).await.unwrap();
    let new_password = c.wait_for(By::Id("new-password")).await.unwrap();
    assert!(c.source().await.unwrap().contains("Choose your password"));
    new_password.send_keys(&format!("{CHOSEN}{ENTER}")).await.unwrap();
    c.wait_for(By::Css("form.start button")).await.unwrap();
}

/// The page at `path` shows the sign-in form: the session was not accepted.
async fn refused(c: &Browser, base: &str, path: &str) -> bool {
    c.goto(&format!("{base}{path}")).await.unwrap();
    c.wait_for(By::Id("email")).await.is_ok() && !c.source().await.unwrap().contains("Signed in as")
}

async fn sign_out(c: &Browser, base: &str) {
    c.goto(&format!("{base}/worker/")).await.unwrap();
    c.wait_for(By::Css("form[action='/worker/sign-out'] button")).await.unwrap().send_keys(ENTER).await.unwrap();
    c.wait_for(By::Id("email")).await.unwrap();
}

async fn my_work(c: &Browser, base: &str) -> String {
    c.goto(&format!("{base}/worker/me")).await.unwrap();
    c.wait_for(By::Css("table.figures")).await.unwrap();
    c.source().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invited_people_sign_in_label_in_the_stream_and_see_only_their_own_work() {
    let endpoint = aws_endpoint();
    let sdk = hitloop_local::local_sdk(&endpoint).await;
    let pool = new_pool(&sdk).await;
    let verifier = TokenVerifier::new(&pool, &pool.jwks_url(Some(&endpoint)));
    let revoked = Arc::new(MemoryRevokedSessions::default());
    let sign_in = CognitoSignIn::new(CognitoDirectory::new(&sdk, pool.clone()), verifier, revoked);
    let stack =
        Stack::new(Options { crowd: None, sign_in: Some(GivenSignIn(Arc::new(sign_in))), ..Default::default() }).await;
    stack.submit("people", &iris_job(), &iris_template(), "manifest.csv", &iris_manifest_every(30)).await;
    stack.router.pump_until_idle(50).await;
    let items = stack.items("people").await;
    assert_eq!(items.len(), 5);
    let truth = iris_truth();
    let label_of_hit = |hit: &str| {
        let item = items.iter().find(|i| i.hit_id.as_deref() == Some(hit)).unwrap();
        truth[&item.item_id].clone()
    };

    // The team lead invites two people (the pool would mail the temporary
    // password; here it is given).
    let lead = CognitoDirectory::new(&sdk, pool.clone());
    let ana = worker_id_of(&lead.invite("ana@example.org", Some(TEMPORARY)).await.unwrap().sub);
    let bo = worker_id_of(&lead.invite("bo@example.org", Some(TEMPORARY)).await.unwrap().sub);

    let driver = chromedriver().await;
    let c = browser(&driver).await;
    let base = stack.mturk.url.clone();

    // Ana: signs in, starts working with Enter, five irises with the keys.
    first_sign_in(&c, &base, "ana@example.org", true).await;
    let list = c.source().await.unwrap();
    assert!(list.contains(&format!("Signed in as <strong>{ana}</strong>")), "her derived worker id: {list}");
    assert!(!list.contains("ana@example.org"), "the email is not shown as who works");
    std::fs::write(screenshots().join("hit-list.png"), c.screenshot().await.unwrap()).unwrap();
    c.find(By::Css("form.start button")).await.unwrap().send_keys(ENTER).await.unwrap();
    label_in_the_stream(&c, 5, label_of_hit, Some("labeling-stream.png")).await;
    let notice = c.wait_for(By::Css("p.notice[role='status']")).await.unwrap();
    assert!(notice.text().await.unwrap().contains("No more HITs"));

    stack.flush().await;
    stack.router.pump_until_idle(50).await;
    for item in stack.items("people").await {
        let answers = stack.answers("people", &item.item_id).await;
        assert_eq!(answers.len(), 1, "{}", item.item_id);
        assert_eq!(
            (answers[0].worker_id.as_str(), answers[0].label.as_deref()),
            (ana.as_str(), Some(truth[&item.item_id].as_str()))
        );
    }
    // Approved by hitloop: five rewards of $0.05.
    let mine = my_work(&c, &base).await;
    assert!(mine.contains("You have earned <strong>$0.25</strong> here (5 approved)"), "{mine}");
    assert!(mine.contains("<th scope=\"row\">Submitted</th><td>5</td><td>5</td>"), "{mine}");
    std::fs::write(screenshots().join("my-work.png"), c.screenshot().await.unwrap()).unwrap();

    // On a phone's width nothing runs off the side of the page.
    c.resize(390, 844).await.unwrap();
    for path in ["/worker/", "/worker/me"] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        c.wait_for(By::Css("main h1")).await.unwrap();
        let fits = c.execute("return document.documentElement.scrollWidth <= window.innerWidth").await.unwrap();
        assert_eq!(fits, serde_json::json!(true), "{path} fits a phone's width");
    }
    std::fs::write(screenshots().join("my-work-phone.png"), c.screenshot().await.unwrap()).unwrap();
    c.resize(1280, 1000).await.unwrap();

    // Sessions that are not hers: a tampered token, another pool's token,
    // and hers once she signed out.
    let session = c.cookie("hitloop_session").await.unwrap().expect("a session cookie");
    let mut forged = session.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    sign_out(&c, &base).await;
    c.set_cookie("hitloop_session", &session).await.unwrap();
    assert!(refused(&c, &base, "/worker/me").await, "a signed-out session is refused");
    c.set_cookie("hitloop_session", &forged).await.unwrap();
    assert!(refused(&c, &base, "/worker/").await, "a forged signature is refused");
    let elsewhere = new_pool(&sdk).await;
    let theirs = CognitoDirectory::new(&sdk, elsewhere.clone());
    theirs.invite("ana@example.org", Some(TEMPORARY)).await.unwrap();
    let SignInStep::NewPasswordRequired { session: challenge } =
        theirs.sign_in("ana@example.org", TEMPORARY).await.unwrap()
    else {
        panic!("a first sign-in asks for a new password");
    };
    let SignInStep::SignedIn(tokens) = theirs.set_new_password("ana@example.org", &challenge, CHOSEN).await.unwrap()
    else {
        panic!("signed in");
    };
    c.set_cookie("hitloop_session", &tokens.id_token).await.unwrap();
    assert!(refused(&c, &base, "/worker/").await, "another pool's token is refused");

    // Bo: his own list and figures, none of Ana's; a form without its token
    // is refused; then he labels the same five, and they are decided.
    first_sign_in(&c, &base, "bo@example.org", false).await;
    let his = my_work(&c, &base).await;
    assert!(his.contains("You have earned <strong>$0.00</strong> here (0 approved)"), "{his}");
    assert!(!his.contains(&ana) && !items.iter().any(|i| his.contains(i.hit_id.as_deref().unwrap())), "{his}");
    c.goto(&format!("{base}/worker/")).await.unwrap();
    c.wait_for(By::Css("form.start button")).await.unwrap();
    c.execute("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())").await.unwrap();
    c.find(By::Css("form.start button")).await.unwrap().send_keys(ENTER).await.unwrap();
    let refusal = c.wait_for(By::Css("main p[role='alert']")).await.unwrap();
    assert!(refusal.text().await.unwrap().contains("did not come from this site"));
    c.goto(&format!("{base}/worker/")).await.unwrap();
    c.wait_for(By::Css("form.start button")).await.unwrap().send_keys(ENTER).await.unwrap();
    label_in_the_stream(&c, 5, label_of_hit, None).await;
    // The last submit is in once the stream says nothing is left.
    let notice = c.wait_for(By::Css("p.notice[role='status']")).await.unwrap();
    assert!(notice.text().await.unwrap().contains("No more HITs"));
    c.close().await.unwrap();

    stack.flush().await;
    stack.router.pump_until_idle(50).await;
    for item in stack.items("people").await {
        assert_eq!(
            (item.status, item.label.as_deref(), item.agreed),
            (ItemStatus::Labeled, Some(truth[&item.item_id].as_str()), 2),
            "{}: both people's answers count toward agreement",
            item.item_id
        );
        let mut workers: Vec<String> =
            stack.answers("people", &item.item_id).await.into_iter().map(|a| a.worker_id).collect();
        workers.sort();
        let mut both = [ana.clone(), bo.clone()];
        both.sort();
        assert_eq!(workers, both);
    }
    for shot in ["sign-in.png", "hit-list.png", "labeling-stream.png", "my-work.png"] {
        assert!(std::fs::metadata(screenshots().join(shot)).unwrap().len() > 1000, "{shot} saved");
    }
}
