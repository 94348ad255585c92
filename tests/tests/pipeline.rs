//! The labeling pipeline end to end, against moto server and hitloop-mturk:
//! the blog's iris job labeled by a simulated crowd of mixed quality, with
//! notifications through SQS, then the same under faults.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::outputs::check_outputs;
use common::*;
use hitloop_core::messages::JobMessage;
use hitloop_core::money::Usd;
use hitloop_core::records::{ItemStatus, JobStatus};
use hitloop_core::training::training_job_name;
use hitloop_workforce::faults::RequestFaults;
use hitloop_workforce::notify::NotificationFaults;

fn sample(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../events/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Everything a finished job must satisfy, whatever happened on the way.
async fn check_end_state(stack: &Stack, job_id: &str, min_accuracy: f64) {
    let job = stack.job(job_id).await.unwrap();
    assert!(
        matches!(job.status, JobStatus::Complete | JobStatus::Training | JobStatus::Trained),
        "{} reason: {:?}",
        job.status,
        job.reason
    );
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
    let client = common::invariants::mturk_client(&stack.mturk).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_iris_job_is_labeled_then_trained_exactly_once() {
    let stack = Stack::new(Options::default()).await;
    let spec = with_training(iris_job(), training_settings());
    stack.submit("iris", &spec, &iris_template(), "manifest.csv", &iris_manifest()).await;
    let job = stack.run_until_settled("iris", false, 600).await;
    assert!(!job.status.is_active(), "{}", stack.stuck(&job.job_id).await);
    stack.router.pump_until_idle(100).await;
    check_end_state(&stack, "iris", 0.95).await;
    // The run is reproducible (seeded crowd, frozen clock), and ends the same
    // whichever store the service keeps its records in (make test runs it on
    // both): the same answers bought at the same price.
    let job = stack.job("iris").await.unwrap();
    assert_eq!((job.spent.to_string().as_str(), job.answers), ("19.86", 331));

    // The labeled dataset, checked against DynamoDB.
    let report = check_outputs(&stack, "iris").await;
    assert_eq!(report["items"], 150);

    // One training job, as job.json asks, on the channels just written.
    let job = stack.job("iris").await.unwrap();
    assert_eq!(job.status, JobStatus::Training, "{:?}", job.reason);
    let name = training_job_name("iris", job.created_at);
    assert_eq!(job.training.as_ref().unwrap().name, name);
    assert_eq!(stack.training_jobs(&name).await, vec![name.clone()]);
    let described = stack.sagemaker().describe_training_job().training_job_name(&name).send().await.unwrap();
    let bucket = &stack.resources.bucket;
    let channels: Vec<(String, String)> = described
        .input_data_config()
        .iter()
        .map(|c| {
            let uri = c.data_source().unwrap().s3_data_source().unwrap().s3_uri().unwrap_or_default().to_string();
            (c.channel_name().unwrap_or_default().to_string(), uri)
        })
        .collect();
    assert_eq!(
        channels,
        vec![
            ("train".to_string(), format!("s3://{bucket}/jobs/iris/output/train/")),
            ("validation".to_string(), format!("s3://{bucket}/jobs/iris/output/test/")),
        ]
    );
    assert_eq!(
        described.output_data_config().unwrap().s3_output_path(),
        Some(&*format!("s3://{bucket}/jobs/iris/output/model/"))
    );
    let hp = described.hyper_parameters().unwrap();
    assert_eq!(hp["num_round"], "50", "the job's own value");
    assert_eq!(hp["eta"], "0.3");
    assert_eq!(
        (hp["num_class"].as_str(), hp["objective"].as_str()),
        ("3", "multi:softprob"),
        "the algorithm's defaults"
    );
    assert_eq!(described.role_arn(), Some(stack.resources.sagemaker_role_arn.as_str()), "the stack's role");
    assert!(described.algorithm_specification().unwrap().training_image().unwrap().contains("sagemaker-xgboost"));
    let resources = described.resource_config().unwrap();
    assert_eq!((resources.instance_count(), resources.volume_size_in_gb()), (Some(1), Some(10)));
    assert_eq!(described.stopping_condition().unwrap().max_runtime_in_seconds(), Some(1800));

    // The completion delivered three more times: nothing new is created.
    let created = described.creation_time().cloned();
    for _ in 0..3 {
        stack.send_training(&serde_json::to_string(&JobMessage::complete("iris")).unwrap()).await;
    }
    stack.router.pump_until_idle(100).await;
    let again = stack.sagemaker().describe_training_job().training_job_name(&name).send().await.unwrap();
    assert_eq!(again.creation_time().cloned(), created, "CreateTrainingJob was not called again");
    assert_eq!(stack.training_jobs(&name).await.len(), 1);
    assert_eq!(stack.job("iris").await.unwrap().status, JobStatus::Training);

    // SageMaker's state change, through the EventBridge rule: trained, with the model's location.
    let artifacts = again.model_artifacts().unwrap().s3_model_artifacts().unwrap().to_string();
    let mut event: serde_json::Value = serde_json::from_str(&sample("eventbridge/training-state-change.json")).unwrap();
    event["detail"]["TrainingJobName"] = name.clone().into();
    event["detail"]["TrainingJobArn"] = again.training_job_arn().unwrap().into();
    event["detail"]["ModelArtifacts"]["S3ModelArtifacts"] = artifacts.clone().into();
    stack.put_event(&event).await;
    stack.router.pump_until_idle(100).await;
    let job = stack.job("iris").await.unwrap();
    assert_eq!(job.status, JobStatus::Trained, "{:?}", job.reason);
    assert_eq!(job.training.unwrap().model_artifacts, Some(artifacts));
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
    stack.router.pump_until_idle(100).await;
    check_outputs(&stack, "iris-faults").await;
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
    stack.router.pump_until_idle(100).await;
    check_outputs(&stack, "iris-drops").await;
    assert!(stack.mturk_state().await["Notifications"]["Dropped"].as_u64().unwrap() > 50);
}
