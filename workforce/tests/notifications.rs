//! Notifications delivered to real SQS queues and SNS topics (moto server),
//! in MTurk's document format, with the delivery faults consumers must survive.
//! Needs HITLOOP_TEST_AWS_ENDPOINT (make test starts moto and sets it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::HashMap;

use common::*;
use hitloop_workforce::notify::NotificationFaults;
use hitloop_workforce::server::ServerConfig;
use serde_json::{json, Value};

fn aws_endpoint() -> String {
    std::env::var("HITLOOP_TEST_AWS_ENDPOINT")
        .expect("HITLOOP_TEST_AWS_ENDPOINT must point at a moto server: run `make test`, or `make moto` and export it")
}

async fn sdk() -> hitloop_aws::SdkConfig {
    hitloop_aws::local_sdk_config(&aws_endpoint()).await
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let unique = format!("{name}-{}", uuid::Uuid::new_v4().simple());
    sqs.create_queue().queue_name(unique).send().await.unwrap().queue_url.unwrap()
}

/// Every message body now in the queue (deleting them).
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let got = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
        let messages = got.messages();
        if messages.is_empty() {
            return bodies;
        }
        for m in messages {
            bodies.push(m.body().unwrap().to_string());
            sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
}

async fn subscribe_all(s: &Service, destination: &str, transport: &str) -> String {
    let type_id = s.hit(1, "0.05").await.hit_type_id.unwrap();
    s.mturk
        .update_notification_settings()
        .hit_type_id(&type_id)
        .notification(
            aws_sdk_mturk::types::NotificationSpecification::builder()
                .destination(destination)
                .transport(transport.into())
                .version("2014-08-15")
                .set_event_types(Some(
                    [
                        "AssignmentAccepted",
                        "AssignmentSubmitted",
                        "AssignmentApproved",
                        "HITReviewable",
                        "HITCreated",
                        "HITExtended",
                    ]
                    .into_iter()
                    .map(Into::into)
                    .collect(),
                ))
                .build()
                .unwrap(),
        )
        .active(true)
        .send()
        .await
        .unwrap();
    type_id
}

fn events(bodies: &[String]) -> Vec<Value> {
    bodies
        .iter()
        .flat_map(|b| serde_json::from_str::<Value>(b).unwrap()["Events"].as_array().unwrap().clone())
        .collect()
}

/// A frozen service sending every event type of its HITs to a new queue.
async fn subscribed_to_a_queue(name: &str) -> (Service, aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let url = queue(&sqs, name).await;
    let s = service(ServerConfig { speed: 0.0, aws_endpoint: Some(aws_endpoint()), ..Default::default() }).await;
    subscribe_all(&s, &url, "SQS").await;
    (s, sqs, url)
}

