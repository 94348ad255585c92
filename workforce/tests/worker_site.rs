//! The worker site over plain HTTP (the browser test in tests/ drives it in
//! Chromium): it applies the service's own rules (blocks, qualifications,
//! one assignment per worker per HIT, deadlines), escapes what it shows, and
//! externalSubmit turns a task's form into an assignment's Answer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::*;
use hitloop_workforce::server::ServerConfig;

/// Any 32 hex digits: the form token is whatever the browser's cookie holds.
const CSRF: &str = "0123456789abcdef0123456789abcdef";

fn cookie(worker: &str) -> String {
    format!("hitloop_worker={worker}; hitloop_csrf={CSRF}")
}

async fn page(s: &Service, path: &str, worker: Option<&str>) -> (u16, String) {
    let mut req = s.http.get(s.url(path));
    if let Some(w) = worker {
        req = req.header("cookie", cookie(w));
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A form posted as the page's own would be: with the token, in its
/// cookie and in the form.
async fn post(s: &Service, path: &str, worker: Option<&str>, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
    let mut form = form.to_vec();
    form.push(("csrf", CSRF));
    let cookies = worker.map(cookie).unwrap_or_else(|| format!("hitloop_csrf={CSRF}"));
    post_raw(s, path, &cookies, &form).await
}

async fn post_raw(s: &Service, path: &str, cookies: &str, form: &[(&str, &str)]) -> (u16, String, Option<String>) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = client.post(s.url(path)).form(form);
    if !cookies.is_empty() {
        req = req.header("cookie", cookies);
    }
    let resp = req.send().await.unwrap();
    let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (resp.status().as_u16(), resp.text().await.unwrap(), location)
}

#[tokio::test]
async fn the_list_applies_the_services_rules_and_escapes_what_it_shows() {
    let s = service(ServerConfig { speed: 0.0, ..Default::default() }).await;
    // a requester's title with markup
    let hit = s
        .mturk
        .create_hit()
        .max_assignments(1)
        .lifetime_in_seconds(3600)
        .assignment_duration_in_seconds(300)
        .reward("0.07")
        .title("<script>alert(1)</script> flowers")
        .description("Pick the species")
        .question(crowd_question("https://x/1.jpg"))
        .send()
        .await
        .unwrap()
        .hit
        .unwrap();
    let hit_id = hit.hit_id().unwrap();

    let (status, signed_out) = page(&s, "/worker/", None).await;
    assert_eq!(status, 200);
    assert!(signed_out.contains("<label for=\"worker-id\">Worker id</label>"), "a labelled sign-in field");
    let (status, body, _) = post(&s, "/worker/sign-in", None, &[("worker_id", "not a worker")]).await;
    assert_eq!(status, 400);
    assert!(body.contains("is not a worker id"));
    let (status, _, location) = post(&s, "/worker/sign-in", None, &[("worker_id", WORKER_1)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/worker/")));

    let (_, list) = page(&s, "/worker/", Some(WORKER_1)).await;
    assert!(list.contains(&format!("/worker/hits/{hit_id}")), "{list}");
    assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt; flowers") && !list.contains("<script>alert"));
    assert!(list.contains("$0.07 per assignment") && list.contains("5 min"), "reward and time allotted");

    // the preview frames the task with MTurk's parameters, and the task page uses the local crowd elements
    let (_, preview) = page(&s, &format!("/worker/hits/{hit_id}"), Some(WORKER_1)).await;
    assert!(preview.contains("sandbox=\"allow-scripts allow-forms\""));
    assert!(preview.contains("assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&amp;hitId="), "{preview}");
    let (_, task) = page(&s, &format!("/worker/task/{hit_id}?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE"), None).await;
    assert!(task.contains("/worker/assets/crowd-html-elements.js") && !task.contains("assets.crowd.aws"));
    let (status, script) = page(&s, "/worker/assets/crowd-html-elements.js", None).await;
    assert!(status == 200 && script.contains("customElements.define(\"crowd-image-classifier\""));

    // a blocked worker is offered nothing and cannot accept
    s.mturk.create_worker_block().worker_id(WORKER_2).reason("spam").send().await.unwrap();
    let (_, list) = page(&s, "/worker/", Some(WORKER_2)).await;
    assert!(!list.contains(hit_id) && list.contains("No HIT is open for you"), "{list}");
    let (status, body, _) = post(&s, &format!("/worker/hits/{hit_id}/accept"), Some(WORKER_2), &[]).await;
    assert_eq!(status, 409);
    assert!(body.contains("blocked"), "{body}");

    // accept; the one slot is gone for others; another worker cannot see the assignment
    let (status, _, location) = post(&s, &format!("/worker/hits/{hit_id}/accept"), Some(WORKER_1), &[]).await;
    assert_eq!(status, 303);
    let assignment_page = location.unwrap();
    let assignment_id = assignment_page.rsplit('/').next().unwrap().to_string();
    let (_, list) = page(&s, "/worker/", Some(WORKER_3)).await;
    assert!(!list.contains(hit_id), "no slot left");
    let (status, _) = page(&s, &assignment_page, Some(WORKER_3)).await;
    assert_eq!(status, 404, "someone else's assignment");
    let (status, working) = page(&s, &assignment_page, Some(WORKER_1)).await;
    assert_eq!(status, 200);
    assert!(working.contains(&format!("workerId={WORKER_1}")) && working.contains("turkSubmitTo=http"));

    // externalSubmit: a preview id is refused, the real one becomes the Answer
    let (status, _, _) =
        post(&s, "/mturk/externalSubmit", None, &[("assignmentId", "ASSIGNMENT_ID_NOT_AVAILABLE"), ("x", "y")]).await;
    assert_eq!(status, 400);
    let answer = r#"[{"category":{"label":"Iris-setosa"}}]"#;
    let (status, body, _) =
        post(&s, "/mturk/externalSubmit", None, &[("assignmentId", &assignment_id), ("taskAnswers", answer)]).await;
    assert_eq!(status, 200, "{body}");
    let a = s.mturk.get_assignment().assignment_id(&assignment_id).send().await.unwrap().assignment.unwrap();
    assert_eq!(a.assignment_status().unwrap().as_str(), "Submitted");
    assert_eq!(a.worker_id(), Some(WORKER_1));
    let xml = a.answer().unwrap();
    assert!(xml.contains("<QuestionIdentifier>taskAnswers</QuestionIdentifier>"), "{xml}");
    assert!(xml.contains("Iris-setosa"));
    // twice is refused by the service's own rules
    let (status, _, _) =
        post(&s, "/mturk/externalSubmit", None, &[("assignmentId", &assignment_id), ("taskAnswers", answer)]).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_late_worker_cannot_submit_and_a_return_frees_the_slot() {
    let s = frozen().await;
    let hit = s.hit(1, "0.05").await;
    let hit_id = hit.hit_id().unwrap();
    let (_, _, location) = post(&s, &format!("/worker/hits/{hit_id}/accept"), Some(WORKER_1), &[]).await;
    let assignment_id = location.unwrap().rsplit('/').next().unwrap().to_string();
    // returned: the slot is open again
    let (status, _, location) =
        post(&s, &format!("/worker/assignments/{assignment_id}/return"), Some(WORKER_1), &[]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/worker/?notice=You+returned+the+HIT.")));
    let (_, list) = page(&s, "/worker/", Some(WORKER_2)).await;
    assert!(list.contains(hit_id));
    // but not for the worker who returned it: once per HIT, as on MTurk
    let (_, list) = page(&s, "/worker/", Some(WORKER_1)).await;
    assert!(!list.contains(hit_id), "{list}");
    // accepted, then the 5 minutes pass: too late
    let (_, _, location) = post(&s, &format!("/worker/hits/{hit_id}/accept"), Some(WORKER_2), &[]).await;
    let assignment_id = location.unwrap().rsplit('/').next().unwrap().to_string();
    s.advance(301.0).await;
    let (status, body, _) =
        post(&s, "/mturk/externalSubmit", None, &[("assignmentId", &assignment_id), ("label", "a")]).await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn every_form_of_the_site_needs_its_token() {
    let s = service(ServerConfig { speed: 0.0, ..Default::default() }).await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    // The first page gives the browser its token, in a cookie another site
    // can neither read nor send, and in every form.
    let resp = s.http.get(s.url("/worker/")).send().await.unwrap();
    let set = resp.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(set.starts_with("hitloop_csrf=") && set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP on loopback: {set}");
    let token = set.trim_start_matches("hitloop_csrf=").split(';').next().unwrap().to_string();
    let body = resp.text().await.unwrap();
    assert!(body.contains(&format!(r#"name="csrf" value="{token}""#)), "{body}");

    let accept = format!("/worker/hits/{id}/accept");
    let signed_in = format!("hitloop_worker={WORKER_1}; hitloop_csrf={token}");
    let forged = [
        (signed_in.as_str(), vec![]), // no token in the form
        (signed_in.as_str(), vec![("csrf", "ffffffffffffffffffffffffffffffff")]), // another token
        (&*format!("hitloop_worker={WORKER_1}"), vec![("csrf", token.as_str())]), // no cookie to match
    ];
    for (cookies, form) in forged {
        let (status, body, _) = post_raw(&s, &accept, cookies, &form).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("did not come from this site"), "{body}");
    }
    let (status, _, _) = post_raw(&s, "/worker/sign-in", "", &[("worker_id", WORKER_1)]).await;
    assert_eq!(status, 403, "signing in needs the token too");
    assert!(s.running.shared.engine.stats().assignments_accepted == 0, "nothing was accepted");
    let (status, _, location) = post_raw(&s, &accept, &signed_in, &[("csrf", token.as_str())]).await;
    assert_eq!((status, location.unwrap().starts_with("/worker/assignments/")), (303, true));
}

/// The assignment a stream redirect names, and its HIT.
async fn streamed(s: &Service, location: &str) -> (String, String) {
    let assignment = location.trim_start_matches("/worker/assignments/").split('?').next().unwrap().to_string();
    let a = s.running.shared.engine.store().assignment(&assignment).await.unwrap().unwrap();
    (assignment, a.hit_id)
}

#[tokio::test]
async fn the_labeling_stream_brings_one_task_after_another_never_the_same_twice() {
    let s = service(ServerConfig { speed: 0.0, ..Default::default() }).await;
    let hits: Vec<String> = hits_of_one_kind(&s, 3).await;
    let hit_type = s.mturk.get_hit().hit_id(&hits[0]).send().await.unwrap().hit.unwrap().hit_type_id.unwrap();
    // Another kind of HIT, which the stream never brings.
    let other = s
        .mturk
        .create_hit()
        .max_assignments(1)
        .lifetime_in_seconds(3600)
        .assignment_duration_in_seconds(300)
        .reward("0.07")
        .title("Something else")
        .description("Another kind of task")
        .question(plain_question("other"))
        .send()
        .await
        .unwrap()
        .hit
        .unwrap()
        .hit_id
        .unwrap();

    let (_, list) = page(&s, "/worker/", Some(WORKER_1)).await;
    assert!(
        list.contains(&format!(r#"action="/worker/types/{hit_type}/next""#)) && list.contains("Start working"),
        "{list}"
    );
    let next = format!("/worker/types/{hit_type}/next");
    let (status, _, location) = post(&s, &next, Some(WORKER_1), &[]).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(location.ends_with(&format!("?stream={hit_type}")), "{location}");
    let (first, first_hit) = streamed(&s, &location).await;
    let (_, working) = page(&s, &location, Some(WORKER_1)).await;
    assert!(
        working.contains("Labeling") && working.contains("Skip this one") && working.contains("stream-next"),
        "{working}"
    );
    assert!(working.contains(r#"id="time-left" data-seconds="300""#), "{working}");

    // Submitted in the frame; the page asks for the next.
    let (status, body, _) =
        post_raw(&s, "/mturk/externalSubmit", "", &[("assignmentId", &first), ("label", "cat")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"data-submitted="true""#) && body.contains("submitted.js"), "{body}");
    let (_, _, location) = post(&s, &next, Some(WORKER_1), &[]).await;
    let (second, second_hit) = streamed(&s, &location.unwrap()).await;
    assert_ne!(second_hit, first_hit);

    // Skipping gives it back and brings the last one.
    let (status, _, location) = post(&s, &format!("/worker/assignments/{second}/skip"), Some(WORKER_1), &[]).await;
    assert_eq!(status, 303);
    let (_, third_hit) = streamed(&s, &location.unwrap()).await;
    let mut seen = vec![first_hit, second_hit.clone(), third_hit];
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "three different HITs");
    assert!(!seen.contains(&other));
    // Nothing left of that kind (the skipped one is not shown again).
    let (_, _, location) = post(&s, &next, Some(WORKER_1), &[]).await;
    assert!(location.unwrap().starts_with("/worker/?notice=No+more"), "the stream ends");
    // Someone else gets the skipped HIT.
    let (_, _, location) = post(&s, &next, Some(WORKER_2), &[]).await;
    assert_eq!(streamed(&s, &location.unwrap()).await.1, second_hit);
}

/// `n` HITs of one kind.
async fn hits_of_one_kind(s: &Service, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(s.hit(1, "0.05").await.hit_id.unwrap());
    }
    out
}

#[tokio::test]
async fn my_work_shows_each_person_their_own_figures_and_messages_only() {
    let s = service(ServerConfig { speed: 0.0, ..Default::default() }).await;
    let hits = hits_of_one_kind(&s, 3).await;
    let mut approved = Vec::new();
    for h in &hits[..2] {
        approved.push(s.work(h, WORKER_1, "setosa").await);
    }
    for a in &approved {
        s.mturk.approve_assignment().assignment_id(a).send().await.unwrap();
    }
    s.mturk
        .send_bonus()
        .worker_id(WORKER_1)
        .assignment_id(&approved[0])
        .bonus_amount("0.30")
        .reason("fast")
        .send()
        .await
        .unwrap();
    let theirs = s.work(&hits[2], WORKER_2, "versicolor").await;
    s.mturk.reject_assignment().assignment_id(&theirs).requester_feedback("no").send().await.unwrap();
    s.mturk
        .notify_workers()
        .subject("Thanks <3")
        .message_text("New irises on Monday")
        .worker_ids(WORKER_1)
        .send()
        .await
        .unwrap();

    let (status, mine) = page(&s, "/worker/me", Some(WORKER_1)).await;
    assert_eq!(status, 200);
    // Two rewards of $0.05 and a bonus of $0.30.
    assert!(mine.contains("You have earned <strong>$0.40</strong> here (2 approved)"), "{mine}");
    assert!(mine.contains("<th scope=\"row\">Approved</th><td>2</td><td>2</td>"), "all time and this week");
    assert!(mine.contains("Thanks &lt;3") && mine.contains("New irises on Monday"), "the message, escaped");
    assert!(mine.contains(&hits[0]) && !mine.contains(&hits[2]), "their assignments, not another's");

    let (_, theirs_page) = page(&s, "/worker/me", Some(WORKER_2)).await;
    assert!(theirs_page.contains("You have earned <strong>$0.00</strong> here (0 approved)"), "{theirs_page}");
    assert!(theirs_page.contains("<th scope=\"row\">Rejected</th><td>1</td>"));
    assert!(!theirs_page.contains("New irises") && !theirs_page.contains(&hits[0]), "nothing of the other person's");

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = client.get(s.url("/worker/me")).send().await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.headers()["location"].to_str().unwrap()), (303, "/worker/"), "signed out");
}
