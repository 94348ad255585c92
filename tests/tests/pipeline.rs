//! The labeling pipeline end to end, against moto server and hitloop-mturk:
//! the blog's iris job labeled by a simulated crowd of mixed quality, with
//! notifications through SQS, then the same under faults.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::*;
use hitloop_mturk::faults::RequestFaults;
use hitloop_mturk::notify::NotificationFaults;
use hitloop_shared::money::Usd;
use hitloop_shared::records::{ItemStatus, JobStatus};

/// Everything a finished job must satisfy, whatever happened on the way.
async fn check_end_state(stack: &Stack, job_id: &str, min_accuracy: f64) {
    let job = stack.job(job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Complete, "reason: {:?}", job.reason);
    assert!(job.completion_sent);
    let items = stack.items(job_id).await;
    assert_eq!(items.len(), 150);
    assert!(items.iter().all(|i| i.status.is_decided()), "every item labeled or unresolved");
    let labeled: Vec<_> = items.iter().filter(|i| i.status == ItemStatus::Labeled).collect();
    let unresolved = items.iter().filter(|i| i.status == ItemStatus::Unresolved).count();
    assert_eq!((job.items, job.decided), (150, 150));
    assert_eq!((job.labeled, job.unresolved), (labeled.len() as u64, unresolved as u64), "counters equal a recount");

    let truth = iris_truth();
    let correct = labeled.iter().filter(|i| i.label.as_deref() == Some(truth[&i.item_id].as_str())).count();
    let accuracy = correct as f64 / labeled.len() as f64;
    assert!(accuracy >= min_accuracy, "accuracy {correct}/{}", labeled.len());

    // No HIT twice, no assignment bought twice.
    let state = stack.mturk_state().await;
    assert_eq!(state["Stats"]["hits_created"], 150, "{state}");
    let mut max_total = 0u64;
    let mut token = None;
    let client = hitloop_mturk_client(&stack.mturk.url);
    loop {
        let page = client.list_hits().max_results(100).set_next_token(token).send().await.unwrap();
        for h in page.hits() {
            let m = h.max_assignments().unwrap() as u64;
            assert!(m <= 9, "the 10-assignment rule");
            max_total += m;
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(max_total, job.assignments_bought, "what MTurk sold equals what the job reserved");

    // Money: every submitted assignment approved by hitloop, paid once, at the fee rules.
    assert!(state["Assignments"].get("Submitted").is_none_or(|v| v == 0), "nothing left to auto-approve: {state}");
    let approved = state["Stats"]["assignments_approved"].as_u64().unwrap();
    assert_eq!(state["Stats"]["assignments_auto_approved"], 0);
    let fee_rules = Usd::from_cents(6).times(approved as i64);
    assert_eq!(state["Account"]["Spent"].as_str().unwrap(), fee_rules.to_string());
    assert_eq!(job.spent, fee_rules, "the job counted what MTurk charged");
    assert_eq!(job.answers, approved, "one answer recorded per approved assignment");
    assert!(job.reserved >= job.spent);
}

fn hitloop_mturk_client(url: &str) -> aws_sdk_mturk::Client {
    let config = aws_sdk_mturk::Config::builder()
        .behavior_version(aws_sdk_mturk::config::BehaviorVersion::latest())
        .region(aws_sdk_mturk::config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_mturk::config::Credentials::new("t", "t", None, None, "t"))
        .build();
    aws_sdk_mturk::Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iris_job_is_labeled_through_notifications() {
    let stack = Stack::new(Options::default()).await;
    stack.submit("iris", &iris_job(), &iris_template(), "manifest.csv", &iris_manifest()).await;
    let job = stack.run_until_settled("iris", false, 600).await;
    assert_eq!(job.status, JobStatus::Complete, "{}", stack.stuck(&job.job_id).await);
    check_end_state(&stack, "iris", 0.95).await;
    // The completion message reached the training queue.
    let sqs = aws_sdk_sqs::Client::new(&hitloop_local::local_sdk(&aws_endpoint()).await);
    let got = sqs.receive_message().queue_url(&stack.resources.training_queue_url).send().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(got.messages()[0].body().unwrap()).unwrap();
    assert_eq!(body["job_id"], "iris");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_reordering_and_throttling_change_nothing() {
    let stack = Stack::new(Options {
        request_faults: RequestFaults { throttle_rate: 0.1, ..Default::default() },
        notification_faults: NotificationFaults {
            duplicate_rate: 0.5,
            reorder_rate: 0.5,
            batch_max: 3,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    stack.submit("iris-faults", &iris_job(), &iris_template(), "manifest.csv", &iris_manifest()).await;
    let job = stack.run_until_settled("iris-faults", false, 600).await;
    assert_eq!(job.status, JobStatus::Complete, "{}", stack.stuck(&job.job_id).await);
    check_end_state(&stack, "iris-faults", 0.95).await;
    let notes = &stack.mturk_state().await["Notifications"];
    assert!(notes["Duplicated"].as_u64().unwrap() > 50, "{notes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_notifications_are_made_up_by_sweep() {
    let stack = Stack::new(Options {
        notification_faults: NotificationFaults { drop_rate: 0.3, ..Default::default() },
        ..Default::default()
    })
    .await;
    stack.submit("iris-drops", &iris_job(), &iris_template(), "manifest.csv", &iris_manifest()).await;
    let job = stack.run_until_settled("iris-drops", true, 600).await;
    assert_eq!(job.status, JobStatus::Complete, "{}", stack.stuck(&job.job_id).await);
    check_end_state(&stack, "iris-drops", 0.95).await;
    assert!(stack.mturk_state().await["Notifications"]["Dropped"].as_u64().unwrap() > 50);
}
