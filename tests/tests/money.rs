//! Money, against moto server and hitloop-mturk: a budget is a hard ceiling
//! under concurrency, a job that runs out pauses with a clear status and
//! resumes when job.json raises the budget (or after the account is topped
//! up), and what an item no longer needs goes back to the budget.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::invariants::{all_hits, charged, check_invariants};
use common::*;
use futures::future::join_all;
use hitloop_core::messages::PublishItem;
use hitloop_core::money::Usd;
use hitloop_core::records::JobStatus;
use hitloop_pipeline::steps::publish::publish;
use serde_json::{json, Value};

fn budgeted(budget: &str) -> Value {
    let mut job = iris_job();
    job["budget_usd"] = json!(budget);
    job
}

/// What MTurk holds against the job: every assignment sold, at $0.06.
async fn sold(stack: &Stack) -> Usd {
    let n: u32 = all_hits(stack).await.iter().map(|(_, _, m)| m).sum();
    Usd::from_cents(6).times(i64::from(n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_holds_under_concurrency_and_raising_it_resumes_the_job() {
    let stack = Stack::new(Options::default()).await;
    // 30 items need $3.60 to start; $1.00 buys 8 of them (2 x $0.06 each)
    stack.put("jobs/thrift/job.json", budgeted("1.00").to_string()).await;
    stack.put("jobs/thrift/template.html", iris_template()).await;
    stack.put("jobs/thrift/manifest.csv", iris_manifest_every(5)).await;
    let event = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": stack.resources.bucket}, "object": {"key": "jobs/thrift/manifest.csv"}}}]});
    ingest::handler::handle(&stack.functions().ingest, lambda_runtime::LambdaEvent::new(event, Default::default()))
        .await
        .unwrap();
    // every item published at once, twice over: 60 racing publish calls
    let items = stack.items("thrift").await;
    let calls = items.iter().chain(items.iter()).map(|i| {
        let msg = PublishItem { job_id: "thrift".into(), item_id: i.item_id.clone() };
        let deps = stack.functions().publish.clone();
        async move { publish(&deps, &msg).await.unwrap() }
    });
    join_all(calls).await;
    stack.router.pump_until_idle(100).await;
    let job = stack.job("thrift").await.unwrap();
    assert_eq!(job.status, JobStatus::Paused);
    let reason = job.reason.clone().unwrap();
    assert!(reason.starts_with("budget") && reason.contains("job.json"), "{reason}");
    assert!(job.reserved <= Usd::from_cents(100), "reserved {}", job.reserved);
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 8, "8 x $0.12 fit in $1.00");
    assert!(sold(&stack).await <= Usd::from_cents(100));

    // A paused job buys nothing, whatever time brings.
    stack.run_until_settled("thrift", false, 30).await;
    assert!(sold(&stack).await <= Usd::from_cents(100));
    assert!(charged(&stack).await <= Usd::from_cents(100));

    // $3.70: every item starts, and the job pauses again when disagreements
    // need more than the $0.10 left.
    stack.put("jobs/thrift/job.json", budgeted("3.70").to_string()).await;
    stack.router.pump_until_idle(100).await;
    let job = stack.run_until_settled("thrift", true, 400).await;
    assert_eq!(job.status, JobStatus::Paused, "{:?}", job.reason);
    assert_eq!(stack.mturk_state().await["Stats"]["hits_created"], 30);
    assert!(job.reserved <= Usd::from_cents(370) && sold(&stack).await <= Usd::from_cents(370));

    // Enough now: the job goes on from where it stopped and finishes.
    stack.put("jobs/thrift/job.json", budgeted("20.00").to_string()).await;
    stack.router.pump_until_idle(100).await;
    assert_eq!(stack.job("thrift").await.unwrap().status, JobStatus::Labeling);
    let job = stack.run_until_settled("thrift", true, 400).await;
    assert_eq!(job.status, JobStatus::Complete, "{:?} {}", job.reason, stack.stuck("thrift").await);
    stack.router.pump_until_idle(100).await;
    let job = check_invariants(&stack, "thrift").await;
    assert_eq!(charged(&stack).await, job.spent);
    assert_eq!(job.reserved, job.spent, "nothing outstanding: every reserved cent was spent or given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_json_for_a_live_job_may_change_the_budget_only() {
    let stack = Stack::new(Options { crowd: None, ..Default::default() }).await;
    stack.submit("fixed", &budgeted("50.00"), &iris_template(), "manifest.csv", &iris_manifest_every(10)).await;
    stack.router.pump_until_idle(100).await;
    let before = stack.job("fixed").await.unwrap();
    assert_eq!(before.status, JobStatus::Labeling);

    let mut changed = budgeted("60.00");
    changed["task"]["reward"] = json!("0.10");
    changed["labels"] = json!(["a", "b"]);
    stack.put("jobs/fixed/job.json", changed.to_string()).await;
    stack.put("jobs/other/job.json", "{ not json").await; // no job yet: job.json waits for its manifest
    stack.router.pump_until_idle(20).await;
    let refused: Value = serde_json::from_str(&stack.get("jobs/fixed/upload-refused.json").await.unwrap()).unwrap();
    let fields: Vec<&str> = refused["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, vec!["labels", "task.reward"], "{refused}");
    let after = stack.job("fixed").await.unwrap();
    assert_eq!((after.spec.clone(), after.status), (before.spec.clone(), JobStatus::Labeling), "nothing changed");
    assert!(stack.get("jobs/other/errors.json").await.is_none());

    // invalid JSON is refused the same way
    stack.put("jobs/fixed/job.json", "{\"labels\": ").await;
    stack.router.pump_until_idle(20).await;
    assert!(stack.get("jobs/fixed/upload-refused.json").await.unwrap().contains("not a valid job"));

    // the budget alone is taken, and the refusal note goes
    stack.put("jobs/fixed/job.json", budgeted("60.00").to_string()).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("fixed").await.unwrap().spec.budget_usd, Some(Usd::from_cents(6000)));
    assert!(stack.get("jobs/fixed/upload-refused.json").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_account_pauses_the_job_and_a_top_up_resumes_it() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), balance: "0.50", ..Default::default() }).await;
    stack.submit("broke", &iris_job(), &iris_template(), "manifest.csv", &iris_manifest_every(15)).await;
    stack.router.pump_until_idle(100).await;
    let job = stack.job("broke").await.unwrap();
    assert_eq!(job.status, JobStatus::Paused);
    let reason = job.reason.unwrap();
    assert!(reason.starts_with("balance") && reason.contains("upload job.json again"), "{reason}");
    let state = stack.mturk_state().await;
    assert_eq!(state["Stats"]["hits_created"], 4, "4 x $0.12 fit in $0.50: {state}");

    stack.deposit("20.00").await;
    stack.put("jobs/broke/job.json", iris_job().to_string()).await; // the same job.json: resume
    stack.router.pump_until_idle(100).await;
    let job = stack.run_until_settled("broke", true, 400).await;
    assert_eq!(job.status, JobStatus::Complete, "{:?}", job.reason);
    stack.router.pump_until_idle(100).await;
    let job = check_invariants(&stack, "broke").await;
    assert_eq!(job.items, 10);
    assert_eq!(charged(&stack).await, job.spent);
}

/// Two workers who always agree: a third assignment of an item is never needed.
const PAIR: &str = r#"
seed = 3
[[group]]
name = "pair"
count = 2
accuracy = 1.0
work_seconds = { median = 20, spread = 0.2 }
pause_seconds = { median = 5, spread = 0.2 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_funds_from_mturk_while_buying_more_pauses_the_job() {
    // one assignment first, two must agree: every item buys a second one with
    // CreateAdditionalAssignmentsForHIT, and MTurk refuses when the money runs out
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), balance: "0.80", ..Default::default() }).await;
    let mut job = iris_job();
    job["consensus"] = json!({ "initial_assignments": 1, "agreement": 2, "max_assignments": 5 });
    stack.submit("dry", &job, &iris_template(), "manifest.csv", &iris_manifest_every(15)).await;
    let job = stack.run_until_settled("dry", false, 120).await;
    assert_eq!(job.status, JobStatus::Paused);
    let reason = job.reason.unwrap();
    assert!(reason.starts_with("balance: This Requester has insufficient funds"), "MTurk's refusal: {reason}");
    let state = stack.mturk_state().await;
    assert_eq!(state["Stats"]["hits_created"], 10, "{state}");
    assert!(charged(&stack).await <= Usd::from_cents(80));
    assert!(state["Account"]["Available"].as_str().unwrap().parse::<Usd>().unwrap() >= Usd::ZERO);

    stack.deposit("5.00").await;
    stack.put("jobs/dry/job.json", stack.get("jobs/dry/job.json").await.unwrap()).await;
    let job = stack.run_until_settled("dry", true, 400).await;
    assert_eq!(job.status, JobStatus::Complete, "{:?}", job.reason);
    stack.router.pump_until_idle(100).await;
    let job = check_invariants(&stack, "dry").await;
    assert_eq!(charged(&stack).await, job.spent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_decided_item_no_longer_needs_goes_back_to_the_budget() {
    let stack = Stack::new(Options { crowd: Some(PAIR), ..Default::default() }).await;
    // three workers per item, two must agree: once two do, the third slot is not needed
    let mut job = budgeted("10.00");
    job["consensus"] = json!({ "initial_assignments": 3, "agreement": 2, "max_assignments": 5 });
    stack.submit("early", &job, &iris_template(), "manifest.csv", &iris_manifest_every(5)).await;
    let job = stack.run_until_settled("early", true, 400).await;
    assert_eq!(job.status, JobStatus::Complete, "{:?}", job.reason);
    stack.router.pump_until_idle(100).await;
    let job = check_invariants(&stack, "early").await;
    assert_eq!(job.assignments_bought, 90, "3 per item");
    let state = stack.mturk_state().await;
    assert_eq!(state["Stats"]["assignments_approved"], 60, "two answers per item were enough");
    assert_eq!(job.spent, Usd::from_cents(360));
    assert_eq!(job.reserved, job.spent, "the unused slots' money is back in the budget");
    assert_eq!(charged(&stack).await, job.spent);
}
