//! Deployment on the local stack: a job with a `deploy` section, labeled by
//! the simulated crowd, trained by the local trainer, deployed through the
//! real SageMaker adapter against moto, its endpoint brought up by the local
//! stand-in (which loads the model as a serving container would and emits
//! SageMaker's state changes through EventBridge): exactly one model and
//! endpoint however the events come, a small prediction batch answered by
//! the endpoint (the local SageMaker Runtime stand-in) and `hitloop status`
//! warning of an endpoint idle for a day until it is used, a model that
//! cannot be loaded ending `deploy_failed` with the reason, and `hitloop
//! teardown` run twice, and while a deployment is on its way.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use common::outputs::check_outputs;
use common::*;
use hitloop_core::deploy::{endpoint_name, model_name};
use hitloop_core::messages::JobMessage;
use hitloop_core::plan::deploy::{DeployRequest, DeployTransition, EndpointView};
use hitloop_core::plan::idle::DAY_MS;
use hitloop_core::predict::BatchKeys;
use hitloop_core::records::{now_ms, BatchStatus, DeploymentRecord, Job, JobStatus};
use hitloop_core::training::training_job_name;
use hitloop_local::cli::status;
use hitloop_local::cli::target::{LocalState, Target};
use hitloop_local::cli::teardown::teardown;
use hitloop_local::endpoints::LocalEndpoints;
use hitloop_local::trainer::LocalTrainer;
use hitloop_pipeline::ports::{Batches, Deployer, Deployments};
use hitloop_sagemaker::SageMakerDeployer;
use serde_json::json;

/// The real SageMaker adapter, counting the deployments that reach it.
struct CountingDeployer {
    inner: SageMakerDeployer,
    deploys: AtomicUsize,
}

