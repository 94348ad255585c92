//! train: a job's labeling is complete. Write what it yields under
//! `jobs/<job>/output/`, then start its SageMaker training job, exactly once
//! however often and however concurrently the completion arrives; then follow
//! the training job's state changes to `trained` or `training_failed`, or,
//! for a job that deploys its model, to `deploying` (`crate::steps::deploy`).
//!
//! Exactly once, without trusting SageMaker to refuse a duplicate name: the
//! name is derived from the job; an invocation must hold the job's training
//! claim (a conditional write with a lease) to call CreateTrainingJob, and
//! asks SageMaker first whether the job exists (a crash after creating it).

use std::sync::Arc;

use hitloop_core::dataset;
use hitloop_core::error::{Error, Result};
use hitloop_core::messages::TrainingMessage;
use hitloop_core::plan::train::{
    adopt, failed, is_own, on_complete, outputs, started, Outcome, TrainSettings, Transition,
};
use hitloop_core::records::{now_ms, Job, JobStatus};
use hitloop_core::training::{job_id_of_training, training_job_name};
use hitloop_core::training_job::{StartError, TrainingRequest, TrainingView};

use crate::ports::{
    all_items, Batches, Blobs, Deployer, Deployments, EndpointPredictor, Items, Jobs, Standings, Trainer,
    TrainingClaims, Transformer,
};
use crate::steps::{deploy, predict, retrain, verify};

/// Longer than the function's timeout: a claim outlives its holder only
/// when the holder died, and then the next delivery takes over.
const CLAIM_LEASE_MS: i64 = 10 * 60 * 1000;

pub trait TrainStore: Jobs + Items + TrainingClaims + Deployments + Batches + Standings {}
impl<T: Jobs + Items + TrainingClaims + Deployments + Batches + Standings + ?Sized> TrainStore for T {}

#[derive(Clone)]
pub struct TrainDeps {
    pub store: Arc<dyn TrainStore>,
    pub blobs: Arc<dyn Blobs>,
    pub trainer: Arc<dyn Trainer>,
    pub deployer: Arc<dyn Deployer>,
    pub transformer: Arc<dyn Transformer>,
    /// A deployed job's endpoint, for small prediction batches.
    pub predictor: Arc<dyn EndpointPredictor>,
    pub settings: TrainSettings,
}

pub async fn handle_message(deps: &TrainDeps, message: TrainingMessage) -> Result<Outcome> {
    match message {
        TrainingMessage::JobComplete(job_id) => {
            let outcome = on_job_complete(deps, &job_id).await?;
            // A verification job's labels go back to its batch (again after
            // a crash: the batch's state says whether they did).
            match verify::on_verified(deps, &job_id).await? {
                Outcome::AlreadyHandled => Ok(outcome),
                merged => Ok(merged),
            }
        }
        TrainingMessage::CheckTraining(job_id) => check_training(deps, &job_id).await,
        TrainingMessage::StateChange(view) => on_training_state(deps, &view).await,
        TrainingMessage::CheckDeployment(job_id) => deploy::check_deployment(deps, &job_id).await,
        TrainingMessage::EndpointChange(view) => deploy::on_endpoint_state(deps, &view).await,
        TrainingMessage::Predict { job_id, batch } => predict::start(deps, &job_id, &batch).await,
        TrainingMessage::TransformChange(view) => predict::on_transform_state(deps, &view).await,
        TrainingMessage::CheckBatch { job_id, batch } => predict::check(deps, &job_id, &batch).await,
    }
}

/// The job is complete: outputs, then the training job.
pub async fn on_job_complete(deps: &TrainDeps, job_id: &str) -> Result<Outcome> {
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    if let Some(done) = on_complete(&job).map_err(Error::Permanent)? {
        return Ok(done);
    }
    let mut items = all_items(deps.store.as_ref(), job_id).await?;
    dataset::in_manifest_order(&mut items);
    let name = training_job_name(job_id, job.created_at);
    let standings = deps.store.all_standings(job_id).await?;
    let out = outputs(&job, &items, &deps.settings, &name, &standings).map_err(Error::Permanent)?;
    for f in out.files {
        deps.blobs.put(&job.bucket, &f.key, f.body, f.content_type).await?;
    }
    deps.store.record_outputs(job_id, now_ms()).await?;
    let request = match out.training {
        None => {
            tracing::info!(job_id, "outputs written; the job asks for no training job");
            return Ok(Outcome::OutputsWritten);
        }
        Some(Err(reason)) => return fail(deps, &job, &name, &reason).await,
        Some(Ok(request)) => request,
    };
    let now = now_ms();
    if !deps.store.claim_training(job_id, now, now + CLAIM_LEASE_MS).await? {
        return match deps.store.progress(job_id).await?.map(|p| p.status) {
            Some(JobStatus::Complete) => {
                Err(Error::Retryable(format!("another invocation is starting the training job of {job_id}")))
            }
            _ => Ok(Outcome::AlreadyHandled),
        };
    }
    match start(deps, &job, &request).await {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // Let the next delivery try at once rather than after the lease.
            if let Err(release) = deps.store.release_training(job_id).await {
                tracing::warn!(job_id, error = %release, "could not release the training claim; it expires");
            }
            Err(e)
        }
    }
}

