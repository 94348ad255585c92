//! Faults, against moto server and hitloop-mturk: functions dying half-way,
//! invocations racing each other, a slow, failing and throttling marketplace,
//! and notification documents of every shape. Whatever happens, the end state
//! is the one `check_invariants` describes: nothing lost, nothing bought,
//! approved or paid twice, counters equal to a recount.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::Arc;

use common::crash::{Crashes, When};
use common::invariants::{charged, check_invariants};
use common::*;
use hitloop_core::plan::sweep::SweepLimits;
use hitloop_core::records::JobStatus;
use hitloop_pipeline::steps::reconcile::on_notification;
use hitloop_workforce::faults::RequestFaults;
use hitloop_workforce::notify::NotificationFaults;
use serde_json::json;

/// Thirty irises, ten of each species.
fn small_manifest() -> String {
    iris_manifest_every(5)
}

async fn crashing_stack(crashes: &Arc<Crashes>) -> Stack {
    Stack::new(Options { crashes: Some(crashes.clone()), ..Default::default() }).await
}

/// Runs the job with the schedule on (sweep finds what redelivery did not).
async fn run_to_end(stack: &Stack, job_id: &str) {
    stack.submit(job_id, &iris_job(), &iris_template(), "manifest.csv", &small_manifest()).await;
    let job = stack.run_until_settled(job_id, true, 400).await;
    assert_eq!(job.status, JobStatus::Complete, "{:?} {}", job.reason, stack.stuck(job_id).await);
    stack.router.pump_until_idle(100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_dying_half_way_posts_each_item_once() {
    let crashes = Arc::new(
        Crashes::default()
            // the budget reserved, then dead before CreateHIT
            .at("reserve", When::After, 4, 6)
            // the HIT created, the answer lost (a timeout after MTurk did it)
            .at("create_hit", When::After, 3, 8)
            // the HIT created and known, dead before it is recorded on the item
            .at("mark_published", When::Before, 3, 8),
    );
    let stack = crashing_stack(&crashes).await;
    run_to_end(&stack, "crash-publish").await;
    for op in ["reserve", "create_hit", "mark_published"] {
        assert!(crashes.fired(op) >= 4, "{op} crashed {} times", crashes.fired(op));
    }
    let job = check_invariants(&stack, "crash-publish").await;
    assert_eq!(charged(&stack).await, job.spent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_dying_half_way_records_approves_and_pays_once() {
    let crashes = Arc::new(
        Crashes::default()
            // the answer seen, dead before it is approved
            .at("approve", When::Before, 2, 20)
            // approved at MTurk, dead before it is recorded and paid on the item
            .at("record_answer", When::Before, 3, 10)
            // the answer recorded and paid, the write's reply lost
            .at("record_answer", When::After, 5, 6)
            // more assignments bought at MTurk, the reply lost
            .at("add_assignments", When::After, 1, 3)
            // the item decided and counted on the job (one write), dead before completing the job
            .at("decide", When::After, 4, 6)
            // the last item decided, dead before the job is completed
            .at("complete_if_done", When::Before, 1, 40),
    );
    let stack = crashing_stack(&crashes).await;
    run_to_end(&stack, "crash-collect").await;
    for op in ["approve", "record_answer", "decide", "complete_if_done"] {
        assert!(crashes.fired(op) >= 3, "{op} crashed {} times", crashes.fired(op));
    }
    let job = check_invariants(&stack, "crash-collect").await;
    assert_eq!(charged(&stack).await, job.spent);
    assert!(job.completion_sent, "sweep completed the job that collect could not");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_collects_sweeps_and_uploads_do_nothing_twice() {
    // every document twice: two collect invocations get the same HIT at once
    let stack = Stack::new(Options {
        notification_faults: NotificationFaults { duplicate_rate: 1.0, reorder_rate: 0.3, ..Default::default() },
        ..Default::default()
    })
    .await;
    // two uploads of the same manifest, ingested at the same time
    stack.put("jobs/race/job.json", iris_job().to_string()).await;
    stack.put("jobs/race/template.html", iris_template()).await;
    stack.put("jobs/race/manifest.csv", small_manifest()).await;
    let event = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": stack.resources.bucket}, "object": {"key": "jobs/race/manifest.csv"}}}]});
    let ingest_once = || {
        ingest::handler::handle(
            &stack.functions().ingest,
            lambda_runtime::LambdaEvent::new(event.clone(), Default::default()),
        )
    };
    let (a, b) = tokio::join!(ingest_once(), ingest_once());
    a.unwrap();
    b.unwrap();
    let limits = SweepLimits { stale_after_ms: 0, max_items: 10_000, ..Default::default() };
    for minute in 0..400 {
        stack.flush().await;
        // two consumers of each queue at once, sweep on every item at the same
        // time, and every open HIT brought up to date by two calls at once
        // (two collect invocations holding notifications for the same HIT)
        let sweep = async {
            if minute % 2 == 0 {
                stack.router.sweep(limits).await;
            }
        };
        let twice = async {
            if minute % 3 == 1 {
                for item in stack.items("race").await.into_iter().filter(|i| !i.status.is_decided()) {
                    if let Some(hit) = &item.hit_id {
                        let (a, b) = tokio::join!(
                            on_notification(&stack.functions().collect, hit, None),
                            on_notification(&stack.functions().collect, hit, None)
                        );
                        for r in [a, b] {
                            // a lost race may only ask for a retry, as the queue would give it
                            if let Err(e) = r {
                                assert!(e.is_retryable(), "{e}");
                            }
                        }
                    }
                }
            }
        };
        tokio::join!(stack.router.pump_until_idle(50), stack.router.pump_until_idle(50), sweep, twice);
        if !stack.job("race").await.unwrap().status.is_active() {
            break;
        }
        stack.advance(60.0).await;
    }
    stack.router.pump_until_idle(100).await;
    let job = check_invariants(&stack, "race").await;
    assert_eq!(job.items, 30);
    assert_eq!(charged(&stack).await, job.spent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_failing_throttling_marketplace_changes_nothing() {
    let stack = Stack::new(Options {
        request_faults: RequestFaults {
            throttle_rate: 0.05,
            fault_rate: 0.05,
            // bursts beyond 10 requests at once are throttled
            rate_limit: 40.0,
            burst: 10.0,
            // one answer in ten comes after the client gave up: the work was done
            late_reply_rate: 0.1,
            late_reply_ms: 700,
            ..Default::default()
        },
        mturk_attempt_timeout_ms: Some(300),
        ..Default::default()
    })
    .await;
    run_to_end(&stack, "slow").await;
    let job = check_invariants(&stack, "slow").await;
    assert_eq!(charged(&stack).await, job.spent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_documents_of_every_shape() {
    let stack = Stack::new(Options {
        notification_faults: NotificationFaults {
            drop_rate: 0.3,
            duplicate_rate: 0.5,
            reorder_rate: 0.5,
            batch_max: 4,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    stack.submit("shapes", &iris_job(), &iris_template(), "manifest.csv", &small_manifest()).await;
    stack.router.pump_until_idle(100).await;
    let items = stack.items("shapes").await;
    let hit = items[0].hit_id.clone().unwrap();

    // MTurk's test event, through the API, to the job's queue
    let mturk = common::invariants::mturk_client(&stack.mturk).await;
    mturk
        .send_test_event_notification()
        .notification(stack.notification_spec())
        .test_event_type(aws_sdk_mturk::types::EventType::Ping)
        .send()
        .await
        .unwrap();
    // an SNS-wrapped document, an unknown event type, a HIT that is not ours,
    // a document without events, and a body that is not JSON
    let doc = |id: &str, events: serde_json::Value| json!({"Events": events, "EventDocId": id, "SourceAccount": "123456789012", "CustomerId": "A1", "EventDocVersion": "2014-08-15"});
    let submitted = json!([{"EventType": "AssignmentSubmitted", "EventTimestamp": "2026-11-28T10:00:00Z", "HITId": hit, "HITTypeId": "T"}]);
    let sns = json!({"Type": "Notification", "MessageId": "m1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
                     "Message": doc("sns-1", submitted.clone()).to_string(), "Timestamp": "2026-11-28T10:00:00Z"});
    let bodies = [
        sns.to_string(),
        doc("weird-1", json!([{"EventType": "HITTeleported", "HITId": hit}])).to_string(),
        doc("foreign-1", json!([{"EventType": "AssignmentSubmitted", "HITId": "3ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"}]))
            .to_string(),
        doc("empty-1", json!([])).to_string(),
        "not json at all".to_string(),
    ];
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    for b in bodies {
        sqs.send_message().queue_url(&stack.resources.notification_queue_url).message_body(b).send().await.unwrap();
    }
    let job = stack.run_until_settled("shapes", true, 400).await;
    assert_eq!(job.status, JobStatus::Complete, "{}", stack.stuck("shapes").await);
    // the body that is not JSON went round maxReceiveCount times, then to the DLQ
    let dlq = stack.resources.notification_queue_url.replace("NotificationQueue", "NotificationDLQ");
    let mut dead = Vec::new();
    for _ in 0..30 {
        stack.router.pump_until_idle(20).await;
        let got = sqs.receive_message().queue_url(&dlq).max_number_of_messages(10).send().await.unwrap();
        dead.extend(got.messages().iter().map(|m| m.body().unwrap_or_default().to_string()));
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(dead, vec!["not json at all".to_string()], "only the unreadable message is kept aside");
    let notes = &stack.mturk_state().await["Notifications"];
    assert!(notes["Dropped"].as_u64().unwrap() > 0 && notes["Duplicated"].as_u64().unwrap() > 0, "{notes}");
    let job = check_invariants(&stack, "shapes").await;
    assert_eq!(charged(&stack).await, job.spent);
}
