//! The scheduled function on moto: a pass does what fell due (an overdue
//! assignment abandoned, an expired HIT closed), its notifications are in the
//! queue when the function answers, and a second pass finds nothing to do.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use hitloop_workforce::api;
use hitloop_workforce::notify::Sinks;
use hitloop_workforce::server::{build, GivenStore, Requesters, ServerConfig, Shared, Turns};
use hitloop_workforce_dynamodb::DynamoStore;
use serde_json::{json, Value};

fn event() -> lambda_runtime::LambdaEvent<Value> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/schedule/workforce-pass.json"))
            .unwrap();
    lambda_runtime::LambdaEvent::new(serde_json::from_str(&text).unwrap(), lambda_runtime::Context::default())
}

/// The service as Deployment::service builds it, but on a frozen clock the
/// test moves (a deployment's runs at real time).
async fn service(sdk: &hitloop_aws::SdkConfig) -> Arc<Shared> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let name = format!("workforce-{}", uuid::Uuid::new_v4());
    let store = DynamoStore::create_funded(ddb, &name, "10.00".parse().unwrap()).await.unwrap();
    let config = ServerConfig {
        speed: 0.0,
        store: Some(GivenStore(Arc::new(store))),
        requesters: Requesters::Open,
        turns: Turns::Concurrent { pass_every: None },
        reply_after_delivery: true,
        ..Default::default()
    };
    let sinks = Sinks { sqs: Some(aws_sdk_sqs::Client::new(sdk)), sns: Some(aws_sdk_sns::Client::new(sdk)) };
    build(config, sinks).unwrap()
}

async fn received(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<String> {
    let mut types = Vec::new();
    loop {
        let out = sqs.receive_message().queue_url(queue).max_number_of_messages(10).send().await.unwrap();
        if out.messages().is_empty() {
            return types;
        }
        for m in out.messages() {
            let doc: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            for e in doc["Events"].as_array().unwrap() {
                types.push(e["EventType"].as_str().unwrap().to_string());
            }
            sqs.delete_message().queue_url(queue).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_pass_does_what_fell_due_once_and_has_sent_its_notifications_when_it_answers() {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("HITLOOP_TEST_AWS_ENDPOINT (moto)");
    let sdk = hitloop_aws::local_sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs.create_queue().queue_name(format!("pass-{}", uuid::Uuid::new_v4())).send().await.unwrap();
    let queue = queue.queue_url.unwrap();
    let s = service(&sdk).await;
    let call = |op: &'static str, input: Value| {
        let s = s.clone();
        async move { api::call(&s.engine, op, &input).await.unwrap() }
    };
    let question = r#"<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[<form><input name="label"></form>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#;
    let hit = call(
        "CreateHIT",
        json!({ "MaxAssignments": 1, "LifetimeInSeconds": 120, "AssignmentDurationInSeconds": 60, "Reward": "0.05",
                "Title": "Label a flower", "Description": "Pick the species", "Question": question }),
    )
    .await;
    let (hit_id, hit_type) = (hit["HIT"]["HITId"].as_str().unwrap(), hit["HIT"]["HITTypeId"].as_str().unwrap());
    call(
        "UpdateNotificationSettings",
        json!({ "HITTypeId": hit_type, "Active": true, "Notification": { "Destination": queue, "Transport": "SQS",
                "Version": "2014-08-15", "EventTypes": ["AssignmentAbandoned", "HITExpired"] } }),
    )
    .await;
    s.engine.accept(hit_id, "A1SLOWWORKER").await.unwrap();

    // The deadline passes: the pass abandons the assignment.
    s.clock.advance_ms(61_000);
    let report = workforce_pass::handler::handle(&s, event()).await.unwrap();
    assert_eq!(received(&sqs, &queue).await, ["AssignmentAbandoned"], "{report}");
    let got = call("GetHIT", json!({ "HITId": hit_id })).await;
    assert_eq!(got["HIT"]["NumberOfAssignmentsAvailable"], 1);

    // The HIT's lifetime ends: expired, and told, once.
    s.clock.advance_ms(60_000);
    workforce_pass::handler::handle(&s, event()).await.unwrap();
    assert_eq!(received(&sqs, &queue).await, ["HITExpired"]);
    let report = workforce_pass::handler::handle(&s, event()).await.unwrap();
    assert_eq!(received(&sqs, &queue).await, Vec::<String>::new(), "nothing twice: {report}");
    let got = call("GetHIT", json!({ "HITId": hit_id })).await;
    assert_eq!(got["HIT"]["HITStatus"], "Reviewable");
    assert_eq!(report["DueLater"], 1, "what is left is the disposal, 120 days on: {report}");
}
