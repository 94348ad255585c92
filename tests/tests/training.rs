//! The train function against moto's SageMaker: exactly one training job
//! however the completion arrives, outputs for jobs that train and jobs that
//! do not, state changes that only move forward, and settings that cannot
//! work ending in `training_failed` with the labels kept.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use common::outputs::check_outputs;
use common::*;
use hitloop_core::dataset::OutputKeys;
use hitloop_core::messages::JobMessage;
use hitloop_core::plan::sweep::SweepLimits;
use hitloop_core::records::JobStatus;
use hitloop_core::training::training_job_name;
use hitloop_core::training_job::{StartError, TrainingRequest, TrainingView};
use hitloop_pipeline::ports::Trainer;
use hitloop_pipeline::steps::train::TrainDeps;
use hitloop_sagemaker::SageMakerTrainer;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

/// The real SageMaker adapter, counting the CreateTrainingJob calls that
/// reach it (moto keeps one job per name, so it cannot tell).
struct CountingTrainer {
    inner: SageMakerTrainer,
    starts: AtomicUsize,
}

#[async_trait]
impl Trainer for CountingTrainer {
    async fn describe(&self, name: &str) -> hitloop_core::error::Result<Option<TrainingView>> {
        self.inner.describe(name).await
    }
    async fn start(&self, r: &TrainingRequest) -> hitloop_core::error::Result<Result<String, StartError>> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        self.inner.start(r).await
    }
}

fn sqs_event(bodies: &[String]) -> LambdaEvent<SqsEvent> {
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .enumerate()
        .map(|(k, b)| {
            let mut m = SqsMessage::default();
            m.message_id = Some(format!("m{k}-{}", uuid::Uuid::new_v4()));
            m.body = Some(b.clone());
            m
        })
        .collect();
    LambdaEvent::new(event, Context::default())
}

fn small_training_job() -> serde_json::Value {
    with_training(iris_job(), training_settings())
}

