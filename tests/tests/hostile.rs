//! Hostile and broken input, against moto server and hitloop-mturk: every
//! case gets a clear error where the user looks and leaves nothing half-done.
//! Workers are untrusted (their answers), manifest authors make mistakes
//! (manifests, job.json, templates, odd keys), and objects vanish.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::invariants::{assignments_of, mturk_client};
use common::*;
use hitloop_core::records::{ItemStatus, JobStatus};
use serde_json::{json, Value};

async fn quiet_stack() -> Stack {
    Stack::new(Options { crowd: None, ..Default::default() }).await
}

/// The problems errors.json lists for a job (asserting the job failed and
/// nothing was created for it).
async fn problems(stack: &Stack, job_id: &str) -> String {
    let job = stack.job(job_id).await.unwrap_or_else(|| panic!("{job_id} has no job record"));
    assert_eq!(job.status, JobStatus::Failed, "{job_id}");
    assert!(job.reason.as_deref().unwrap().contains("errors.json"), "{job_id}: {:?}", job.reason);
    assert!(stack.items(job_id).await.is_empty(), "{job_id}: no item written");
    let errors: Value = serde_json::from_str(&stack.get(&format!("jobs/{job_id}/errors.json")).await.unwrap()).unwrap();
    errors["errors"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_manifests_fail_the_job_with_a_clear_error() {
    let stack = quiet_stack().await;
    let job = iris_job().to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("wrong-columns", b"id,url\na,https://x/1.jpg\n".to_vec()),
        ("ragged", b"id,image_url\na,https://x/1.jpg,extra\nb\n".to_vec()),
        ("not-utf8", b"id,image_url\na,https://x/\xff\xfe.jpg\n".to_vec()),
        ("duplicates", b"id,image_url\na,https://x/1.jpg\na,https://x/2.jpg\n".to_vec()),
        ("empty", Vec::new()),
        ("header-only", b"id,image_url\n".to_vec()),
        ("too-big-row", format!("id,image_url\na,https://x/{}.jpg\n", "y".repeat(70_000)).into_bytes()),
    ];
    for (id, manifest) in &cases {
        stack.put(&format!("jobs/{id}/job.json"), job.clone()).await;
        stack.put(&format!("jobs/{id}/template.html"), iris_template()).await;
        stack.put(&format!("jobs/{id}/manifest.csv"), manifest.clone()).await;
    }
    // a BOM before the header is not part of the first column's name
    stack.put("jobs/bom/job.json", job.clone()).await;
    stack.put("jobs/bom/template.html", iris_template()).await;
    stack.put("jobs/bom/manifest.csv", b"\xef\xbb\xbfid,image_url\na,https://x/1.jpg\n".to_vec()).await;
    stack.router.pump_until_idle(50).await;

    assert!(problems(&stack, "wrong-columns").await.contains("image_url"));
    let ragged = problems(&stack, "ragged").await;
    assert!(ragged.contains("\"line\":2") && ragged.contains("\"line\":3"), "{ragged}");
    assert!(problems(&stack, "not-utf8").await.contains("UTF-8"));
    assert!(problems(&stack, "duplicates").await.contains("used by an earlier row"));
    assert!(problems(&stack, "empty").await.contains("empty"));
    assert!(problems(&stack, "header-only").await.contains("no rows"));
    assert!(problems(&stack, "too-big-row").await.contains("bytes after substitution"));
    let bom = stack.job("bom").await.unwrap();
    assert_eq!((bom.status, bom.items), (JobStatus::Labeling, 1));
    assert_eq!(stack.items("bom").await[0].item_id, "a", "the id column was found behind the BOM");
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 1, "only the good job posted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_gigabyte_manifest_is_refused_without_reading_it() {
    let stack = quiet_stack().await;
    let mut manifest = b"id,image_url\n".to_vec();
    manifest.resize(1 << 30, b'x');
    stack.put("jobs/huge/job.json", iris_job().to_string()).await;
    stack.put("jobs/huge/template.html", iris_template()).await;
    stack.put("jobs/huge/manifest.csv", manifest).await;
    stack.router.pump_until_idle(20).await;
    let text = problems(&stack, "huge").await;
    assert!(text.contains("1073741824 bytes") && text.contains("several jobs"), "{text}");
    stack.s3.delete_object().bucket(&stack.resources.bucket).key("jobs/huge/manifest.csv").send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_job_json_fails_the_job_naming_each_field() {
    let stack = quiet_stack().await;
    let mut out_of_range = iris_job();
    out_of_range["task"]["reward"] = json!("2000.00");
    out_of_range["task"]["lifetime_seconds"] = json!(10);
    out_of_range["task"]["assignment_duration_seconds"] = json!(99_999_999);
    out_of_range["consensus"] = json!({"initial_assignments": 0, "agreement": 2, "max_assignments": 200});
    out_of_range["labels"] = json!(["only-one"]);
    let mut unknown = iris_job();
    unknown["colour"] = json!("blue");
    let cases: Vec<(&str, String, String)> = vec![
        ("not-json", "{\"labels\": [\"a\", \"b\"".into(), iris_template()),
        ("unknown-field", unknown.to_string(), iris_template()),
        ("out-of-range", out_of_range.to_string(), iris_template()),
        ("bad-template", iris_job().to_string(), "<p>no form here, and <b>unclosed".into()),
        (
            "no-field",
            iris_job().to_string(),
            "<crowd-form><crowd-input name=\"other\"></crowd-input></crowd-form>".into(),
        ),
    ];
    for (id, job, template) in &cases {
        stack.put(&format!("jobs/{id}/job.json"), job.clone()).await;
        stack.put(&format!("jobs/{id}/template.html"), template.clone()).await;
        stack.put(&format!("jobs/{id}/manifest.csv"), iris_manifest_every(50)).await;
    }
    stack.router.pump_until_idle(50).await;
    assert!(problems(&stack, "not-json").await.contains("not a valid job"));
    assert!(problems(&stack, "unknown-field").await.contains("colour"));
    let text = problems(&stack, "out-of-range").await;
    for field in [
        "task.reward",
        "task.lifetime_seconds",
        "task.assignment_duration_seconds",
        "consensus.initial_assignments",
        "consensus.max_assignments",
        "labels",
    ] {
        assert!(text.contains(&format!("\"field\":\"{field}\"")), "{field} missing from {text}");
    }
    assert!(problems(&stack, "bad-template").await.contains("template.html"));
    assert!(problems(&stack, "no-field").await.contains("category"));
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 0, "nothing posted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_manifest_values_reaches_the_worker_as_text() {
    let stack = quiet_stack().await;
    let nasty = [
        "<script>alert(1)</script>",
        "\" onerror=\"alert(2)",
        "</textarea><img src=x onerror=alert(3)>",
        "]]><script>alert(4)</script><![CDATA[",
    ];
    let mut csv = String::from("id,image_url\n");
    for (i, v) in nasty.iter().enumerate() {
        csv.push_str(&format!("n{i},\"https://x/{}.jpg\"\n", v.replace('"', "\"\"")));
    }
    stack.submit("markup", &iris_job(), &iris_template(), "manifest.csv", &csv).await;
    stack.router.pump_until_idle(50).await;
    let mturk = mturk_client(&stack.mturk).await;
    for item in stack.items("markup").await {
        let hit = mturk.get_hit().hit_id(item.hit_id.unwrap()).send().await.unwrap().hit.unwrap();
        let question = hit.question().unwrap().to_string();
        // well-formed for MTurk: one CDATA section, closed once, at the end
        assert_eq!(question.matches("]]>").count(), 1, "{question}");
        hitloop_core::xml::parse(&question, &hitloop_core::xml::Limits::QUESTION).unwrap();
        let page = &question[question.find("<![CDATA[").unwrap() + 9..question.find("]]>").unwrap()];
        assert!(!page.contains("<script>alert") && !page.contains("<img src=x"), "{page}");
        assert!(!page.contains("\" onerror="), "{page}");
        assert!(page.contains("&lt;script&gt;") || page.contains("&quot; onerror") || page.contains("&lt;/textarea"));
    }
}

fn task_answers(json_text: &str) -> Value {
    json!({"Fields": [["taskAnswers", json_text]]})
}

fn raw(xml: &str) -> Value {
    json!({"Answer": xml, "Unchecked": true})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_answers_are_kept_as_invalid_and_never_counted() {
    let stack = quiet_stack().await;
    stack.submit("answers", &iris_job(), &iris_template(), "manifest.csv", "id,image_url\nq,https://x/q.jpg\n").await;
    stack.router.pump_until_idle(50).await;
    let hit = stack.items("answers").await[0].hit_id.clone().unwrap();
    let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    let megabytes = format!("[{{\"category\": {{\"label\": \"{}\"}}}}]", "Iris-".repeat(180_000));
    let hostile = vec![
        ("malformed", raw("<QuestionFormAnswers><Answer><QuestionIdentifier>taskAnswers")),
        (
            "billion laughs",
            raw(
                r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><QuestionFormAnswers>&lol3;</QuestionFormAnswers>"#,
            ),
        ),
        (
            "external entity",
            raw(
                r#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><QuestionFormAnswers><Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>&x;</FreeText></Answer></QuestionFormAnswers>"#,
            ),
        ),
        ("deep nesting", raw(&deep)),
        ("megabytes", task_answers(&megabytes)),
        ("not JSON", task_answers("[{\"category\": {\"label\": ")),
        ("outside the set", task_answers(r#"[{"category": {"label": "Iris-imaginaria"}}]"#)),
    ];
    let good = task_answers(r#"[{"category": {"label": "Iris-setosa"}}]"#);
    let mut submitted = 0;
    let mut queue: Vec<(&str, Value)> = hostile.clone();
    queue.push(("good", good.clone()));
    queue.push(("good", good.clone()));
    queue.reverse();
    // Each answer as a new worker, as hitloop buys slots: invalid answers make it buy more.
    for round in 0..40 {
        let Some((_, answer)) = queue.last().cloned() else { break };
        if stack.work(&hit, &format!("AHOSTILE{round:02}"), &answer).await {
            queue.pop();
            submitted += 1;
        }
        stack.flush().await;
        stack.router.pump_until_idle(20).await;
    }
    assert_eq!(submitted, 9, "every answer found a slot: {}", stack.stuck("answers").await);
    let item = &stack.items("answers").await[0];
    assert_eq!((item.status, item.label.as_deref(), item.agreed), (ItemStatus::Labeled, Some("Iris-setosa"), 2));
    let answers = stack.answers("answers", "q").await;
    assert_eq!(answers.len(), 9);
    let invalid: Vec<&str> = answers.iter().filter_map(|a| a.invalid_reason.as_deref()).collect();
    assert_eq!(invalid.len(), 7, "{invalid:?}");
    for reason in &invalid {
        assert!(reason.len() < 400, "a reason quotes at most a little of the answer: {} bytes", reason.len());
    }
    let all = invalid.join("\n");
    for expected in ["DOCTYPE", "not JSON", "not one of the job's labels", "unreadable"] {
        assert!(all.contains(expected), "{expected} in {all}");
    }
    // Approved, all nine (work is paid for, whatever its content), nothing left to auto-approve.
    let list = assignments_of(&stack, &hit).await;
    assert_eq!(list.len(), 9);
    assert!(list.iter().all(|(s, _)| s == "Approved"), "{list:?}");
    let job = stack.job("answers").await.unwrap();
    assert_eq!((job.status, job.answers, job.spent.cents()), (JobStatus::Complete, 9, 54));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_to_a_hit_hitloop_did_not_create_are_left_alone() {
    let stack = quiet_stack().await;
    let mturk = mturk_client(&stack.mturk).await;
    // someone else's HIT on the same account, notifying the same queue
    let hit_type = mturk
        .create_hit_type()
        .title("Not hitloop's")
        .description("Another requester tool")
        .reward("0.05")
        .assignment_duration_in_seconds(300)
        .send()
        .await
        .unwrap()
        .hit_type_id
        .unwrap();
    mturk
        .update_notification_settings()
        .hit_type_id(&hit_type)
        .active(true)
        .notification(stack.notification_spec())
        .send()
        .await
        .unwrap();
    let question = format!(
        "<HTMLQuestion xmlns=\"http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd\"><HTMLContent><![CDATA[{}]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>",
        "<!DOCTYPE html><html><body><form><input name=\"x\"></form></body></html>"
    );
    let hit = mturk
        .create_hit_with_hit_type()
        .hit_type_id(&hit_type)
        .max_assignments(1)
        .lifetime_in_seconds(3600)
        .question(question)
        .send()
        .await
        .unwrap()
        .hit
        .unwrap()
        .hit_id
        .unwrap();
    assert!(stack.work(&hit, "AFOREIGN", &json!({"Fields": [["x", "y"]]})).await);
    stack.flush().await;
    let pumped = stack.router.pump_until_idle(20).await;
    assert!(pumped.notifications >= 1, "the notification reached collect");
    assert_eq!(assignments_of(&stack, &hit).await, vec![("Submitted".to_string(), "AFOREIGN".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_keys_vanished_objects_and_foreign_events() {
    let stack = quiet_stack().await;
    // a key with a space, unicode and '+': S3 sends it form-encoded; the
    // refusal lands next to the upload, under the key as the user wrote it
    let odd = "jobs/Ünï cödé+1";
    stack.put(&format!("{odd}/job.json"), iris_job().to_string()).await;
    stack.put(&format!("{odd}/manifest.csv"), iris_manifest_every(50)).await;
    // deleted before ingest reads it
    stack.put("jobs/gone/job.json", iris_job().to_string()).await;
    stack.put("jobs/gone/template.html", iris_template()).await;
    stack.put("jobs/gone/manifest.csv", iris_manifest_every(50)).await;
    stack.s3.delete_object().bucket(&stack.resources.bucket).key("jobs/gone/manifest.csv").send().await.unwrap();
    stack.router.pump_until_idle(50).await;

    let errors = stack.get(&format!("{odd}/errors.json")).await.expect("errors.json next to the odd upload");
    assert!(errors.contains("only letters, digits"), "{errors}");
    assert!(stack.job("gone").await.is_none(), "nothing created for a manifest that is gone");
    assert!(stack.get("jobs/gone/errors.json").await.is_none());

    // events that are not S3's, and an S3 test event
    for payload in [json!({"hello": "world"}), json!({"Event": "s3:TestEvent", "Bucket": "b"}), json!("text")] {
        let out = ingest::handler::handle(
            &stack.functions().ingest,
            lambda_runtime::LambdaEvent::new(payload, Default::default()),
        )
        .await
        .unwrap();
        assert!(out.is_object());
    }
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 0);
}