#[tokio::test]
async fn lifecycle_events_reach_an_sqs_queue_in_the_documented_format() {
    let (s, sqs, url) = subscribed_to_a_queue("mturk-events").await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap(); // same attributes: same type
    let a = s.work(&id, WORKER_1, "setosa").await;
    s.mturk.approve_assignment().assignment_id(&a).send().await.unwrap();
    s.flush().await;
    let bodies = drain(&sqs, &url).await;
    let doc: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(doc["EventDocVersion"], "2014-08-15");
    assert_eq!(doc["EventDocId"].as_str().unwrap().len(), 40);
    assert_eq!(doc["SourceAccount"], "123456789012");
    assert!(doc["CustomerId"].as_str().unwrap().starts_with('A'));
    let evs = events(&bodies);
    let kinds: Vec<&str> = evs.iter().map(|e| e["EventType"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["HITCreated", "AssignmentAccepted", "AssignmentSubmitted", "HITReviewable", "AssignmentApproved"]
    );
    let submitted = &evs[2];
    assert_eq!(submitted["HITId"], id.as_str());
    assert_eq!(submitted["AssignmentId"], a.as_str());
    assert!(submitted["HITTypeId"].is_string());
    let ts = submitted["EventTimestamp"].as_str().unwrap();
    assert!(ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "ISO-8601 UTC: {ts}");
    assert!(evs[3].get("AssignmentId").is_none(), "HIT events carry no AssignmentId");
}

#[tokio::test]
async fn sns_transport_publishes_the_document_as_the_message() {
    let config = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let url = queue(&sqs, "sns-sub").await;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let topic = sns
        .create_topic()
        .name(format!("mturk-{}", uuid::Uuid::new_v4().simple()))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(arn).send().await.unwrap();
    let s = service(ServerConfig { speed: 0.0, aws_endpoint: Some(aws_endpoint()), ..Default::default() }).await;
    subscribe_all(&s, &topic, "SNS").await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    s.work(&id, WORKER_1, "x").await;
    s.flush().await;
    let bodies = drain(&sqs, &url).await;
    assert!(!bodies.is_empty());
    for b in &bodies {
        let envelope: Value = serde_json::from_str(b).unwrap();
        assert_eq!(envelope["Type"], "Notification");
        assert_eq!(envelope["TopicArn"], topic.as_str());
        let doc: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
        assert_eq!(doc["EventDocVersion"], "2014-08-15");
    }
    let kinds: Vec<String> = bodies
        .iter()
        .flat_map(|b| {
            let env: Value = serde_json::from_str(b).unwrap();
            let doc: Value = serde_json::from_str(env["Message"].as_str().unwrap()).unwrap();
            doc["Events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["EventType"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(kinds.contains(&"AssignmentSubmitted".to_string()), "{kinds:?}");
}

#[tokio::test]
async fn test_events_and_settings_are_validated() {
    let config = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = queue(&sqs, "ping").await;
    let s = service(ServerConfig { speed: 0.0, aws_endpoint: Some(aws_endpoint()), ..Default::default() }).await;
    let spec = |dest: &str, transport: &str, events: &[&str]| {
        aws_sdk_mturk::types::NotificationSpecification::builder()
            .destination(dest)
            .transport(transport.into())
            .version("2014-08-15")
            .set_event_types(Some(events.iter().map(|e| (*e).into()).collect()))
            .build()
            .unwrap()
    };
    s.mturk
        .send_test_event_notification()
        .notification(spec(&url, "SQS", &["AssignmentSubmitted"]))
        .test_event_type("Ping".into())
        .send()
        .await
        .unwrap();
    s.flush().await;
    let evs = events(&drain(&sqs, &url).await);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["EventType"], "Ping");

    let type_id = s.hit(1, "0.05").await.hit_type_id.unwrap();
    for (what, bad) in [
        ("SNS to a queue URL", spec(&url, "SNS", &["HITCreated"])),
        ("Ping is only for tests", spec(&url, "SQS", &["Ping"])),
        ("no events", spec(&url, "SQS", &[])),
        ("unknown event", spec(&url, "SQS", &["HITExploded"])),
    ] {
        let r = s.mturk.update_notification_settings().hit_type_id(&type_id).notification(bad).send().await;
        let (code, _) = code_and_message(r.expect_err(what));
        assert_eq!(code, "ParameterValidationError", "{what}");
    }
    let r = s.mturk.update_notification_settings().hit_type_id(&type_id).active(true).send().await;
    assert_eq!(code_and_message(r.unwrap_err()).0, "RequestError", "nothing to activate");
    // deactivated settings send nothing
    s.mturk
        .update_notification_settings()
        .hit_type_id(&type_id)
        .notification(spec(&url, "SQS", &["HITCreated"]))
        .active(false)
        .send()
        .await
        .unwrap();
    s.hit(1, "0.05").await;
    s.flush().await;
    assert!(drain(&sqs, &url).await.is_empty());
}

#[tokio::test]
async fn delivery_faults_duplicate_drop_reorder_and_batch() {
    let config = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = queue(&sqs, "faults").await;
    let s = service(ServerConfig {
        speed: 0.0,
        aws_endpoint: Some(aws_endpoint()),
        notification_faults: NotificationFaults { duplicate_rate: 1.0, ..Default::default() },
        ..Default::default()
    })
    .await;
    subscribe_all(&s, &url, "SQS").await;
    s.flush().await;
    drain(&sqs, &url).await;

    // every document twice, with the same EventDocId
    for _ in 0..3 {
        s.hit(1, "0.05").await;
    }
    s.flush().await;
    let bodies = drain(&sqs, &url).await;
    let mut ids: HashMap<String, usize> = HashMap::new();
    for b in &bodies {
        let doc: Value = serde_json::from_str(b).unwrap();
        *ids.entry(doc["EventDocId"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(ids.len(), 3);
    assert!(ids.values().all(|n| *n == 2), "{ids:?}");

    // dropped: nothing arrives, and it is counted
    s.set_faults(json!({ "Notifications": { "drop_rate": 1.0 } })).await;
    s.hit(1, "0.05").await;
    let stats = s.flush().await;
    assert!(drain(&sqs, &url).await.is_empty());
    assert_eq!(stats["Dropped"], 1);

    // batched: several events in one document
    s.set_faults(json!({ "Notifications": { "batch_max": 10 } })).await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    // The submit that makes the HIT reviewable sends two events at once
    // (AssignmentSubmitted, HITReviewable): they arrive in one document.
    s.work(&id, WORKER_1, "a").await;
    s.flush().await;
    let bodies = drain(&sqs, &url).await;
    let per_doc: Vec<usize> =
        bodies.iter().map(|b| serde_json::from_str::<Value>(b).unwrap()["Events"].as_array().unwrap().len()).collect();
    assert!(per_doc.iter().any(|n| *n > 1), "{per_doc:?}");

    // reordered: with every document held back, the later ones can overtake
    s.set_faults(json!({ "Notifications": { "reorder_rate": 0.5 } })).await;
    let mut sent = Vec::new();
    for _ in 0..12 {
        sent.push(s.hit(1, "0.05").await.hit_id.unwrap());
        s.flush().await;
    }
    let received: Vec<String> =
        events(&drain(&sqs, &url).await).iter().map(|e| e["HITId"].as_str().unwrap().to_string()).collect();
    let mut sorted_received = received.clone();
    sorted_received.sort();
    let mut sorted_sent = sent.clone();
    sorted_sent.sort();
    assert_eq!(sorted_received, sorted_sent, "nothing lost");
    assert!(s.state().await["Notifications"]["Reordered"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn notifications_a_crash_left_unsent_are_sent_by_the_pass_once() {
    let (s, sqs, url) = subscribed_to_a_queue("outbox").await;
    // The process "dies" between each commit and its sending.
    s.set_faults(json!({ "Notifications": { "crash_rate": 1.0 } })).await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    let a = s.accept(&id, WORKER_1).await.unwrap();
    s.submit(&a, &[("label", "setosa")]).await.unwrap();
    let stats = s.flush().await;
    assert!(drain(&sqs, &url).await.is_empty());
    assert_eq!(stats["Crashed"], 4, "HITCreated, AssignmentAccepted, AssignmentSubmitted, HITReviewable: {stats}");

    // A process that lives: within the grace the pass leaves them (the
    // dispatcher could still be sending them); after it, sends each once.
    s.set_faults(json!({ "Notifications": { "crash_rate": 0.0 } })).await;
    s.advance(30.0).await;
    s.flush().await;
    assert!(drain(&sqs, &url).await.is_empty(), "not yet: within the grace");
    s.advance(31.0).await;
    s.flush().await;
    let bodies = drain(&sqs, &url).await;
    let mut kinds: Vec<String> = events(&bodies).iter().map(|e| e["EventType"].as_str().unwrap().to_string()).collect();
    kinds.sort(); // the outbox keeps no order within a millisecond (nor does a standard queue)
    assert_eq!(kinds, ["AssignmentAccepted", "AssignmentSubmitted", "HITCreated", "HITReviewable"]);
    s.advance(120.0).await;
    s.flush().await;
    assert!(drain(&sqs, &url).await.is_empty(), "each sent once");

    // A delivery sent again carries its first EventDocId: the same event, the same id.
    let ids: Vec<String> = bodies
        .iter()
        .map(|b| serde_json::from_str::<Value>(b).unwrap()["EventDocId"].as_str().unwrap().into())
        .collect();
    assert!(ids.iter().all(|i| i.len() == 40), "{ids:?}");
    let approved = s.mturk.approve_assignment().assignment_id(&a).send().await;
    assert!(approved.is_ok());
    s.flush().await;
    let again = drain(&sqs, &url).await;
    assert_eq!(events(&again)[0]["EventType"], "AssignmentApproved", "sent at once when nothing crashes");
}

#[tokio::test]
async fn notifications_a_crash_left_in_the_outbox_after_sending_come_twice_with_one_id() {
    let (s, sqs, url) = subscribed_to_a_queue("outbox-after-send").await;
    // The process "dies" after each send, before clearing the outbox record.
    s.set_faults(json!({ "Notifications": { "crash_after_send_rate": 1.0 } })).await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    let a = s.accept(&id, WORKER_1).await.unwrap();
    let stats = s.flush().await;
    let first = drain(&sqs, &url).await;
    assert_eq!(first.len(), 2, "HITCreated, AssignmentAccepted: sent at once");
    assert_eq!(stats["CrashedAfterSend"], 2, "{stats}");

    s.set_faults(json!({ "Notifications": { "crash_after_send_rate": 0.0 } })).await;
    s.advance(61.0).await;
    s.flush().await;
    let again = drain(&sqs, &url).await;
    let doc_ids = |bodies: &[String]| {
        let mut ids: Vec<String> = bodies
            .iter()
            .map(|b| serde_json::from_str::<Value>(b).unwrap()["EventDocId"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(doc_ids(&again), doc_ids(&first), "the same documents again, under the same EventDocIds");
    s.advance(120.0).await;
    s.flush().await;
    assert!(drain(&sqs, &url).await.is_empty(), "then cleared: no third copy");
    s.submit(&a, &[("label", "setosa")]).await.unwrap();
    s.flush().await;
    assert_eq!(drain(&sqs, &url).await.len(), 2, "AssignmentSubmitted, HITReviewable, once each");
}
