//! The deploy step on in-memory ports: a trained job's model deployed once
//! however often the training's completion arrives, endpoint state changes
//! that only move the job forward, a request lost in a crash asked again by
//! sweep's check, and a deployment that cannot be made ending in
//! `deploy_failed` with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use hitloop_core::deploy::endpoint_name;
use hitloop_core::job::JobSpec;
use hitloop_core::messages::TrainingMessage;
use hitloop_core::plan::deploy::EndpointView;
use hitloop_core::plan::train::{Outcome, TrainSettings};
use hitloop_core::records::{Job, JobStatus, TrainingRecord};
use hitloop_core::training::training_job_name;
use hitloop_core::training_job::TrainingView;
use hitloop_pipeline::memory::{MemoryBlobs, MemoryDeployer, MemoryStore, MemoryTrainer};
use hitloop_pipeline::ports::{Deployer, Deployments, Jobs};
use hitloop_pipeline::steps::train::{handle_message, TrainDeps};

struct World {
    store: Arc<MemoryStore>,
    deployer: Arc<MemoryDeployer>,
    deps: TrainDeps,
}

fn world(role: Option<&str>) -> World {
    let store = Arc::new(MemoryStore::new());
    let deployer = Arc::new(MemoryDeployer::new());
    let deps = TrainDeps {
        store: store.clone(),
        blobs: Arc::new(MemoryBlobs::new()),
        trainer: Arc::new(MemoryTrainer::new()),
        deployer: deployer.clone(),
        transformer: Arc::new(hitloop_pipeline::memory::MemoryTransformer::new()),
        predictor: Arc::new(hitloop_pipeline::memory::MemoryPredictor::new()),
        settings: TrainSettings { default_role_arn: role.map(str::to_string), region: "us-east-1".into() },
    };
    World { store, deployer, deps }
}

const ROLE: Option<&str> = Some("arn:aws:iam::123456789012:role/sm");