/// Starts `request` unless it exists (then adopts what SageMaker says of it).
pub(crate) async fn start(deps: &TrainDeps, job: &Job, request: &TrainingRequest) -> Result<Outcome> {
    if let Some(view) = deps.trainer.describe(&request.name).await? {
        tracing::info!(job_id = %job.job_id, name = %request.name, "the training job exists (an earlier attempt); adopting it");
        return apply(deps, job, &adopt(job, &view)).await;
    }
    match deps.trainer.start(request).await? {
        Ok(arn) => {
            // False only if a state change got there first: it is newer.
            deps.store.record_training(&job.job_id, &started(job, request, arn)).await?;
            tracing::info!(job_id = %job.job_id, name = %request.name, "training job started");
            Ok(Outcome::Started(request.name.clone()))
        }
        Err(StartError::Exists) => match deps.trainer.describe(&request.name).await? {
            Some(view) => apply(deps, job, &adopt(job, &view)).await,
            None => Err(Error::Retryable(format!("SageMaker says {} exists but cannot describe it yet", request.name))),
        },
        Err(StartError::Refused(message)) => {
            fail(deps, job, &request.name, &format!("SageMaker refused the training job: {message}")).await
        }
    }
}

/// The training job `name` failed or cannot start; a retrain's reason names
/// its model version.
pub(crate) async fn fail(deps: &TrainDeps, job: &Job, name: &str, reason: &str) -> Result<Outcome> {
    let version = job.training.as_ref().filter(|t| t.name == name).map_or(1, |t| t.model_version());
    let t = if version > 1 {
        let mut t = failed(name, &format!("model version {version}: {reason}"));
        t.record.version = version;
        t
    } else {
        failed(name, reason)
    };
    if deps.store.record_training(&job.job_id, &t).await? {
        tracing::warn!(job_id = %job.job_id, reason, "training failed; the labels stay in S3");
        Ok(Outcome::Failed(reason.into()))
    } else {
        Ok(Outcome::AlreadyHandled)
    }
}

/// A state change from SageMaker (through EventBridge).
pub async fn on_training_state(deps: &TrainDeps, view: &TrainingView) -> Result<Outcome> {
    let Some(job_id) = job_id_of_training(&view.name) else {
        return Ok(Outcome::Ignored(format!("{} is not a hitloop training job", view.name)));
    };
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id} for {}", view.name)));
    };
    if !is_own(&job, view) {
        return Ok(Outcome::Ignored(format!("{} belongs to an earlier job {job_id}", view.name)));
    }
    let moved = apply(deps, &job, &adopt(&job, view)).await?;
    if view.status == "Completed" {
        retrain::report_version(deps, job_id, view).await?;
    }
    then_deploy(deps, job_id, moved).await
}

/// A job whose model was trained and that asks for a deployment is
/// `deploying`: ask SageMaker for it now. Also after a duplicate state
/// change: the invocation that moved the job may have died before asking.
async fn then_deploy(deps: &TrainDeps, job_id: &str, moved: Outcome) -> Result<Outcome> {
    match moved {
        // A version trained that serves nowhere: batches verified while it
        // trained go to the next one now.
        Outcome::Moved(JobStatus::Trained) => {
            retrain::retrain_due(deps, job_id).await?;
            Ok(moved)
        }
        Outcome::Moved(JobStatus::Deploying) | Outcome::AlreadyHandled => {
            match deploy::request_if_due(deps, job_id).await? {
                Outcome::AlreadyHandled => Ok(moved),
                requested => Ok(requested),
            }
        }
        other => Ok(other),
    }
}

pub(crate) async fn apply(deps: &TrainDeps, job: &Job, t: &Transition) -> Result<Outcome> {
    if deps.store.record_training(&job.job_id, t).await? {
        tracing::info!(job_id = %job.job_id, name = %t.record.name, status = ?t.record.status, "training state recorded");
        Ok(Outcome::Moved(t.to))
    } else {
        Ok(Outcome::AlreadyHandled)
    }
}

/// sweep's follow-up on a job that has waited long: a lost completion or a
/// lost state change.
pub async fn check_training(deps: &TrainDeps, job_id: &str) -> Result<Outcome> {
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    match job.status {
        JobStatus::Complete => on_job_complete(deps, job_id).await,
        JobStatus::Training => {
            let record = job.training.clone().unwrap_or_default();
            let name = if record.name.is_empty() { training_job_name(job_id, job.created_at) } else { record.name };
            match deps.trainer.describe(&name).await? {
                Some(view) => {
                    let moved = apply(deps, &job, &adopt(&job, &view)).await?;
                    if view.status == "Completed" {
                        retrain::report_version(deps, job_id, &view).await?;
                    }
                    then_deploy(deps, job_id, moved).await
                }
                // A retrain whose start was lost in a crash: start it now.
                None if record.version > 1 => retrain::start_version(deps, &job).await,
                None => fail(deps, &job, &name, &format!("SageMaker has no training job {name}")).await,
            }
        }
        _ => Ok(Outcome::AlreadyHandled),
    }
}
