//! Every sample event in events/ parses as the Lambda event type its function
//! receives, and runs through that function's handler against the local stack.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::SqsEvent;
use common::*;
use hitloop_core::messages::{TrainingMessage, STATE_CHANGE};
use lambda_runtime::{Context, LambdaEvent};

fn sample(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../events/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn samples_parse_as_their_lambda_event_types() {
    let s3: S3Event = serde_json::from_str(&sample("s3/manifest-uploaded.json")).unwrap();
    assert_eq!(s3.records[0].s3.object.key.as_deref(), Some("jobs/iris/manifest.csv"));
    // moto's event is not a valid S3Event (fields are missing): the reason ingest reads leniently.
    assert!(serde_json::from_str::<S3Event>(&sample("s3/manifest-uploaded-moto.json")).is_err());
    for f in ["sqs/publish-item.json", "sqs/mturk-notification.json", "sqs/mturk-notification-sns.json"] {
        let e: SqsEvent = serde_json::from_str(&sample(f)).unwrap();
        let back: SqsEvent = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back.records[0].body, e.records[0].body, "{f} round-trips");
    }
    for f in ["sqs/mturk-notification.json", "sqs/mturk-notification-sns.json"] {
        let e: SqsEvent = serde_json::from_str(&sample(f)).unwrap();
        let doc = hitloop_core::events::notification(e.records[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(doc.events[0].hit_id.as_deref(), Some("3X7837UUADRXYCA1K7JAJLKC66DJ60"), "{f}");
    }
    let sweep: EventBridgeEvent<serde_json::Value> = serde_json::from_str(&sample("schedule/sweep.json")).unwrap();
    assert_eq!(sweep.detail_type, "Scheduled Event");

    // the training queue: collect's completion, and SageMaker's state change as EventBridge delivers it
    let e: SqsEvent = serde_json::from_str(&sample("sqs/job-complete.json")).unwrap();
    assert_eq!(
        TrainingMessage::parse(e.records[0].body.as_deref().unwrap()).unwrap(),
        TrainingMessage::JobComplete("iris".into())
    );
    let e: SqsEvent = serde_json::from_str(&sample("sqs/training-state-change.json")).unwrap();
    let TrainingMessage::StateChange(view) = TrainingMessage::parse(e.records[0].body.as_deref().unwrap()).unwrap()
    else {
        panic!("not a state change")
    };
    assert_eq!((view.name.as_str(), view.status.as_str()), ("hitloop-iris-0a1b2c", "Completed"));
    assert!(view.model_artifacts.unwrap().ends_with("/output/model.tar.gz"));
    let raw: EventBridgeEvent<serde_json::Value> =
        serde_json::from_str(&sample("eventbridge/training-state-change.json")).unwrap();
    assert_eq!(raw.detail_type, STATE_CHANGE);
    assert_eq!(
        serde_json::to_value(&raw).unwrap(),
        serde_json::from_str::<serde_json::Value>(e.records[0].body.as_deref().unwrap()).unwrap(),
        "the SQS sample carries the raw event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_run_through_their_handlers() {
    let stack = Stack::new(Options { crowd: None, ..Default::default() }).await;
    let bucket = &stack.resources.bucket;
    stack.put("jobs/iris/job.json", iris_job().to_string()).await;
    stack.put("jobs/iris/template.html", iris_template()).await;
    stack.put("jobs/iris/manifest.csv", iris_manifest()).await;

    // ingest, from both S3 samples (the second is the same upload: nothing twice)
    for f in ["s3/manifest-uploaded.json", "s3/manifest-uploaded-moto.json"] {
        let text = sample(f).replace("hitloop-data-123456789012", bucket);
        let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
        let out = ingest::handler::handle(&stack.functions().ingest, LambdaEvent::new(payload, Context::default()))
            .await
            .unwrap();
        assert!(out["results"][0].is_object(), "{out}");
    }
    let job = stack.job("iris").await.unwrap();
    assert_eq!(job.items, 150);

    // publish, from the SQS sample
    let event: SqsEvent = serde_json::from_str(&sample("sqs/publish-item.json")).unwrap();
    let resp = publish::handler::handle(&stack.functions().publish, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert!(resp.batch_item_failures.is_empty());
    let item = stack.item("iris", "iris-000").await.unwrap();
    let hit = item.hit_id.clone().expect("the item was posted");

    // collect, raw and SNS-wrapped: a HIT that is not ours is ignored, ours is reconciled
    for f in ["sqs/mturk-notification.json", "sqs/mturk-notification-sns.json"] {
        for hit_id in ["3X7837UUADRXYCA1K7JAJLKC66DJ60", hit.as_str()] {
            let text = sample(f)
                .replace("3X7837UUADRXYCA1K7JAJLKC66DJ60", hit_id)
                .replace("9928a491605538bb", &hit_id[..16])
                .replace("0a7c3e0c8f4d2b6a", &hit_id[..16]);
            let event: SqsEvent = serde_json::from_str(&text).unwrap();
            let resp =
                collect::handler::handle(&stack.functions().collect, LambdaEvent::new(event, Context::default()))
                    .await
                    .unwrap();
            assert!(resp.batch_item_failures.is_empty(), "{f}");
        }
    }

    // sweep, from the schedule sample
    let payload: serde_json::Value = serde_json::from_str(&sample("schedule/sweep.json")).unwrap();
    let report =
        sweep::handler::handle(&stack.functions().sweep, LambdaEvent::new(payload, Context::default())).await.unwrap();
    assert!(report["items_seen"].as_u64().unwrap() >= 150, "{report}");

    // train, from the training queue samples: the job is not complete and the
    // training job is not this job's, so both are acknowledged and change nothing
    for f in ["sqs/job-complete.json", "sqs/training-state-change.json"] {
        let event: SqsEvent = serde_json::from_str(&sample(f)).unwrap();
        let resp = train::handler::handle(&stack.functions().train, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
        assert!(resp.batch_item_failures.is_empty(), "{f}");
    }
    assert_eq!(stack.job("iris").await.unwrap().status, hitloop_core::records::JobStatus::Labeling);

    // a body that is not JSON fails alone (the queue's redrive policy keeps it in the DLQ)
    let mut bad: SqsEvent = serde_json::from_str(&sample("sqs/publish-item.json")).unwrap();
    let mut good = bad.records[0].clone();
    good.message_id = Some("good".into());
    bad.records[0].body = Some("not json".into());
    bad.records.push(good);
    let resp =
        publish::handler::handle(&stack.functions().publish, LambdaEvent::new(bad, Context::default())).await.unwrap();
    let failed: Vec<&str> = resp.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed.len(), 1);
    assert_ne!(failed[0], "good");
}
