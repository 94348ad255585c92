//! Retraining (run by train): once a batch's unsure rows are verified, the
//! job trains model version N+1 on version N's rows and the rows of every
//! batch verified since, exactly once (the job's conditional move to
//! `training` version N+1 is the claim, naming the batches; each batch then
//! records the version, and a claim that a crash left off a batch is put on
//! it by the next look; the training job's name is derived from the job and
//! the version, and SageMaker is asked whether it exists first). A batch
//! verified while a version trains or deploys waits for that version's end,
//! which looks again (sweep too). A completed version deploys like the
//! first (`deploy`): the endpoint moves to the new model, the old one
//! serving until the new one is in service.

use hitloop_core::dataset::OutputKeys;
use hitloop_core::error::{Error, Result};
use hitloop_core::plan::retrain::{claimed_by, next_retrain, unmarked, RetrainPlan, CLAIMABLE};
use hitloop_core::plan::train::{retraining, training_request, Outcome};
use hitloop_core::plan::verify::{people_labels, retrain_rows, train_prefix};
use hitloop_core::plan::versions::{labeling_cost, train_rows, with_version, ModelVersionReport, VerificationCost};
use hitloop_core::records::{now_ms, Item, Job, PredictionBatch, VerifiedBatch};
use hitloop_core::training_job::TrainingView;

use crate::ports::all_items;
use crate::steps::train::{self, TrainDeps};

const MAX_CSV: usize = 256 * 1024 * 1024;

fn train_file(job_id: &str, version: u32) -> String {
    format!("{}train.csv", train_prefix(job_id, version))
}

/// Starts the retrain the job's waiting verified batches ask for, if the
/// job rests where one may start; otherwise leaves them waiting.
pub async fn retrain_due(deps: &TrainDeps, job_id: &str) -> Result<Outcome> {
    let Some(parent) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    let batches = deps.store.job_batches(job_id).await?;
    mark_claimed(deps, &parent, &batches).await?;
    let (version, verified) = match next_retrain(&parent, &batches) {
        RetrainPlan::Start { version, verified } => (version, verified),
        RetrainPlan::Nothing => return Ok(Outcome::AlreadyHandled),
        RetrainPlan::AfterCurrent => {
            tracing::info!(job_id, "a verified batch waits for the model version in training or deploying");
            return Ok(Outcome::AlreadyHandled);
        }
        RetrainPlan::Cannot(why) => return Ok(Outcome::Ignored(why)),
    };
    let current = version - 1;
    // Version N+1's rows first: written again by a retry, the same.
    let previous =
        deps.blobs.text(&parent.bucket, &train_file(job_id, current), MAX_CSV).await?.ok_or_else(|| {
            Error::Permanent(format!("{} is gone: nothing to retrain on", train_file(job_id, current)))
        })?;
    let mut rows_of_people = Vec::new();
    for v in &verified {
        rows_of_people.extend(verified_items(deps, v).await?);
    }
    let (rows, added) = retrain_rows(&parent, previous.as_bytes(), &rows_of_people).map_err(Error::Permanent)?;
    deps.blobs.put(&parent.bucket, &train_file(job_id, version), rows, "text/csv").await?;
    let batches_taken = verified.len();
    if !deps.store.record_training(job_id, &retraining(&parent, version, verified)).await? {
        return Ok(Outcome::AlreadyHandled);
    }
    tracing::info!(job_id, version, added, batches = batches_taken, "retraining with the verified rows");
    let Some(job) = deps.store.job(job_id).await? else { return Ok(Outcome::AlreadyHandled) };
    mark_claimed(deps, &job, &batches).await?;
    start_version(deps, &job).await
}

/// Puts the job's retrain claim on the batches it took (each once).
async fn mark_claimed(deps: &TrainDeps, job: &Job, batches: &[PredictionBatch]) -> Result<()> {
    for (batch, version) in unmarked(job, batches) {
        deps.store.update_batch(&claimed_by(&batch, version, now_ms()), &CLAIMABLE).await?;
    }
    Ok(())
}

/// A verification job's items with people's labels on them.
async fn verified_items(deps: &TrainDeps, v: &VerifiedBatch) -> Result<Vec<Item>> {
    let Some(vjob) = deps.store.job(&v.verification_job).await? else {
        return Err(Error::Permanent(format!("the verification job {} is gone", v.verification_job)));
    };
    let labels = deps
        .blobs
        .text(&vjob.bucket, &OutputKeys::of(&v.verification_job).labels, MAX_CSV)
        .await?
        .ok_or_else(|| Error::Retryable(format!("{}'s labels.csv is not written yet", v.verification_job)))?;
    let people = people_labels(labels.as_bytes()).map_err(Error::Permanent)?;
    let mut items = all_items(deps.store.as_ref(), &v.verification_job).await?;
    for item in &mut items {
        item.label = people.get(&item.item_id).map(|(label, _)| label.clone());
    }
    Ok(items)
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
    let mut verifications = Vec::new();
    for v in &record.verified {
        let vjob = deps.store.job(&v.verification_job).await?;
        let batch = deps.store.batch(job_id, &v.batch).await?;
        if let (Some(vjob), Some(batch)) = (vjob, batch) {
            verifications.push(VerificationCost {
                job: v.verification_job.clone(),
                batch: v.batch.clone(),
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
        verifications,
    };
    let key = OutputKeys::of(job_id).report;
    let report = match deps.blobs.text(&job.bucket, &key, MAX_CSV).await? {
        Some(text) => serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({})),
        None => serde_json::json!({}),
    };
    let body = serde_json::to_vec_pretty(&with_version(report, &entry)).map_err(Error::permanent)?;
    deps.blobs.put(&job.bucket, &key, body, "application/json").await
}
