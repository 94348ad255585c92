//! Prediction batches. ingest receives `jobs/<job>/predict/<batch>/manifest.csv`:
//! checks it against the job's features (a bad batch gets its errors.json
//! and nothing else), writes the transform's input and the ids beside it,
//! records the batch and asks train for it. A small batch of a deployed job
//! is answered by its endpoint at once (`deploy.endpoint_max_rows`; if the
//! endpoint refuses, a transform job predicts it). Otherwise train starts
//! the transform job with the job's current model (exactly once: the name
//! is derived from the job, batch and model version, and SageMaker is asked
//! whether it exists first), and when the transform job completes turns its
//! output into `predictions.csv`.

use hitloop_core::error::{Error, Result};
use hitloop_core::messages::JobMessage;
use hitloop_core::plan::predict::{
    batch_failed, current_version, predicted_by_endpoint, route, transform, transform_end, transforming, Route,
    TransformEnd,
};
use hitloop_core::plan::train::Outcome;
use hitloop_core::predict::{
    check_batch, endpoint_lines, invocation_chunks, predictions, predictions_csv, BatchKey, BatchKeys, BatchProblems,
    BatchSettings, Prediction, INVOKE_MAX_BYTES, INVOKE_MAX_ROWS, MAX_BATCH_BYTES,
};
use hitloop_core::problems::Problem;
use hitloop_core::records::{now_ms, BatchStatus, Job, PredictionBatch};
use hitloop_core::transform_job::TransformView;

use crate::steps::ingest::IngestDeps;
use crate::steps::train::TrainDeps;
use crate::steps::{retrain, verify};

/// The largest transform output read back (a probability per label per row).
const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

fn ids_key(keys: &BatchKeys) -> String {
    format!("{}input/ids.txt", keys.prefix)
}

/// What became of an uploaded batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Checked, input written, train asked.
    Accepted { rows: u64 },
    /// errors.json says why.
    Rejected { problems: usize },
    /// The batch is under way or done: an upload under the same name again.
    AlreadyReceived,
}

/// ingest's part: the batch's manifest was uploaded.
pub async fn receive(deps: &IngestDeps, bucket: &str, key: &BatchKey) -> Result<Received> {
    let keys = BatchKeys::of(&key.job_id, &key.batch);
    let Some(job) = deps.store.job(&key.job_id).await? else {
        let why = format!("there is no job {}: upload the batch under a job's folder", key.job_id);
        return reject(deps, bucket, key, &keys, vec![Problem::new("manifest.csv", why)].into()).await;
    };
    let Some(training) = job.spec.training.as_ref().filter(|t| t.sagemaker.is_some()) else {
        let why = format!("job {} trains no model (training.sagemaker), so nothing can predict", job.job_id);
        return reject(deps, bucket, key, &keys, vec![Problem::new("manifest.csv", why)].into()).await;
    };
    if let Some(existing) = deps.store.batch(&key.job_id, &key.batch).await? {
        match existing.status {
            // Recorded before a crash, or a duplicate event: ask train again.
            BatchStatus::Received => return ask_train(deps, &existing).await,
            BatchStatus::Transforming | BatchStatus::Predicted | BatchStatus::Verified => {
                return Ok(Received::AlreadyReceived)
            }
            BatchStatus::Failed => {}
        }
    }
    let text = match deps.blobs.text(bucket, &keys.manifest, MAX_BATCH_BYTES as usize).await {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(Received::AlreadyReceived),
        Err(Error::Invalid(m)) => {
            return reject(deps, bucket, key, &keys, vec![Problem::new("manifest.csv", m)].into()).await
        }
        Err(e) => return Err(e),
    };
    let settings = match deps.blobs.text(bucket, &keys.settings, 64 * 1024).await {
        Ok(Some(text)) => match serde_json::from_str::<BatchSettings>(&text) {
            Ok(s) => s,
            Err(e) => {
                let problem = Problem::new("batch.json", format!("batch.json is not this batch's settings: {e}"));
                return reject(deps, bucket, key, &keys, vec![problem].into()).await;
            }
        },
        Ok(None) => BatchSettings::default(),
        Err(Error::Invalid(m)) => {
            return reject(deps, bucket, key, &keys, vec![Problem::new("batch.json", m)].into()).await
        }
        Err(e) => return Err(e),
    };
    let features = training.feature_columns(&job.columns);
    let batch = match check_batch(&features, text.as_bytes()) {
        Ok(b) => b,
        Err(problems) => return reject(deps, bucket, key, &keys, problems).await,
    };
    deps.blobs.put(bucket, &keys.input, batch.input, "text/csv").await?;
    deps.blobs.put(bucket, &ids_key(&keys), batch.ids.join("\n").into_bytes(), "text/plain").await?;
    deps.blobs.delete(bucket, &keys.errors).await?;
    let now = now_ms();
    let record = PredictionBatch::received(&key.job_id, &key.batch, batch.ids.len() as u64, settings.verify, now);
    if !deps.store.put_batch(&record).await? {
        return Ok(Received::AlreadyReceived);
    }
    ask_train(deps, &record).await
}