fn state_change(name: &str, status: &str, extra: serde_json::Value) -> String {
    let mut detail = json!({ "TrainingJobName": name, "TrainingJobStatus": status,
        "TrainingJobArn": format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}") });
    for (k, v) in extra.as_object().unwrap() {
        detail[k] = v.clone();
    }
    json!({ "version": "0", "id": uuid::Uuid::new_v4().to_string(), "source": "aws.sagemaker",
            "detail-type": "SageMaker Training Job State Change", "detail": detail })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_train_invocations_start_one_training_job() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    stack.router.hold_training.store(true, Ordering::SeqCst);
    let job = stack.run_job("race", &small_training_job(), &iris_manifest_every(5)).await;
    assert_eq!(job.status, JobStatus::Complete);

    let counting =
        Arc::new(CountingTrainer { inner: SageMakerTrainer::from_sdk(&stack.sdk), starts: AtomicUsize::new(0) });
    let deps = TrainDeps { trainer: counting.clone(), ..stack.functions().train.clone() };
    // Two invocations at once, each with the message twice in its batch.
    let body = serde_json::to_string(&JobMessage::complete("race")).unwrap();
    let bodies = vec![body.clone(), body.clone()];
    let (a, b) = tokio::join!(
        train::handler::handle(&deps, sqs_event(&bodies)),
        train::handler::handle(&deps, sqs_event(&bodies))
    );
    let retried = a.unwrap().batch_item_failures.len() + b.unwrap().batch_item_failures.len();
    // What the losers reported comes back (SQS redelivery), and once more for luck.
    let again: Vec<String> = std::iter::repeat_n(body, retried + 1).collect();
    let c = train::handler::handle(&deps, sqs_event(&again)).await.unwrap();
    assert!(c.batch_item_failures.is_empty(), "the redelivered messages find the training job started");

    assert_eq!(counting.starts.load(Ordering::SeqCst), 1, "CreateTrainingJob called once");
    let job = stack.job("race").await.unwrap();
    assert_eq!(job.status, JobStatus::Training, "{:?}", job.reason);
    let name = training_job_name("race", job.created_at);
    assert_eq!(stack.training_jobs(&name).await, vec![name]);
    check_outputs(&stack, "race").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_training_settings_end_training_failed_with_labels_intact() {
    let mut stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    // A deployment without the stack's SageMaker role, and a job that names none.
    stack.router.functions.train.settings.default_role_arn = None;
    let job = stack.run_job("norole", &small_training_job(), &iris_manifest_every(5)).await;
    assert_eq!(job.status, JobStatus::TrainingFailed);
    let reason = job.reason.clone().unwrap();
    assert!(reason.contains("no IAM role") && reason.contains("role_arn"), "{reason}");
    assert!(job.training.as_ref().unwrap().failure_reason.is_some());
    let name = training_job_name("norole", job.created_at);
    assert!(stack.training_jobs(&name).await.is_empty(), "nothing was started");
    let report = check_outputs(&stack, "norole").await;
    assert_eq!(report["training_problem"].as_str(), Some(reason.as_str()));
    assert_eq!(report["items"], 30, "every label is in S3");

    // A second completion changes nothing.
    stack.send_training(&serde_json::to_string(&JobMessage::complete("norole")).unwrap()).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("norole").await.unwrap().status, JobStatus::TrainingFailed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_only_move_a_job_forward() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    let jobs = stack
        .run_jobs(&[
            ("ok", small_training_job(), iris_manifest_every(5)),
            ("bad", small_training_job(), iris_manifest_every(6)),
        ])
        .await;
    let (a, b) = (&jobs[0], &jobs[1]);
    assert_eq!((a.status, b.status), (JobStatus::Training, JobStatus::Training));
    let ok = training_job_name("ok", a.created_at);
    let bad = training_job_name("bad", b.created_at);

    let artifacts = format!("s3://{}/jobs/ok/output/model/{ok}/output/model.tar.gz", stack.resources.bucket);
    let model = json!({ "ModelArtifacts": { "S3ModelArtifacts": artifacts } });
    for body in [
        state_change(&ok, "InProgress", json!({})),
        state_change(&ok, "Completed", model),
        state_change(&bad, "Failed", json!({ "FailureReason": "AlgorithmError: num_class must be set" })),
        // an event for a training job that is not hitloop's, or of an unknown job
        state_change("someone-elses-job", "Completed", json!({})),
        state_change("hitloop-nosuchjob-abcdef", "Completed", json!({})),
    ] {
        stack.send_training(&body).await;
        stack.router.pump_until_idle(20).await;
    }
    // late and out of order: neither undoes what is final
    stack.send_training(&state_change(&ok, "InProgress", json!({}))).await;
    stack.send_training(&state_change(&bad, "Completed", json!({}))).await;
    stack.router.pump_until_idle(20).await;

    let a = stack.job("ok").await.unwrap();
    assert_eq!(a.status, JobStatus::Trained);
    assert_eq!(a.training.unwrap().model_artifacts, Some(artifacts));
    let b = stack.job("bad").await.unwrap();
    assert_eq!(b.status, JobStatus::TrainingFailed);
    assert!(b.reason.unwrap().contains("num_class must be set"));
    assert!(stack.get(&OutputKeys::of("bad").labels).await.is_some(), "the labels stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_without_a_training_job_end_complete_with_their_outputs() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    let split_only = with_training(iris_job(), json!({ "features": FEATURES, "test_fraction": 0.3, "seed": 3 }));
    let jobs = stack
        .run_jobs(&[("plain", iris_job(), iris_manifest_every(5)), ("split", split_only, iris_manifest_every(6))])
        .await;
    for job in &jobs {
        assert_eq!(job.status, JobStatus::Complete);
        assert!(job.outputs_at.is_some() && job.training.is_none());
    }
    let report = check_outputs(&stack, "plain").await;
    assert!(report["split"].is_null());
    assert!(stack.get(&OutputKeys::of("plain").train).await.is_none(), "no training asked, no split");
    let report = check_outputs(&stack, "split").await;
    assert_eq!(report["split"]["seed"], 3);
    assert!(report["training_job"].is_null());
    assert!(stack.training_jobs("hitloop-split-").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_starts_training_whose_completion_was_lost() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    stack.router.hold_training.store(true, Ordering::SeqCst);
    let job = stack.run_job("lost", &small_training_job(), &iris_manifest_every(5)).await;
    assert_eq!(job.status, JobStatus::Complete);
    // The completion message is lost (say, to the dead-letter queue).
    aws_sdk_sqs::Client::new(&stack.sdk)
        .purge_queue()
        .queue_url(&stack.resources.training_queue_url)
        .send()
        .await
        .unwrap();
    stack.router.hold_training.store(false, Ordering::SeqCst);
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("lost").await.unwrap().status, JobStatus::Complete, "nothing brings it");

    let report = stack.router.sweep(SweepLimits { train_patience_ms: 0, ..Default::default() }).await;
    assert_eq!(report["training_checks"], 1, "{report}");
    stack.router.pump_until_idle(20).await;
    let job = stack.job("lost").await.unwrap();
    assert_eq!(job.status, JobStatus::Training, "{:?}", job.reason);

    // A training job that went quiet: sweep asks SageMaker (moto says Completed).
    stack.router.sweep(SweepLimits { train_patience_ms: 0, ..Default::default() }).await;
    stack.router.pump_until_idle(20).await;
    let job = stack.job("lost").await.unwrap();
    assert_eq!(job.status, JobStatus::Trained, "{:?}", job.reason);
    assert!(job.training.unwrap().model_artifacts.unwrap().ends_with("/output/model.tar.gz"));
}
