//! ingest and publish on their own: invalid input fails the job with every
//! problem listed and nothing posted; the same upload twice creates nothing
//! twice; a budget pauses the job before it is overspent; a manifest sorted
//! by class is posted shuffled.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::BTreeMap;

use common::*;
use hitloop_core::records::JobStatus;
use serde_json::{json, Value};

async fn quiet_stack() -> Stack {
    Stack::new(Options { crowd: None, ..Default::default() }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_fails_the_job_with_every_problem_and_posts_nothing() {
    let stack = quiet_stack().await;
    let manifest = "id,image_url\na,https://x/1.jpg\na,https://x/2.jpg\nb\nc,https://x/3.jpg,extra\n";
    let template = "<crowd-form><crowd-image-classifier name=\"category\" src=\"${image_url}\" title=\"${caption}\"></crowd-image-classifier></crowd-form>";
    stack.submit("broken", &iris_job(), template, "manifest.csv", manifest).await;
    stack.router.pump_until_idle(20).await;
    let job = stack.job("broken").await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.reason.as_deref().unwrap().contains("errors.json"), "{:?}", job.reason);
    let errors: Value = serde_json::from_str(&stack.get("jobs/broken/errors.json").await.unwrap()).unwrap();
    let lines: Vec<u64> = errors["errors"].as_array().unwrap().iter().filter_map(|e| e["line"].as_u64()).collect();
    assert!(lines.contains(&3), "duplicate id on line 3: {errors}");
    assert!(lines.contains(&4), "ragged row on line 4: {errors}");
    assert!(lines.contains(&5), "ragged row on line 5: {errors}");
    let text = errors.to_string();
    assert!(text.contains("caption"), "a placeholder with no column: {text}");
    assert!(stack.items("broken").await.is_empty(), "no item written");
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 0, "no HIT posted");

    // fix it and upload again: the job starts
    stack.put("jobs/broken/template.html", iris_template()).await;
    stack.put("jobs/broken/manifest.csv", "id,image_url\na,https://x/1.jpg\nb,https://x/2.jpg\n").await;
    stack.router.pump_until_idle(20).await;
    let job = stack.job("broken").await.unwrap();
    assert_eq!((job.status, job.items), (JobStatus::Labeling, 2));
    assert!(stack.get("jobs/broken/errors.json").await.is_none(), "the stale report is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_job_json_is_reported_with_its_fields() {
    let stack = quiet_stack().await;
    let job = json!({"labels": ["only-one"], "task": {"reward": "0.001"}, "colour": "blue"});
    stack.submit("badjob", &job, &iris_template(), "manifest.csv", &iris_manifest()).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("badjob").await.unwrap().status, JobStatus::Failed);
    let errors = stack.get("jobs/badjob/errors.json").await.unwrap();
    assert!(errors.contains("job.json"), "{errors}");

    let job = json!({"labels": ["a"], "consensus": {"initial_assignments": 2, "agreement": 2, "max_assignments": 12}});
    stack.submit("badjob2", &job, &iris_template(), "manifest.csv", &iris_manifest()).await;
    stack.router.pump_until_idle(20).await;
    let errors: Value = serde_json::from_str(&stack.get("jobs/badjob2/errors.json").await.unwrap()).unwrap();
    let fields: Vec<&str> = errors["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert!(fields.contains(&"labels") && fields.contains(&"consensus.max_assignments"), "{errors}");

    // no job.json at all
    stack.put("jobs/nojob/manifest.csv", iris_manifest()).await;
    stack.router.pump_until_idle(20).await;
    assert!(stack.get("jobs/nojob/errors.json").await.unwrap().contains("no job.json"));
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_upload_twice_creates_nothing_twice() {
    let stack = quiet_stack().await;
    stack.submit("twice", &iris_job(), &iris_template(), "manifest.csv", &iris_manifest()).await;
    stack.router.pump_until_idle(100).await;
    // the same manifest again, and the same S3 event again
    stack.put("jobs/twice/manifest.csv", iris_manifest()).await;
    stack.router.pump_until_idle(100).await;
    let event = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": stack.resources.bucket}, "object": {"key": "jobs/twice/manifest.csv"}}}]});
    ingest::handler::handle(&stack.functions().ingest, lambda_runtime::LambdaEvent::new(event, Default::default()))
        .await
        .unwrap();
    stack.router.pump_until_idle(100).await;
    let job = stack.job("twice").await.unwrap();
    assert_eq!((job.items, job.status), (150, JobStatus::Labeling));
    assert_eq!(stack.items("twice").await.len(), 150);
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 150);
    assert_eq!(job.assignments_bought, 300);

    // a different manifest for a live job is refused, and says so
    stack.put("jobs/twice/manifest.csv", "id,image_url\nz,https://x/z.jpg\n").await;
    stack.router.pump_until_idle(20).await;
    assert!(stack.get("jobs/twice/upload-refused.json").await.unwrap().contains("one manifest"));
    assert_eq!(stack.job("twice").await.unwrap().items, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_pauses_the_job_before_it_is_overspent() {
    let stack = quiet_stack().await;
    let mut job = iris_job();
    job["budget_usd"] = json!("1.00"); // 8 items of 2 x $0.06
    let manifest: String = iris_manifest().lines().take(21).map(|l| format!("{l}\n")).collect();
    stack.submit("thrifty", &job, &iris_template(), "manifest.csv", &manifest).await;
    stack.router.pump_until_idle(50).await;
    let job = stack.job("thrifty").await.unwrap();
    assert_eq!(job.status, JobStatus::Paused);
    assert!(job.reason.as_deref().unwrap().starts_with("budget"), "{:?}", job.reason);
    assert!(job.reserved.cents() <= 100, "reserved {}", job.reserved);
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonl_manifests_and_an_empty_balance() {
    let stack = Stack::new(Options { crowd: None, balance: "0.10", ..Default::default() }).await;
    let jsonl = "{\"id\": \"one\", \"image_url\": \"https://x/1.jpg\"}\n{\"id\": \"two\", \"image_url\": \"https://x/2.jpg\"}\n";
    stack.submit("lines", &iris_job(), &iris_template(), "manifest.jsonl", jsonl).await;
    stack.router.pump_until_idle(50).await;
    let job = stack.job("lines").await.unwrap();
    assert_eq!(job.items, 2);
    assert_eq!(job.status, JobStatus::Paused, "$0.10 cannot pay for 2 x $0.06");
    assert!(job.reason.as_deref().unwrap().starts_with("balance"), "{:?}", job.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_settings_that_cannot_work_are_refused_before_anything_is_spent() {
    let stack = quiet_stack().await;
    // features default to every column but id: image_url is text, and the
    // built-in algorithms' layout needs numbers
    let job = with_training(iris_job(), json!({ "sagemaker": {} }));
    stack.submit("textfeature", &job, &iris_template(), "manifest.csv", &iris_manifest()).await;
    // settings out of SageMaker's range
    let job = with_training(
        iris_job(),
        json!({ "features": FEATURES, "sagemaker": { "instance_count": 0, "role_arn": "admin", "algorithm": "magic" } }),
    );
    stack.submit("badtraining", &job, &iris_template(), "manifest.csv", &iris_manifest()).await;
    // a feature the manifest does not have (checked once job.json itself is valid)
    let job = with_training(iris_job(), json!({ "features": ["petal_length", "petal_colour"] }));
    stack.submit("nocolumn", &job, &iris_template(), "manifest.csv", &iris_manifest()).await;
    stack.router.pump_until_idle(20).await;

    let job = stack.job("textfeature").await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let errors = stack.get("jobs/textfeature/errors.json").await.unwrap();
    assert!(errors.contains("image_url") && errors.contains("not a number"), "{errors}");

    let job = stack.job("badtraining").await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let errors: Value = serde_json::from_str(&stack.get("jobs/badtraining/errors.json").await.unwrap()).unwrap();
    let fields: Vec<&str> = errors["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    for f in ["training.sagemaker.instance_count", "training.sagemaker.role_arn", "training.sagemaker.algorithm"] {
        assert!(fields.contains(&f), "{f} missing from {errors}");
    }
    let errors: Value = serde_json::from_str(&stack.get("jobs/nocolumn/errors.json").await.unwrap()).unwrap();
    assert_eq!(errors["errors"][0]["field"], "training.features", "{errors}");
    assert!(errors.to_string().contains("petal_colour"));
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 0, "nothing posted");
}

/// An ingest that wrote every item but died before its last step is
/// redelivered after publish posted the items: writing them again must leave
/// them posted (conditional writes), and nothing is posted twice. Then two
/// ingests of one upload at once, with publish running between their writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_ingests_never_put_a_posted_item_back() {
    use common::crash::{Crashes, When};
    let crashes = std::sync::Arc::new(Crashes::default().at("transition", When::Before, 1, 1));
    let stack = Stack::new(Options { crowd: None, crashes: Some(crashes.clone()), ..Default::default() }).await;
    stack.put("jobs/resumed/job.json", iris_job().to_string()).await;
    stack.put("jobs/resumed/template.html", iris_template()).await;
    stack.put("jobs/resumed/manifest.csv", iris_manifest()).await;
    // The uploads' events are handled here, by hand, not by the router.
    aws_sdk_sqs::Client::new(&stack.sdk)
        .purge_queue()
        .queue_url(&stack.resources.upload_queue_url)
        .send()
        .await
        .unwrap();
    let event = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": stack.resources.bucket}, "object": {"key": "jobs/resumed/manifest.csv"}}}]});
    let invoke = || {
        ingest::handler::handle(
            &stack.functions().ingest,
            lambda_runtime::LambdaEvent::new(event.clone(), Default::default()),
        )
    };
    // Ingest writes all 150 items, and dies before the job is labeling.
    assert!(invoke().await.is_err());
    assert_eq!(crashes.fired("transition"), 1);
    assert_eq!(stack.job("resumed").await.unwrap().status, JobStatus::Publishing);
    stack.router.pump_until_idle(100).await;
    let items = stack.items("resumed").await;
    assert!(items.iter().all(|i| i.hit_id.is_some()), "publish posted every item");
    // The event redelivered: the same manifest resumes the ingest.
    let redelivered = invoke();
    let out = redelivered.await.unwrap();
    assert_eq!(out["results"][0]["accepted"], 150, "{out}");
    stack.router.pump_until_idle(100).await;
    let brief = |items: &[hitloop_core::records::Item]| -> Vec<(String, String, Option<String>, u64)> {
        items.iter().map(|i| (i.item_id.clone(), i.status.as_str().into(), i.hit_id.clone(), i.version)).collect()
    };
    let after = stack.items("resumed").await;
    assert_eq!(brief(&after), brief(&items), "every item as publish left it");
    let job = stack.job("resumed").await.unwrap();
    assert_eq!((job.status, job.assignments_bought), (JobStatus::Labeling, 300));
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 150);

    // Two ingests of one upload at once, publish consuming between them.
    stack.put("jobs/race2/job.json", iris_job().to_string()).await;
    stack.put("jobs/race2/template.html", iris_template()).await;
    stack.put("jobs/race2/manifest.csv", iris_manifest()).await;
    let event = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": stack.resources.bucket}, "object": {"key": "jobs/race2/manifest.csv"}}}]});
    let once = || {
        ingest::handler::handle(
            &stack.functions().ingest,
            lambda_runtime::LambdaEvent::new(event.clone(), Default::default()),
        )
    };
    let publishing = async {
        for _ in 0..20 {
            stack.router.pump_once().await;
        }
    };
    let (a, b, ()) = tokio::join!(once(), once(), publishing);
    a.unwrap();
    b.unwrap();
    stack.router.pump_until_idle(100).await;
    let items = stack.items("race2").await;
    assert_eq!(items.len(), 150);
    assert!(items.iter().all(|i| i.hit_id.is_some() && i.rounds == 1), "each posted, reserved once");
    assert_eq!(stack.job("race2").await.unwrap().assignments_bought, 300);
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 300, "150 for each job, none twice");
}

/// The species of a job's items in the order their HITs were created.
async fn posted_species(stack: &Stack, job_id: &str) -> Vec<String> {
    let species: BTreeMap<String, String> =
        iris().into_iter().map(|(id, _, s, _)| (hitloop_core::ids::annotation(job_id, &id), s)).collect();
    common::invariants::all_hits(stack)
        .await
        .into_iter()
        .filter_map(|(_, annotation, _)| species.get(&annotation).cloned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_sorted_by_class_is_posted_shuffled_unless_the_job_asks_for_its_order() {
    let stack = quiet_stack().await;
    // iris.csv is sorted: 50 setosas, then 50 versicolors, then 50 virginicas.
    let mut mixed = iris_job();
    mixed.as_object_mut().unwrap().remove("publish_order"); // the default
    stack.submit("mixed", &mixed, &iris_template(), "manifest.csv", &iris_manifest()).await;
    let mut in_order = iris_job();
    in_order["publish_order"] = json!("manifest");
    stack.submit("sorted", &in_order, &iris_template(), "manifest.csv", &iris_manifest()).await;
    stack.router.pump_until_idle(50).await;

    let mixed = posted_species(&stack, "mixed").await;
    assert_eq!(mixed.len(), 150, "every item posted once");
    for s in ["Iris-setosa", "Iris-versicolor", "Iris-virginica"] {
        let early = mixed[..30].iter().filter(|x| x.as_str() == s).count();
        assert!(early >= 4, "{s}: {early} of the first 30 HITs: {mixed:?}");
    }
    let sorted = posted_species(&stack, "sorted").await;
    assert_eq!(sorted.len(), 150);
    assert!(sorted[..30].iter().all(|s| s == "Iris-setosa"), "the manifest's order: {sorted:?}");

    // An unknown order is refused with the field named, before anything is posted.
    let mut bad = iris_job();
    bad["publish_order"] = json!("alphabetical");
    stack.submit("badorder", &bad, &iris_template(), "manifest.csv", &iris_manifest()).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("badorder").await.unwrap().status, JobStatus::Failed);
    let errors = stack.get("jobs/badorder/errors.json").await.unwrap();
    assert!(errors.contains("publish_order") || errors.contains("alphabetical"), "{errors}");
    assert!(posted_species(&stack, "badorder").await.is_empty());
}