async fn ask_train(deps: &IngestDeps, batch: &PredictionBatch) -> Result<Received> {
    let body = JobMessage::predict(&batch.job_id, &batch.batch).body()?;
    deps.queue.send_all(&deps.training_queue_url, vec![body]).await?;
    tracing::info!(job_id = %batch.job_id, batch = %batch.batch, rows = batch.rows, "prediction batch received");
    Ok(Received::Accepted { rows: batch.rows })
}

async fn reject(
    deps: &IngestDeps,
    bucket: &str,
    key: &BatchKey,
    keys: &BatchKeys,
    problems: BatchProblems,
) -> Result<Received> {
    let body = serde_json::to_vec_pretty(&problems.report(&key.job_id, &key.batch)).map_err(Error::permanent)?;
    deps.blobs.put(bucket, &keys.errors, body, "application/json").await?;
    tracing::warn!(job_id = %key.job_id, batch = %key.batch, problems = problems.total, "prediction batch refused; see its errors.json");
    Ok(Received::Rejected { problems: problems.total })
}

/// train's part: start the batch's transform job.
pub async fn start(deps: &TrainDeps, job_id: &str, batch_name: &str) -> Result<Outcome> {
    let Some(batch) = deps.store.batch(job_id, batch_name).await? else {
        return Ok(Outcome::Ignored(format!("there is no batch {batch_name} of job {job_id}")));
    };
    if batch.status != BatchStatus::Received {
        return Ok(Outcome::AlreadyHandled);
    }
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    if let Route::Endpoint { endpoint, version } = route(&job, batch.rows) {
        if let Some(outcome) = by_endpoint(deps, &job, &batch, &endpoint, version).await? {
            return Ok(outcome);
        }
    }
    let (model, request) = match transform(&job, batch_name, &deps.settings) {
        Ok(r) => r,
        Err(why) => return fail(deps, &job.bucket, &batch, &why).await,
    };
    match deps.transformer.start(&model, &request).await? {
        Ok(()) => {
            let next = transforming(&batch, &request, current_version(&job), now_ms());
            if deps.store.update_batch(&next, &[BatchStatus::Received]).await? {
                tracing::info!(job_id, batch = batch_name, name = %request.name, "transform job started");
                Ok(Outcome::Started(request.name))
            } else {
                Ok(Outcome::AlreadyHandled)
            }
        }
        Err(why) => fail(deps, &job.bucket, &batch, &format!("SageMaker refused the transform job: {why}")).await,
    }
}

async fn fail(deps: &TrainDeps, bucket: &str, batch: &PredictionBatch, why: &str) -> Result<Outcome> {
    let from = [BatchStatus::Received, BatchStatus::Transforming];
    if !deps.store.update_batch(&batch_failed(batch, why, now_ms()), &from).await? {
        return Ok(Outcome::AlreadyHandled);
    }
    let keys = BatchKeys::of(&batch.job_id, &batch.batch);
    let problems = BatchProblems::from(vec![Problem::new("manifest.csv", why)]);
    let body = serde_json::to_vec_pretty(&problems.report(&batch.job_id, &batch.batch)).map_err(Error::permanent)?;
    deps.blobs.put(bucket, &keys.errors, body, "application/json").await?;
    tracing::warn!(job_id = %batch.job_id, batch = %batch.batch, why, "prediction batch failed");
    Ok(Outcome::Failed(why.into()))
}

/// A small batch of a deployed job, predicted by its endpoint in a few
/// requests. None: the endpoint refused (a transform job predicts it then).
async fn by_endpoint(
    deps: &TrainDeps,
    job: &Job,
    batch: &PredictionBatch,
    endpoint: &str,
    version: u32,
) -> Result<Option<Outcome>> {
    let keys = BatchKeys::of(&job.job_id, &batch.batch);
    let Some(input) = deps.blobs.text(&job.bucket, &keys.input, MAX_BATCH_BYTES as usize).await? else {
        return Err(Error::Permanent(format!("the batch's {} is gone", keys.input)));
    };
    let ids = batch_ids(deps, job, &keys).await?;
    let mut lines = Vec::new();
    for chunk in invocation_chunks(&input, INVOKE_MAX_ROWS, INVOKE_MAX_BYTES) {
        match deps.predictor.predict(endpoint, &chunk).await? {
            Ok(answer) => lines.extend(endpoint_lines(&answer)),
            Err(why) => {
                tracing::warn!(job_id = %job.job_id, batch = %batch.batch, endpoint, why, "the endpoint refused the batch; a transform job predicts it");
                return Ok(None);
            }
        }
    }
    let predicted = match predictions(&ids, &lines.join("\n"), &job.spec.labels) {
        Ok(p) => p,
        Err(why) => {
            tracing::warn!(job_id = %job.job_id, batch = %batch.batch, endpoint, why, "the endpoint's answer does not fit the batch; a transform job predicts it");
            return Ok(None);
        }
    };
    let (unsure, verification) = write_predictions(deps, job, batch, &predicted, version).await?;
    let done = predicted_by_endpoint(batch, endpoint, version, unsure, verification, now_ms());
    if deps.store.update_batch(&done, &[BatchStatus::Received]).await? {
        tracing::info!(job_id = %job.job_id, batch = %batch.batch, endpoint, rows = ids.len(), "predicted by the endpoint");
        Ok(Some(Outcome::OutputsWritten))
    } else {
        Ok(Some(Outcome::AlreadyHandled))
    }
}

