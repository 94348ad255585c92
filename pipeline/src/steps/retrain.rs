//! Retraining (run by train): once a batch's unsure rows are verified, the
//! job trains model version N+1 on version N's rows and the verified ones,
//! exactly once per verification job (the job's conditional move to
//! `training` version N+1 is the claim; the training job's name is derived
//! from the job and the version, and SageMaker is asked whether it exists
//! first). Its completion deploys it like the first (`deploy`): the endpoint
//! moves to the new model, the old one serving until the new one is in
//! service.

use std::collections::BTreeMap;

use hitloop_core::dataset::OutputKeys;
use hitloop_core::error::{Error, Result};
use hitloop_core::plan::train::{retraining, training_request, Outcome};
use hitloop_core::plan::verify::{retrain_rows, train_prefix};
use hitloop_core::plan::versions::{labeling_cost, train_rows, with_version, ModelVersionReport, VerificationCost};
use hitloop_core::records::{Job, JobStatus};
use hitloop_core::training_job::TrainingView;

use crate::ports::all_items;
use crate::steps::train::{self, TrainDeps};

const MAX_CSV: usize = 256 * 1024 * 1024;

fn train_file(job_id: &str, version: u32) -> String {
    format!("{}train.csv", train_prefix(job_id, version))
}

/// Starts the retrain a verified batch asks for, unless it started (or a
/// later version did). `people`: the verification job's labels by item.
pub async fn retrain_if_due(
    deps: &TrainDeps,
    job_id: &str,
    batch_name: &str,
    verification_id: &str,
    people: &BTreeMap<String, (String, f64)>,
) -> Result<Outcome> {
    let Some(batch) = deps.store.batch(job_id, batch_name).await? else { return Ok(Outcome::AlreadyHandled) };
    let Some(version) = batch.retrain_version else { return Ok(Outcome::AlreadyHandled) };
    let Some(parent) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    let current = parent.training.as_ref().map(|t| t.model_version()).unwrap_or(1);
    if current >= version {
        return Ok(Outcome::AlreadyHandled);
    }
    match parent.status {
        JobStatus::Trained | JobStatus::Deployed | JobStatus::DeployFailed => {}
        JobStatus::Training | JobStatus::Deploying => {
            return Err(Error::Retryable(format!(
                "model version {current} of {job_id} is still being trained or deployed; version {version} after it"
            )))
        }
        other => return Ok(Outcome::Ignored(format!("job {job_id} is {other}: no retraining"))),
    }
    // Version N+1's rows first: written again by a retry, the same.
    let previous =
        deps.blobs.text(&parent.bucket, &train_file(job_id, current), MAX_CSV).await?.ok_or_else(|| {
            Error::Permanent(format!("{} is gone: nothing to retrain on", train_file(job_id, current)))
        })?;
    let mut verified = all_items(deps.store.as_ref(), verification_id).await?;
    for item in &mut verified {
        item.label = people.get(&item.item_id).map(|(label, _)| label.clone());
    }
    let (rows, added) = retrain_rows(&parent, previous.as_bytes(), &verified).map_err(Error::Permanent)?;
    deps.blobs.put(&parent.bucket, &train_file(job_id, version), rows, "text/csv").await?;
    if !deps.store.record_training(job_id, &retraining(&parent, version, batch_name, verification_id)).await? {
        return Ok(Outcome::AlreadyHandled);
    }
    tracing::info!(job_id, version, added, "retraining with the verified rows");
    let Some(job) = deps.store.job(job_id).await? else { return Ok(Outcome::AlreadyHandled) };
    start_version(deps, &job).await
}

/// Starts the training job of the job's current (retraining) version; after
/// a crash, sweep's check calls it again.
pub async fn start_version(deps: &TrainDeps, job: &Job) -> Result<Outcome> {
    let Some(record) = job.training.clone() else { return Ok(Outcome::AlreadyHandled) };
    match version_request(deps, job, &record.name, record.model_version()).await {
        Ok(request) => train::start(deps, job, &request).await,
        Err(why) => train::fail(deps, job, &record.name, &why).await,
    }
}

async fn version_request(
    deps: &TrainDeps,
    job: &Job,
    name: &str,
    version: u32,
) -> std::result::Result<hitloop_core::training_job::TrainingRequest, String> {
    let training = job.spec.training.as_ref().ok_or("the job trains no model")?;
    let sm = training.sagemaker.as_ref().ok_or("the job trains no SageMaker model")?;
    let mut keys = OutputKeys::of(&job.job_id);
    keys.train_prefix = train_prefix(&job.job_id, version);
    let has_test = deps.blobs.head(&job.bucket, &keys.test).await.map_err(|e| e.to_string())?.is_some();
    let features = training.feature_columns(&job.columns).len();
    training_request(job, sm, &deps.settings, name, &keys, has_test, features)
}

/// A model version finished training: its line in report.json's `models`
/// (written again by a repeated state change, the same).
pub async fn report_version(deps: &TrainDeps, job_id: &str, view: &TrainingView) -> Result<()> {
    let Some(job) = deps.store.job(job_id).await? else { return Ok(()) };
    let Some(record) = job.training.clone().filter(|t| t.name == view.name) else { return Ok(()) };
    let Some(training) = job.spec.training.as_ref() else { return Ok(()) };
    let version = record.model_version();
    let rows = deps.blobs.text(&job.bucket, &train_file(job_id, version), MAX_CSV).await?.unwrap_or_default();
    let mut verification = None;
    if let (Some(batch_name), Some(vid)) = (&record.verified_batch, &record.verification_job) {
        let vjob = deps.store.job(vid).await?;
        let batch = deps.store.batch(job_id, batch_name).await?;
        if let (Some(vjob), Some(batch)) = (vjob, batch) {
            verification = Some(VerificationCost {
                job: vid.clone(),
                batch: batch_name.clone(),
                batch_rows: batch.rows,
                verified_rows: vjob.labeled,
                cost_usd: vjob.spent,
                labeling_every_row_usd: labeling_cost(&job, batch.rows),
            });
        }
    }
    let entry = ModelVersionReport {
        version,
        training_job: record.name.clone(),
        train_rows: train_rows(&rows, training.layout),
        held_out_accuracy: view.held_out_accuracy,
        verification,
    };
    let key = OutputKeys::of(job_id).report;
    let report = match deps.blobs.text(&job.bucket, &key, MAX_CSV).await? {
        Some(text) => serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({})),
        None => serde_json::json!({}),
    };
    let body = serde_json::to_vec_pretty(&with_version(report, &entry)).map_err(Error::permanent)?;
    deps.blobs.put(&job.bucket, &key, body, "application/json").await
}
