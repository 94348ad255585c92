//! deploy (run by the train function): put a trained job's model behind its
//! endpoint, exactly once however often the training's completion, a state
//! change or sweep's check arrives; then follow the endpoint's state changes
//! to `deployed` or `deploy_failed`.
//!
//! Exactly once: the model, its endpoint configuration and the endpoint are
//! named from the job, and an invocation must hold the job's deployment
//! claim (a conditional write with a lease) to ask SageMaker for them, so two
//! invocations never both create or move the endpoint.

use hitloop_core::error::Result;
use hitloop_core::plan::deploy::{
    adopt_endpoint, check_deployment as check, deploy_failed, deploy_request, is_own_endpoint, requested, DeployCheck,
    DeployTransition, EndpointView,
};
use hitloop_core::plan::train::Outcome;
use hitloop_core::records::{now_ms, Job, JobStatus};
use hitloop_core::training::job_id_of_training;

use crate::steps::retrain;
use crate::steps::train::TrainDeps;

/// Longer than the function's timeout, as for training.
const CLAIM_LEASE_MS: i64 = 10 * 60 * 1000;

/// Asks SageMaker for the deployment the job is waiting for, unless it was
/// asked already (or another invocation is asking).
pub async fn request_if_due(deps: &TrainDeps, job_id: &str) -> Result<Outcome> {
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    match &job.deployment {
        Some(d) if job.status == JobStatus::Deploying && d.requested_at.is_none() => request(deps, &job).await,
        _ => Ok(Outcome::AlreadyHandled),
    }
}

/// Creates (or moves) the job's endpoint under the claim.
async fn request(deps: &TrainDeps, job: &Job) -> Result<Outcome> {
    let Some(record) = job.deployment.clone() else {
        return Ok(Outcome::Ignored(format!("job {} has no deployment", job.job_id)));
    };
    let now = now_ms();
    if !deps.store.claim_deployment(&job.job_id, now, now + CLAIM_LEASE_MS).await? {
        return Ok(Outcome::AlreadyHandled);
    }
    let outcome = async {
        let request = match deploy_request(job, record.version, &deps.settings) {
            Ok(r) => r,
            Err(why) => return apply(deps, job, &deploy_failed(&record, &why)).await,
        };
        match deps.deployer.deploy(&request).await? {
            Ok(()) => {
                if !deps.store.record_deployment(&job.job_id, &requested(&record, now_ms())).await? {
                    return undo_if_torn_down(deps, &job.job_id, &request.endpoint, &request.model).await;
                }
                tracing::info!(job_id = %job.job_id, endpoint = %request.endpoint, model = %request.model, "deployment requested");
                Ok(Outcome::Started(request.model))
            }
            Err(why) => apply(deps, job, &deploy_failed(&record, &format!("SageMaker refused it: {why}"))).await,
        }
    }
    .await;
    if outcome.is_err() {
        // Let the next delivery try at once rather than after the lease.
        if let Err(release) = deps.store.release_deployment(&job.job_id).await {
            tracing::warn!(job_id = %job.job_id, error = %release, "could not release the deployment claim; it expires");
        }
    }
    outcome
}

/// The job left `deploying` while SageMaker was being asked: if it was torn
/// down, what was just created goes too (teardown may have run before it
/// existed).
async fn undo_if_torn_down(deps: &TrainDeps, job_id: &str, endpoint: &str, model: &str) -> Result<Outcome> {
    let status = deps.store.job(job_id).await?.map(|j| j.status);
    if status == Some(JobStatus::TornDown) {
        deps.deployer.delete_endpoint(endpoint).await?;
        deps.deployer.delete_model(model).await?;
        tracing::info!(job_id, endpoint, "the job was torn down while its endpoint was asked for; deleted it again");
    }
    Ok(Outcome::AlreadyHandled)
}

async fn apply(deps: &TrainDeps, job: &Job, t: &DeployTransition) -> Result<Outcome> {
    if deps.store.record_deployment(&job.job_id, t).await? {
        match &t.reason {
            Some(reason) if t.to == JobStatus::DeployFailed => {
                tracing::warn!(job_id = %job.job_id, reason, "deployment failed; the trained model stays in S3")
            }
            _ => tracing::info!(job_id = %job.job_id, status = ?t.record.status, "deployment state recorded"),
        }
        Ok(Outcome::Moved(t.to))
    } else {
        Ok(Outcome::AlreadyHandled)
    }
}

/// A state change of an endpoint (through EventBridge).
pub async fn on_endpoint_state(deps: &TrainDeps, view: &EndpointView) -> Result<Outcome> {
    // The endpoint is named like the training job: prefix, job id, digest.
    let Some(job_id) = job_id_of_training(&view.name) else {
        return Ok(Outcome::Ignored(format!("{} is not a hitloop endpoint", view.name)));
    };
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id} for {}", view.name)));
    };
    if !is_own_endpoint(&job, &view.name) {
        return Ok(Outcome::Ignored(format!("{} belongs to an earlier job {job_id}", view.name)));
    }
    match adopt_endpoint(&job, view) {
        Some(t) => settled(deps, job_id, apply(deps, &job, &t).await?).await,
        None => Ok(Outcome::AlreadyHandled),
    }
}

/// The job's endpoint came to rest (in service or failed): batches verified
/// while this version trained and deployed go to the next one now.
async fn settled(deps: &TrainDeps, job_id: &str, moved: Outcome) -> Result<Outcome> {
    if matches!(moved, Outcome::Moved(JobStatus::Deployed | JobStatus::DeployFailed)) {
        retrain::retrain_due(deps, job_id).await?;
    }
    Ok(moved)
}

/// sweep's follow-up on a job deploying for long: a request that never went
/// out, or a state change that never came.
pub async fn check_deployment(deps: &TrainDeps, job_id: &str) -> Result<Outcome> {
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    let Some(record) = job.deployment.as_ref().filter(|_| job.status == JobStatus::Deploying) else {
        return Ok(Outcome::AlreadyHandled);
    };
    let view = deps.deployer.endpoint(&record.endpoint).await?;
    match check(&job, view.as_ref()) {
        DeployCheck::Request => request(deps, &job).await,
        DeployCheck::Adopt(t) => settled(deps, job_id, apply(deps, &job, &t).await?).await,
        DeployCheck::Wait => Ok(Outcome::AlreadyHandled),
    }
}