async fn batch_ids(deps: &TrainDeps, job: &Job, keys: &BatchKeys) -> Result<Vec<String>> {
    let text = deps.blobs.text(&job.bucket, &ids_key(keys), MAX_OUTPUT_BYTES).await?.unwrap_or_default();
    Ok(text.lines().map(str::to_string).collect())
}

/// predictions.csv and model-predictions.csv, then the unsure rows to
/// people: before the batch is marked, so a retry writes the same again.
async fn write_predictions(
    deps: &TrainDeps,
    job: &Job,
    batch: &PredictionBatch,
    predicted: &[Prediction],
    version: u32,
) -> Result<(Option<u64>, Option<String>)> {
    let keys = BatchKeys::of(&job.job_id, &batch.batch);
    let rows = predictions_csv(predicted, version).map_err(Error::Permanent)?;
    deps.blobs.put(&job.bucket, &keys.model_predictions, rows.clone(), "text/csv").await?;
    deps.blobs.put(&job.bucket, &keys.predictions, rows, "text/csv").await?;
    verify::send_unsure(deps, job, batch, predicted).await
}

/// sweep's follow-up on a batch that has waited long: a lost predict
/// message, a lost transform state change, a verification's completion
/// left unhandled, or a retrain left to start. Each is the step the lost
/// message would have run, so doing it again is harmless.
pub async fn check(deps: &TrainDeps, job_id: &str, batch_name: &str) -> Result<Outcome> {
    let Some(batch) = deps.store.batch(job_id, batch_name).await? else {
        return Ok(Outcome::Ignored(format!("there is no batch {batch_name} of job {job_id}")));
    };
    match batch.status {
        BatchStatus::Received => start(deps, job_id, batch_name).await,
        BatchStatus::Transforming => {
            let Some(name) = batch.transform_job.clone() else { return Ok(Outcome::AlreadyHandled) };
            match deps.transformer.describe(&name).await? {
                Some(mut view) => {
                    view.job_id = Some(job_id.into());
                    view.batch = Some(batch_name.into());
                    on_transform_state(deps, &view).await
                }
                None => {
                    let why = format!("SageMaker has no transform job {name}");
                    let bucket = deps.store.job(job_id).await?.map(|j| j.bucket).unwrap_or_default();
                    fail(deps, &bucket, &batch, &why).await
                }
            }
        }
        BatchStatus::Predicted => match batch.verification.as_deref() {
            Some(vid) => verify::on_verified(deps, vid).await,
            None => Ok(Outcome::AlreadyHandled),
        },
        BatchStatus::Verified => retrain::retrain_due(deps, job_id).await,
        BatchStatus::Failed => Ok(Outcome::AlreadyHandled),
    }
}

/// A transform job's state change (through EventBridge).
pub async fn on_transform_state(deps: &TrainDeps, view: &TransformView) -> Result<Outcome> {
    let (Some(job_id), Some(batch_name)) = (view.job_id.as_deref(), view.batch.as_deref()) else {
        return Ok(Outcome::Ignored(format!("{} is not a hitloop transform job", view.name)));
    };
    let Some(batch) = deps.store.batch(job_id, batch_name).await? else {
        return Ok(Outcome::Ignored(format!("there is no batch {batch_name} of job {job_id}")));
    };
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    match transform_end(&batch, view) {
        TransformEnd::Nothing => Ok(Outcome::AlreadyHandled),
        TransformEnd::Failed(why) => fail(deps, &job.bucket, &batch, &why).await,
        TransformEnd::Completed => {
            let keys = BatchKeys::of(job_id, batch_name);
            let Some(output) = deps.blobs.text(&job.bucket, &keys.output, MAX_OUTPUT_BYTES).await? else {
                return Err(Error::Retryable(format!("{} has no output at {} yet", view.name, keys.output)));
            };
            let ids = batch_ids(deps, &job, &keys).await?;
            let version = batch.model_version.unwrap_or(1);
            let predicted = match predictions(&ids, &output, &job.spec.labels) {
                Ok(p) => p,
                Err(why) => return fail(deps, &job.bucket, &batch, &format!("the transform's output: {why}")).await,
            };
            let (unsure, verification) = write_predictions(deps, &job, &batch, &predicted, version).await?;
            let done = PredictionBatch {
                status: BatchStatus::Predicted,
                unsure,
                verification,
                updated_at: now_ms(),
                ..batch.clone()
            };
            if deps.store.update_batch(&done, &[BatchStatus::Transforming]).await? {
                tracing::info!(job_id, batch = batch_name, rows = ids.len(), "predictions written");
                Ok(Outcome::OutputsWritten)
            } else {
                Ok(Outcome::AlreadyHandled)
            }
        }
    }
}
