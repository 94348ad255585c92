//! The worker page in a real browser: headless Chromium (Debian's chromium
//! and chromium-driver, installed by `make test`) driven over WebDriver. Two
//! people sign in, preview, accept and answer an iris HIT through its
//! crowd-form page; their answers reach DynamoDB through the normal
//! notification path and decide the item. Screenshots of the list and the
//! task are saved in local/.run/screenshots/.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::chromium::{browser, chromedriver, label_in_the_stream, screenshots};
use common::invariants::assignments_of;
use common::webdriver::{Browser, By};
use common::*;
use hitloop_core::records::ItemStatus;

/// Signs in as `worker`, previews `hit`, accepts it and answers `label`.
async fn do_the_hit(c: &Browser, base: &str, worker: &str, hit: &str, label: &str, shots: bool) {
    c.goto(&format!("{base}/worker/")).await.unwrap();
    if c.find(By::Css("form[action='/worker/sign-out'] button")).await.is_ok() {
        c.find(By::Css("form[action='/worker/sign-out'] button")).await.unwrap().click().await.unwrap();
    }
    let id = c.wait_for(By::Id("worker-id")).await.unwrap();
    id.send_keys(worker).await.unwrap();
    c.find(By::Css("form[action='/worker/sign-in'] button")).await.unwrap().click().await.unwrap();
    let preview = c.wait_for(By::Css(&format!("a[href='/worker/hits/{hit}']"))).await.unwrap();
    let list = c.source().await.unwrap();
    assert!(list.contains("Classify the iris") && list.contains("$0.05"), "grouped with reward: {list}");
    assert!(list.contains(&format!("Signed in as <strong>{worker}</strong>")));
    if shots {
        std::fs::write(screenshots().join("worker-list.png"), c.screenshot().await.unwrap()).unwrap();
    }
    preview.click().await.unwrap();

    // The preview: the task in its sandboxed frame, submit disabled there.
    let frame = c.wait_for(By::Css("iframe[sandbox='allow-scripts allow-forms']")).await.unwrap();
    let src = frame.attr("src").await.unwrap().unwrap();
    assert!(src.contains("assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE") && src.contains(&format!("hitId={hit}")), "{src}");
    c.enter_frame(&frame).await.unwrap();
    let button = c.wait_for(By::Css("crowd-form button[type='submit']")).await.unwrap();
    assert!(button.attr("disabled").await.unwrap().is_some(), "no submitting from a preview");
    c.enter_parent_frame().await.unwrap();
    c.find(By::Css(&format!("form[action='/worker/hits/{hit}/accept'] button"))).await.unwrap().click().await.unwrap();

    // Working (once the page has loaded: only it has a return button): the
    // frame has the assignment, the worker and where to submit.
    c.wait_for(By::Css("form[action$='/return'] button")).await.unwrap();
    let frame = c.find(By::Css("iframe")).await.unwrap();
    let src = frame.attr("src").await.unwrap().unwrap();
    assert!(src.contains(&format!("workerId={worker}")) && src.contains("turkSubmitTo=http"), "{src}");
    assert!(!src.contains("ASSIGNMENT_ID_NOT_AVAILABLE"), "{src}");
    assert!(c.find(By::Css("form[action$='/return'] button")).await.is_ok(), "a return button");
    c.enter_frame(&frame).await.unwrap();
    // submitting without a choice is refused in the page, with an alert
    c.wait_for(By::Css("crowd-form button[type='submit']")).await.unwrap().click().await.unwrap();
    let alert = c.wait_for(By::Css("p[role='alert']")).await.unwrap();
    assert!(alert.text().await.unwrap().contains("Choose an answer"));
    // choose by the label's text, as a person would
    let choice = c.find(By::XPath(&format!("//label[normalize-space()='{label}']"))).await.unwrap();
    choice.click().await.unwrap();
    if shots {
        c.enter_parent_frame().await.unwrap();
        std::fs::write(screenshots().join("worker-task.png"), c.screenshot().await.unwrap()).unwrap();
        c.enter_frame(&frame).await.unwrap();
    }
    c.find(By::Css("crowd-form button[type='submit']")).await.unwrap().click().await.unwrap();
    let result = c.wait_for(By::Id("submit-result")).await.unwrap();
    assert!(result.text().await.unwrap().contains("submitted"), "{}", c.source().await.unwrap());
    c.enter_parent_frame().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_do_an_iris_hit_in_a_browser_and_their_answers_decide_the_item() {
    // No simulated crowd: only the people in this test work.
    let stack = Stack::new(Options { crowd: None, ..Default::default() }).await;
    stack.submit("people", &iris_job(), &iris_template(), "manifest.csv", &iris_manifest_every(50)).await;
    stack.router.pump_until_idle(50).await;
    let item = stack.item("people", "iris-000").await.unwrap();
    let hit = item.hit_id.clone().unwrap();
    let truth = iris_truth();
    let label = truth["iris-000"].clone();

    let driver = chromedriver().await;
    let c = browser(&driver).await;
    let base = stack.mturk.url.clone();

    // Escaping: a sign-in with markup is refused and shown as text.
    c.goto(&format!("{base}/worker/")).await.unwrap();
    c.wait_for(By::Id("worker-id")).await.unwrap().send_keys("<img src=x>").await.unwrap();
    c.execute("document.getElementById('worker-id').removeAttribute('pattern')").await.unwrap();
    c.find(By::Css("form[action='/worker/sign-in'] button")).await.unwrap().click().await.unwrap();
    // the refusal page, once it has loaded (a click does not wait for the navigation)
    c.wait_for(By::Css("p.error[role='alert']")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("&lt;img src=x&gt;") && !page.contains("<img src=x>"), "{page}");

    do_the_hit(&c, &base, "AHUMANONE", &hit, &label, true).await;
    stack.flush().await;
    stack.router.pump_until_idle(50).await;
    let answers = stack.answers("people", "iris-000").await;
    assert_eq!(answers.len(), 1, "the answer reached DynamoDB through the notification");
    assert_eq!((answers[0].worker_id.as_str(), answers[0].label.as_deref()), ("AHUMANONE", Some(label.as_str())));

    // The same person cannot take the same HIT twice: it is not offered again.
    c.goto(&format!("{base}/worker/")).await.unwrap();
    let list = c.source().await.unwrap();
    assert!(!list.contains(&format!("href=\"/worker/hits/{hit}\"")), "{list}");

    // A second person: accepts another HIT and returns it, then answers ours.
    let other = stack.item("people", "iris-050").await.unwrap().hit_id.unwrap();
    c.goto(&format!("{base}/worker/")).await.unwrap();
    c.find(By::Css("form[action='/worker/sign-out'] button")).await.unwrap().click().await.unwrap();
    c.wait_for(By::Id("worker-id")).await.unwrap().send_keys("AHUMANTWO").await.unwrap();
    c.find(By::Css("form[action='/worker/sign-in'] button")).await.unwrap().click().await.unwrap();
    c.wait_for(By::Css(&format!("a[href='/worker/hits/{other}']"))).await.unwrap().click().await.unwrap();
    c.wait_for(By::Css(&format!("form[action='/worker/hits/{other}/accept'] button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait_for(By::Css("form[action$='/return'] button")).await.unwrap().click().await.unwrap();
    let notice = c.wait_for(By::Css("p[role='status']")).await.unwrap();
    assert!(notice.text().await.unwrap().contains("returned"));
    assert_eq!(assignments_of(&stack, &other).await.len(), 0, "a returned assignment is not listed");

    do_the_hit(&c, &base, "AHUMANTWO", &hit, &label, false).await;
    stack.flush().await;
    stack.router.pump_until_idle(50).await;
    let item = stack.item("people", "iris-000").await.unwrap();
    assert_eq!((item.status, item.label.as_deref(), item.agreed), (ItemStatus::Labeled, Some(label.as_str()), 2));
    let list = assignments_of(&stack, &hit).await;
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|(s, _)| s == "Approved"), "hitloop approved the people's work: {list:?}");
    c.close().await.unwrap();
    for shot in ["worker-list.png", "worker-task.png"] {
        assert!(std::fs::metadata(screenshots().join(shot)).unwrap().len() > 1000, "{shot} saved");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_labels_five_irises_in_the_stream_with_the_keyboard_only() {
    let stack = Stack::new(Options { crowd: None, ..Default::default() }).await;
    stack.submit("stream", &iris_job(), &iris_template(), "manifest.csv", &iris_manifest_every(30)).await;
    stack.router.pump_until_idle(50).await;
    let items = stack.items("stream").await;
    assert_eq!(items.len(), 5);
    let truth = iris_truth();
    let label_of_hit = |hit: &str| {
        let item = items.iter().find(|i| i.hit_id.as_deref() == Some(hit)).unwrap();
        truth[&item.item_id].clone()
    };
    let driver = chromedriver().await;
    let c = browser(&driver).await;
    let base = stack.mturk.url.clone();
    c.goto(&format!("{base}/worker/")).await.unwrap();
    // Keys only: type the id and press Enter; then Enter on "Start working".
    c.wait_for(By::Id("worker-id")).await.unwrap().send_keys("AKEYBOARDONLY\u{E007}").await.unwrap();
    let start = c.wait_for(By::Css("form.start button")).await.unwrap();
    start.send_keys("\u{E007}").await.unwrap();

    label_in_the_stream(&c, 5, label_of_hit, Some("worker-stream.png")).await;
    // After the fifth, nothing of that kind is left: back to the list.
    let notice = c.wait_for(By::Css("p.notice[role='status']")).await.unwrap();
    assert!(notice.text().await.unwrap().contains("No more HITs"), "{}", c.source().await.unwrap());
    c.close().await.unwrap();

    stack.flush().await;
    stack.router.pump_until_idle(50).await;
    for item in stack.items("stream").await {
        let answers = stack.answers("stream", &item.item_id).await;
        assert_eq!(answers.len(), 1, "{}", item.item_id);
        assert_eq!(answers[0].worker_id, "AKEYBOARDONLY");
        assert_eq!(answers[0].label.as_deref(), Some(truth[&item.item_id].as_str()), "{}", item.item_id);
    }
}