impl World {
    /// A job whose training job is running, asking for a deployment.
    async fn training(&self) -> Job {
        let spec =
            JobSpec::parse(r#"{"labels": ["a", "b"], "training": {"features": ["x"], "sagemaker": {}}, "deploy": {}}"#)
                .unwrap();
        let mut job = Job::new("j", JobStatus::Training, spec, String::new(), "k", "e", 2);
        job.bucket = "b".into();
        job.training = Some(TrainingRecord { name: training_job_name("j", job.created_at), ..Default::default() });
        self.store.create_job(&job).await.unwrap();
        job
    }

    async fn send(&self, message: TrainingMessage) -> Outcome {
        handle_message(&self.deps, message).await.unwrap()
    }

    async fn job(&self) -> Job {
        self.store.job("j").await.unwrap().unwrap()
    }

    fn trained(job: &Job) -> TrainingMessage {
        TrainingMessage::StateChange(TrainingView {
            name: training_job_name("j", job.created_at),
            arn: None,
            status: "Completed".into(),
            failure_reason: None,
            model_artifacts: Some("s3://b/jobs/j/output/model/m/output/model.tar.gz".into()),
            held_out_accuracy: None,
        })
    }

    fn endpoint(job: &Job, status: &str) -> TrainingMessage {
        let e = endpoint_name("j", job.created_at);
        TrainingMessage::EndpointChange(EndpointView {
            name: e.clone(),
            status: status.into(),
            failure_reason: None,
            config: Some(format!("{e}-v1")),
        })
    }
}

#[tokio::test]
async fn a_trained_model_is_deployed_once_and_served_after_its_endpoint_is_in_service() {
    let w = world(ROLE);
    let job = w.training().await;
    let first = w.send(World::trained(&job)).await;
    assert!(matches!(first, Outcome::Started(ref m) if m.ends_with("-v1")), "{first:?}");
    // SageMaker sends its events more than once.
    assert_eq!(w.send(World::trained(&job)).await, Outcome::AlreadyHandled);
    assert_eq!(w.deployer.changes(), 1, "one model, configuration and endpoint");
    let j = w.job().await;
    let d = j.deployment.clone().unwrap();
    assert_eq!((j.status, d.version, d.status.as_deref()), (JobStatus::Deploying, 1, Some("Creating")));
    assert_eq!(
        j.training.unwrap().model_artifacts.as_deref(),
        Some("s3://b/jobs/j/output/model/m/output/model.tar.gz")
    );

    assert_eq!(w.send(World::endpoint(&job, "Creating")).await, Outcome::Moved(JobStatus::Deploying));
    assert_eq!(w.send(World::endpoint(&job, "InService")).await, Outcome::Moved(JobStatus::Deployed));
    // Late and repeated news changes nothing.
    assert_eq!(w.send(World::endpoint(&job, "Creating")).await, Outcome::AlreadyHandled);
    assert_eq!(w.send(World::endpoint(&job, "InService")).await, Outcome::AlreadyHandled);
    assert_eq!(w.send(World::trained(&job)).await, Outcome::AlreadyHandled);
    let j = w.job().await;
    assert_eq!((j.status, j.deployment.unwrap().serving), (JobStatus::Deployed, Some(1)));
    assert_eq!(w.deployer.changes(), 1);
}

#[tokio::test]
async fn an_endpoint_that_fails_or_cannot_be_made_ends_deploy_failed_with_the_reason() {
    let w = world(ROLE);
    let job = w.training().await;
    w.send(World::trained(&job)).await;
    let TrainingMessage::EndpointChange(mut failed) = World::endpoint(&job, "Failed") else { unreachable!() };
    failed.failure_reason = Some("the image could not be pulled".into());
    assert_eq!(w.send(TrainingMessage::EndpointChange(failed)).await, Outcome::Moved(JobStatus::DeployFailed));
    let j = w.job().await;
    assert!(j.reason.as_deref().unwrap().contains("the image could not be pulled"), "{:?}", j.reason);
    assert_eq!(w.send(World::endpoint(&job, "InService")).await, Outcome::AlreadyHandled, "forward only");

    // No role: nothing is asked of SageMaker.
    let w = world(None);
    let job = w.training().await;
    assert_eq!(w.send(World::trained(&job)).await, Outcome::Moved(JobStatus::DeployFailed));
    assert!(w.job().await.reason.unwrap().contains("no IAM role"));
    assert_eq!(w.deployer.changes(), 0);
}

#[tokio::test]
async fn a_request_lost_in_a_crash_is_made_by_sweeps_check_and_a_quiet_endpoint_adopted() {
    let w = world(ROLE);
    let job = w.training().await;
    // The invocation that moved the job died holding the claim.
    let now = hitloop_core::records::now_ms();
    let stuck = hitloop_core::plan::train::adopt(
        &job,
        &match World::trained(&job) {
            TrainingMessage::StateChange(v) => v,
            _ => unreachable!(),
        },
    );
    assert!(hitloop_pipeline::ports::TrainingClaims::record_training(w.store.as_ref(), "j", &stuck).await.unwrap());
    assert!(w.store.claim_deployment("j", now - 11 * 60 * 1000, now - 60 * 1000).await.unwrap());
    assert_eq!(w.deployer.changes(), 0);
    let check = TrainingMessage::CheckDeployment("j".into());
    assert!(matches!(w.send(check.clone()).await, Outcome::Started(_)), "the lapsed claim is taken over");
    assert_eq!(w.send(check.clone()).await, Outcome::AlreadyHandled, "Creating: wait for it");
    // Its InService event was lost: the check finds it.
    w.deployer.settle(&endpoint_name("j", job.created_at), "InService", None);
    assert_eq!(w.send(check.clone()).await, Outcome::Moved(JobStatus::Deployed));
    assert_eq!(w.deployer.changes(), 1);
    assert!(w.deployer.endpoint(&endpoint_name("j", job.created_at)).await.unwrap().is_some());
}

/// SageMaker, with `hitloop teardown` running while it is asked: the job
/// is torn down (and its nothing-yet deleted) before the endpoint exists.
struct TornDownMeanwhile {
    store: Arc<MemoryStore>,
    inner: Arc<MemoryDeployer>,
}

#[async_trait::async_trait]
impl Deployer for TornDownMeanwhile {
    async fn deploy(
        &self,
        r: &hitloop_core::plan::deploy::DeployRequest,
    ) -> hitloop_core::error::Result<Result<(), String>> {
        let all = hitloop_core::plan::teardown::TEARDOWN_FROM;
        assert!(self.store.transition("j", &all, JobStatus::TornDown, Some("torn down")).await.unwrap());
        self.inner.deploy(r).await
    }
    async fn endpoint(&self, name: &str) -> hitloop_core::error::Result<Option<EndpointView>> {
        self.inner.endpoint(name).await
    }
    async fn delete_endpoint(&self, name: &str) -> hitloop_core::error::Result<bool> {
        self.inner.delete_endpoint(name).await
    }
    async fn delete_model(&self, name: &str) -> hitloop_core::error::Result<bool> {
        self.inner.delete_model(name).await
    }
}

#[tokio::test]
async fn an_endpoint_asked_for_while_the_job_was_torn_down_is_deleted_again() {
    let mut w = world(ROLE);
    let racing = Arc::new(TornDownMeanwhile { store: w.store.clone(), inner: w.deployer.clone() });
    w.deps.deployer = racing;
    let job = w.training().await;
    w.send(World::trained(&job)).await;
    assert_eq!(w.job().await.status, JobStatus::TornDown);
    let e = endpoint_name("j", job.created_at);
    assert_eq!(w.deployer.endpoint(&e).await.unwrap(), None, "created, then deleted again");
    assert!(w.deployer.models().is_empty());
}
