//! Verification (run by train). When a batch's predictions are written and
//! the job verifies, the rows below `verify.below` go back to people: their
//! verification job is uploaded as a user would upload a job (job.json, the
//! template, the manifest last), so ingest, publish and collect run it like
//! any other, once (its id is derived from job and batch, and ingest takes
//! one manifest per job). When that job completes, people's labels replace
//! the model's in the batch's predictions.csv, once (the batch's move from
//! `predicted` to `verified`), and the batch waits for the next model
//! version (`retrain`).

use hitloop_core::dataset::OutputKeys;
use hitloop_core::error::{Error, Result};
use hitloop_core::plan::train::Outcome;
use hitloop_core::plan::verify::{merge_verified, people_labels, unsure, verification_files, VERIFICATION_TEMPLATE};
use hitloop_core::predict::{BatchKeys, Prediction, MAX_BATCH_BYTES};
use hitloop_core::records::{now_ms, BatchStatus, Job, JobStatus, PredictionBatch};

use crate::steps::retrain;
use crate::steps::train::TrainDeps;

const MAX_CSV: usize = 64 * 1024 * 1024;

/// What verification asks of a batch just predicted: how many rows are
/// unsure and the job verifying them (uploaded), or nothing.
pub async fn send_unsure(
    deps: &TrainDeps,
    job: &Job,
    batch: &PredictionBatch,
    predictions: &[Prediction],
) -> Result<(Option<u64>, Option<String>)> {
    let Some(verify) = job.spec.verify.as_ref().filter(|_| batch.verify) else { return Ok((None, None)) };
    let ids = unsure(predictions, verify.below);
    if ids.is_empty() {
        return Ok((Some(0), None));
    }
    let keys = BatchKeys::of(&job.job_id, &batch.batch);
    let manifest = deps
        .blobs
        .text(&job.bucket, &keys.manifest, MAX_BATCH_BYTES as usize)
        .await?
        .ok_or_else(|| Error::Permanent(format!("the batch's {} is gone", keys.manifest)))?;
    let files = verification_files(job, &batch.batch, manifest.as_bytes(), &ids).map_err(Error::Permanent)?;
    let prefix = format!("jobs/{}/", files.job_id);
    let template = format!("{prefix}{VERIFICATION_TEMPLATE}");
    deps.blobs.put(&job.bucket, &format!("{prefix}job.json"), files.job_json.into_bytes(), "application/json").await?;
    deps.blobs.put(&job.bucket, &template, files.template.into_bytes(), "text/html").await?;
    deps.blobs.put(&job.bucket, &format!("{prefix}manifest.csv"), files.manifest, "text/csv").await?;
    tracing::info!(job_id = %job.job_id, batch = %batch.batch, unsure = ids.len(), verification = %files.job_id, "unsure predictions sent to people");
    Ok((Some(ids.len() as u64), Some(files.job_id)))
}

/// A verification job completed (its outputs written): people's labels
/// into the batch's predictions.
pub async fn on_verified(deps: &TrainDeps, verification_id: &str) -> Result<Outcome> {
    let Some(vjob) = deps.store.job(verification_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {verification_id}")));
    };
    let Some(of) = vjob.spec.verifies.clone() else { return Ok(Outcome::AlreadyHandled) };
    if vjob.status != JobStatus::Complete || vjob.outputs_at.is_none() {
        return Ok(Outcome::AlreadyHandled);
    }
    let Some(batch) = deps.store.batch(&of.job, &of.batch).await? else {
        return Ok(Outcome::Ignored(format!("there is no batch {} of job {}", of.batch, of.job)));
    };
    if batch.verification.as_deref() != Some(verification_id) {
        return Ok(Outcome::Ignored(format!("{verification_id} is not the verification of batch {}", of.batch)));
    }
    match batch.status {
        BatchStatus::Predicted => {}
        // Merged before: the retrain may still be to start (a crash, or the
        // job was busy with the previous version).
        BatchStatus::Verified => return retrain::retrain_due(deps, &of.job).await,
        other => return Ok(Outcome::Ignored(format!("batch {} is {other:?}", of.batch))),
    }
    let labels = deps
        .blobs
        .text(&vjob.bucket, &OutputKeys::of(verification_id).labels, MAX_CSV)
        .await?
        .ok_or_else(|| Error::Retryable(format!("{verification_id}'s labels.csv is not written yet")))?;
    let people = people_labels(labels.as_bytes()).map_err(Error::Permanent)?;
    let Some(parent) = deps.store.job(&of.job).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {}", of.job)));
    };
    let keys = BatchKeys::of(&of.job, &of.batch);
    let predictions = deps
        .blobs
        .text(&parent.bucket, &keys.predictions, MAX_CSV)
        .await?
        .ok_or_else(|| Error::Permanent(format!("{} is gone", keys.predictions)))?;
    let merged = merge_verified(predictions.as_bytes(), &people).map_err(Error::Permanent)?;
    deps.blobs.put(&parent.bucket, &keys.predictions, merged, "text/csv").await?;
    // It waits for the next model version, which learns from its rows.
    let done = PredictionBatch { status: BatchStatus::Verified, retrain_version: None, updated_at: now_ms(), ..batch };
    if deps.store.update_batch(&done, &[BatchStatus::Predicted]).await? {
        tracing::info!(job_id = %of.job, batch = %of.batch, verified = people.len(), "people's labels are in the predictions");
    }
    retrain::retrain_due(deps, &of.job).await
}