#[async_trait]
impl Deployer for CountingDeployer {
    async fn deploy(&self, r: &DeployRequest) -> hitloop_core::error::Result<Result<(), String>> {
        self.deploys.fetch_add(1, Ordering::SeqCst);
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

fn deploying_job() -> serde_json::Value {
    let mut job = with_training(iris_job(), training_settings());
    job["deploy"] = json!({ "serverless": { "memory_mb": 2048, "max_concurrency": 2 } });
    job
}

/// A stack whose train function counts its deployments.
async fn stack() -> (Stack, Arc<CountingDeployer>) {
    let mut stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    let counting =
        Arc::new(CountingDeployer { inner: SageMakerDeployer::from_sdk(&stack.sdk), deploys: AtomicUsize::new(0) });
    stack.router.functions.train.deployer = counting.clone();
    (stack, counting)
}

/// Labels the job and runs its training job on the local trainer.
async fn trained(stack: &Stack, job_id: &str) -> Job {
    let job = stack.run_job(job_id, &deploying_job(), &iris_manifest_every(5)).await;
    assert_eq!(job.status, JobStatus::Training, "{:?}", job.reason);
    let name = training_job_name(job_id, job.created_at);
    assert!(LocalTrainer::new(&stack.sdk).run(&name).await.unwrap(), "the local trainer fitted {name}");
    stack.router.pump_until_idle(20).await;
    stack.job(job_id).await.unwrap()
}

fn endpoint_event(endpoint: &str, config: &str, status: &str) -> serde_json::Value {
    json!({ "source": "aws.sagemaker", "detail-type": "SageMaker Endpoint State Change",
            "resources": [format!("arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint}")],
            "detail": { "EndpointName": endpoint, "EndpointConfigName": config, "EndpointStatus": status } })
}

/// The models, configurations and endpoints moto holds for the endpoint
/// (filtered here: moto's NameContains does not filter models).
async fn names_in_moto(stack: &Stack, endpoint: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let sm = stack.sagemaker();
    let ours = |names: Vec<String>| -> Vec<String> { names.into_iter().filter(|n| n.starts_with(endpoint)).collect() };
    let models = sm.list_models().name_contains(endpoint).send().await.unwrap();
    let configs = sm.list_endpoint_configs().name_contains(endpoint).send().await.unwrap();
    let endpoints = sm.list_endpoints().name_contains(endpoint).send().await.unwrap();
    (
        ours(models.models().iter().map(|m| m.model_name().unwrap_or_default().to_string()).collect()),
        ours(
            configs
                .endpoint_configs()
                .iter()
                .map(|c| c.endpoint_config_name().unwrap_or_default().to_string())
                .collect(),
        ),
        ours(endpoints.endpoints().iter().map(|e| e.endpoint_name().unwrap_or_default().to_string()).collect()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trained_model_is_deployed_once_under_duplicate_and_reordered_events() {
    let (stack, counting) = stack().await;
    let job = trained(&stack, "dep").await;
    assert_eq!(job.status, JobStatus::Deploying, "{:?}", job.reason);
    let endpoint = endpoint_name("dep", job.created_at);
    let model = model_name("dep", job.created_at, 1);
    let artifacts = job.training.as_ref().unwrap().model_artifacts.clone().unwrap();

    // The training's completion again (SageMaker sends events more than
    // once), sweep's check, and a late CREATING: one deployment.
    let name = training_job_name("dep", job.created_at);
    let completed = json!({ "source": "aws.sagemaker", "detail-type": "SageMaker Training Job State Change",
        "resources": [], "detail": { "TrainingJobName": name, "TrainingJobStatus": "Completed",
        "ModelArtifacts": { "S3ModelArtifacts": artifacts } } });
    stack.put_event(&completed).await;
    stack.send_training(&JobMessage::check_deployment("dep").body().unwrap()).await;
    stack.put_event(&completed).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(counting.deploys.load(Ordering::SeqCst), 1, "SageMaker was asked once");
    assert_eq!(
        names_in_moto(&stack, &endpoint).await,
        (vec![model.clone()], vec![model.clone()], vec![endpoint.clone()])
    );
    let described = stack.sagemaker().describe_model().model_name(&model).send().await.unwrap();
    assert_eq!(described.primary_container().unwrap().model_data_url(), Some(artifacts.as_str()));

    // The endpoint comes up: CREATING, then IN_SERVICE.
    let up = LocalEndpoints::new(&stack.sdk).run_pending().await;
    let ours: Vec<_> = up.iter().filter(|a| a.endpoint == endpoint).collect();
    assert_eq!(ours.len(), 1);
    assert_eq!((ours[0].config.as_str(), ours[0].failure.as_deref()), (model.as_str(), None));
    stack.router.pump_until_idle(20).await;
    let deployed = stack.job("dep").await.unwrap();
    assert_eq!(deployed.status, JobStatus::Deployed, "{:?}", deployed.reason);
    let d = deployed.deployment.clone().unwrap();
    assert_eq!((d.endpoint.as_str(), d.serving, d.status.as_deref()), (endpoint.as_str(), Some(1), Some("InService")));

    // Late and repeated news after the fact changes nothing.
    stack.put_event(&endpoint_event(&endpoint, &model, "CREATING")).await;
    stack.put_event(&endpoint_event(&endpoint, &model, "IN_SERVICE")).await;
    stack.put_event(&completed).await;
    stack.send_training(&JobMessage::check_deployment("dep").body().unwrap()).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("dep").await.unwrap().status, JobStatus::Deployed);
    assert_eq!(counting.deploys.load(Ordering::SeqCst), 1);
    assert_eq!(names_in_moto(&stack, &endpoint).await.1.len(), 1);
    check_outputs(&stack, "dep").await;

    // A day later, nothing asked of it: hitloop status warns (CloudWatch,
    // on moto, has no invocation of it).
    let target = target(&stack);
    let day_old = DeploymentRecord { requested_at: Some(now_ms() - DAY_MS - 1000), ..d.clone() };
    let back_a_day =
        DeployTransition { from: vec![JobStatus::Deployed], to: JobStatus::Deployed, record: day_old, reason: None };
    assert!(stack.store.record_deployment("dep", &back_a_day).await.unwrap());
    let idle = status::summary(&target, "dep").await.unwrap();
    assert_eq!(idle.warnings.len(), 1, "{:?}", idle.warnings);
    assert!(
        idle.warnings[0].contains(&format!("endpoint {endpoint} has served nothing for a day")),
        "{:?}",
        idle.warnings
    );
    assert!(status::render(&idle).contains("warning: endpoint"));

    // A small batch is answered by the endpoint (the local SageMaker
    // Runtime, with the model training wrote): no transform job, and the
    // endpoint's requests are counted, so the warning goes.
    let batch = "id,sepal_length,sepal_width,petal_length,petal_width\n\
                 q1,5.1,3.5,1.4,0.2\nq2,6.7,3.0,5.2,2.3\nq3,5.9,2.8,4.3,1.3\n";
    stack.put(&BatchKeys::of("dep", "few").manifest, batch).await;
    stack.router.pump_until_idle(20).await;
    let few = stack.store.batch("dep", "few").await.unwrap().unwrap();
    assert_eq!(
        (few.status, few.endpoint.as_deref(), few.transform_job.as_deref(), few.model_version),
        (BatchStatus::Predicted, Some(endpoint.as_str()), None, Some(1)),
        "{:?}",
        few.reason
    );
    let predictions = stack.get(&BatchKeys::of("dep", "few").predictions).await.unwrap();
    let labels: Vec<&str> = predictions.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(labels, ["Iris-setosa", "Iris-virginica", "Iris-versicolor"], "{predictions}");
    let listed = stack.sagemaker().list_transform_jobs().name_contains(&endpoint).send().await.unwrap();
    assert!(listed.transform_job_summaries().is_empty(), "no transform job");
    let used = status::summary(&target, "dep").await.unwrap();
    assert!(used.warnings.is_empty(), "{:?}", used.warnings);

    // Torn down, twice: nothing of it is left, and nothing brings it back.
    let said = teardown(&target, "dep", false).await.unwrap();
    assert!(said.contains(&format!("deleted endpoint {endpoint}")), "{said}");
    assert!(said.contains(&format!("deleted model and endpoint configuration {model}")), "{said}");
    assert_eq!(names_in_moto(&stack, &endpoint).await, (vec![], vec![], vec![]));
    let again = teardown(&target, "dep", true).await.unwrap();
    assert!(again.contains(&format!("endpoint {endpoint}: none")), "{again}");
    assert!(stack.get(&hitloop_core::dataset::OutputKeys::of("dep").labels).await.is_none(), "--outputs: gone");
    stack.put_event(&endpoint_event(&endpoint, &model, "IN_SERVICE")).await;
    stack.put_event(&completed).await;
    stack.router.pump_until_idle(20).await;
    let gone = stack.job("dep").await.unwrap();
    assert_eq!((gone.status, gone.reason.as_deref()), (JobStatus::TornDown, Some("torn down by hitloop teardown")));
    assert_eq!(counting.deploys.load(Ordering::SeqCst), 1);
    assert_eq!(names_in_moto(&stack, &endpoint).await, (vec![], vec![], vec![]));
}

/// The hitloop command's view of the test's stack.
fn target(stack: &Stack) -> Target {
    Target::new(&stack.sdk, stack.resources.bucket.clone(), stack.resources.table.clone(), Some(local_state(stack)))
}

fn local_state(stack: &Stack) -> LocalState {
    LocalState {
        aws_endpoint: aws_endpoint(),
        mturk_url: stack.mturk.url.clone(),
        bucket: stack.resources.bucket.clone(),
        table: stack.resources.table.clone(),
        pid: std::process::id(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_torn_down_while_training_deploys_nothing() {
    let (stack, counting) = stack().await;
    let job = stack.run_job("early", &deploying_job(), &iris_manifest_every(5)).await;
    assert_eq!(job.status, JobStatus::Training);
    let said = teardown(&target(&stack), "early", false).await.unwrap();
    assert!(said.contains("endpoint") && said.contains(": none"), "nothing deployed yet: {said}");
    // The training job finishes after all.
    let name = training_job_name("early", job.created_at);
    assert!(LocalTrainer::new(&stack.sdk).run(&name).await.unwrap());
    stack.router.pump_until_idle(20).await;
    stack.send_training(&JobMessage::check_deployment("early").body().unwrap()).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("early").await.unwrap().status, JobStatus::TornDown);
    assert_eq!(counting.deploys.load(Ordering::SeqCst), 0, "SageMaker was never asked");
    assert_eq!(names_in_moto(&stack, &endpoint_name("early", job.created_at)).await, (vec![], vec![], vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_cannot_be_loaded_ends_deploy_failed_with_the_reason() {
    let (stack, _) = stack().await;
    let job = trained(&stack, "broken").await;
    assert_eq!(job.status, JobStatus::Deploying);
    // The artifact is not a model (overwritten by hand, say).
    let artifacts = job.training.as_ref().unwrap().model_artifacts.clone().unwrap();
    let key = artifacts.strip_prefix(&format!("s3://{}/", stack.resources.bucket)).unwrap();
    stack.put(key, b"not a model".to_vec()).await;
    LocalEndpoints::new(&stack.sdk).run_pending().await;
    stack.router.pump_until_idle(20).await;
    let failed = stack.job("broken").await.unwrap();
    assert_eq!(failed.status, JobStatus::DeployFailed);
    let reason = failed.reason.clone().unwrap();
    assert!(
        reason.contains(&endpoint_name("broken", job.created_at)) && reason.contains("could not be loaded"),
        "{reason}"
    );
    assert!(failed.deployment.unwrap().failure_reason.is_some());
    // A late IN_SERVICE does not undo it; the labels stay.
    let model = model_name("broken", job.created_at, 1);
    stack.put_event(&endpoint_event(&endpoint_name("broken", job.created_at), &model, "IN_SERVICE")).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("broken").await.unwrap().status, JobStatus::DeployFailed);
    check_outputs(&stack, "broken").await;
}
