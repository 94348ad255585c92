//! train: a job's labeling is complete. Write what it yields under
//! `jobs/<job>/output/`, then start its SageMaker training job, exactly once
//! however often and however concurrently the completion arrives; then follow
//! the training job's state changes to `trained` or `training_failed`.
//!
//! Exactly once, without trusting SageMaker to refuse a duplicate name: the
//! name is derived from the job; an invocation must hold the job's training
//! claim (a conditional write with a lease) to call CreateTrainingJob, and
//! asks SageMaker first whether the job exists (a crash after creating it).

use serde::Deserialize;

use crate::dataset::{self, OutputKeys};
use crate::error::{Error, Result};
use crate::ports::{StartError, Trainer, TrainingRequest, TrainingView};
use crate::records::*;
use crate::training::{job_id_of_training, training_job_name, SageMakerSpec};
use crate::wiring::Deps;

/// Longer than the function's timeout: a claim outlives its holder only
/// when the holder died, and then the next delivery takes over.
const CLAIM_LEASE_MS: i64 = 10 * 60 * 1000;

/// What the train function knows from its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainSettings {
    /// The stack's SageMaker execution role (SAGEMAKER_ROLE_ARN).
    pub default_role_arn: Option<String>,
    pub region: String,
}

impl TrainSettings {
    pub fn from_env(region: &str) -> Self {
        TrainSettings {
            default_role_arn: std::env::var("SAGEMAKER_ROLE_ARN").ok().filter(|r| !r.is_empty()),
            region: region.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not something to act on (unknown job, not complete, not ours).
    Ignored(String),
    /// Done before (a duplicate or late message).
    AlreadyHandled,
    /// Outputs written; the job asks for no training job.
    OutputsWritten,
    Started(String),
    Failed(String),
    Moved(JobStatus),
}

/// A message on the training queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainingMessage {
    /// collect or sweep: the job's labeling is complete.
    JobComplete(String),
    /// sweep: a job has been `training` for long; ask SageMaker.
    CheckTraining(String),
    /// EventBridge: "SageMaker Training Job State Change".
    StateChange(TrainingView),
}

#[derive(Deserialize)]
struct KindOnly {
    kind: String,
    job_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StateDetail {
    training_job_name: String,
    #[serde(default)]
    training_job_arn: Option<String>,
    training_job_status: String,
    #[serde(default)]
    failure_reason: Option<String>,
    #[serde(default)]
    model_artifacts: Option<ModelArtifacts>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ModelArtifacts {
    #[serde(rename = "S3ModelArtifacts")]
    s3_model_artifacts: Option<String>,
}

pub const STATE_CHANGE: &str = "SageMaker Training Job State Change";
pub const CHECK_TRAINING: &str = "check-training";

impl TrainingMessage {
    pub fn parse(body: &str) -> std::result::Result<TrainingMessage, String> {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| format!("a training queue message that is not JSON: {e}"))?;
        if let Some(kind) = value.get("detail-type").and_then(|d| d.as_str()) {
            if kind != STATE_CHANGE || value.get("source").and_then(|s| s.as_str()) != Some("aws.sagemaker") {
                return Err(format!("an event hitloop does not handle: {kind}"));
            }
            let detail: StateDetail = serde_json::from_value(value.get("detail").cloned().unwrap_or_default())
                .map_err(|e| format!("a training state change without the fields hitloop needs: {e}"))?;
            return Ok(TrainingMessage::StateChange(TrainingView {
                name: detail.training_job_name,
                arn: detail.training_job_arn,
                status: detail.training_job_status,
                failure_reason: detail.failure_reason,
                model_artifacts: detail.model_artifacts.and_then(|m| m.s3_model_artifacts),
            }));
        }
        let k: KindOnly =
            serde_json::from_value(value).map_err(|e| format!("an unknown training queue message: {e}"))?;
        match k.kind.as_str() {
            "job-complete" => Ok(TrainingMessage::JobComplete(k.job_id)),
            CHECK_TRAINING => Ok(TrainingMessage::CheckTraining(k.job_id)),
            other => Err(format!("an unknown training queue message kind {other:?}")),
        }
    }
}

pub async fn handle_message(
    deps: &Deps,
    trainer: &dyn Trainer,
    settings: &TrainSettings,
    message: TrainingMessage,
) -> Result<Outcome> {
    match message {
        TrainingMessage::JobComplete(job_id) => on_job_complete(deps, trainer, settings, &job_id).await,
        TrainingMessage::CheckTraining(job_id) => check_training(deps, trainer, settings, &job_id).await,
        TrainingMessage::StateChange(view) => on_training_state(deps, &view).await,
    }
}

/// The job is complete: outputs, then the training job.
pub async fn on_job_complete(
    deps: &Deps,
    trainer: &dyn Trainer,
    settings: &TrainSettings,
    job_id: &str,
) -> Result<Outcome> {
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    match job.status {
        JobStatus::Complete => {}
        JobStatus::Training | JobStatus::Trained | JobStatus::TrainingFailed => return Ok(Outcome::AlreadyHandled),
        other => return Ok(Outcome::Ignored(format!("job {job_id} is {other}, not complete"))),
    }
    let sagemaker = job.spec.training.as_ref().and_then(|t| t.sagemaker.as_ref());
    if sagemaker.is_none() && job.outputs_at.is_some() {
        return Ok(Outcome::AlreadyHandled);
    }
    if job.bucket.is_empty() {
        return Err(Error::Permanent(format!(
            "job {job_id} has no bucket recorded; it was ingested by an older hitloop"
        )));
    }
    let items = all_items(deps, job_id).await?;
    let name = training_job_name(job_id, job.created_at);
    let plan = write_outputs(deps, &job, &items, settings, &name).await?;
    deps.store.record_outputs(job_id, now_ms()).await?;
    let request = match plan {
        None => {
            tracing::info!(job_id, "outputs written; the job asks for no training job");
            return Ok(Outcome::OutputsWritten);
        }
        Some(Err(reason)) => return fail(deps, &job, &name, &reason).await,
        Some(Ok(request)) => request,
    };
    let now = now_ms();
    if !deps.store.claim_training(job_id, now, now + CLAIM_LEASE_MS).await? {
        return match deps.store.job(job_id).await?.map(|j| j.status) {
            Some(JobStatus::Complete) => {
                Err(Error::Retryable(format!("another invocation is starting the training job of {job_id}")))
            }
            _ => Ok(Outcome::AlreadyHandled),
        };
    }
    match start(deps, trainer, &job, &request).await {
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

async fn start(deps: &Deps, trainer: &dyn Trainer, job: &Job, request: &TrainingRequest) -> Result<Outcome> {
    if let Some(view) = trainer.describe(&request.name).await? {
        tracing::info!(job_id = %job.job_id, name = %request.name, "the training job exists (an earlier attempt); adopting it");
        return adopt(deps, job, &view).await;
    }
    match trainer.start(request).await? {
        Ok(arn) => {
            let record = TrainingRecord {
                name: request.name.clone(),
                arn: Some(arn),
                status: Some("InProgress".into()),
                ..Default::default()
            };
            // False only if a state change got there first: it is newer.
            deps.store.record_training(&job.job_id, &[JobStatus::Complete], JobStatus::Training, &record, None).await?;
            tracing::info!(job_id = %job.job_id, name = %request.name, "training job started");
            Ok(Outcome::Started(request.name.clone()))
        }
        Err(StartError::Exists) => match trainer.describe(&request.name).await? {
            Some(view) => adopt(deps, job, &view).await,
            None => Err(Error::Retryable(format!("SageMaker says {} exists but cannot describe it yet", request.name))),
        },
        Err(StartError::Refused(message)) => {
            fail(deps, job, &request.name, &format!("SageMaker refused the training job: {message}")).await
        }
    }
}

async fn fail(deps: &Deps, job: &Job, name: &str, reason: &str) -> Result<Outcome> {
    let record = TrainingRecord { name: name.into(), failure_reason: Some(reason.into()), ..Default::default() };
    let from = [JobStatus::Complete, JobStatus::Training];
    if deps.store.record_training(&job.job_id, &from, JobStatus::TrainingFailed, &record, Some(reason)).await? {
        tracing::warn!(job_id = %job.job_id, reason, "training failed; the labels stay in S3");
        Ok(Outcome::Failed(reason.into()))
    } else {
        Ok(Outcome::AlreadyHandled)
    }
}

/// A state change from SageMaker (through EventBridge).
pub async fn on_training_state(deps: &Deps, view: &TrainingView) -> Result<Outcome> {
    let Some(job_id) = job_id_of_training(&view.name) else {
        return Ok(Outcome::Ignored(format!("{} is not a hitloop training job", view.name)));
    };
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id} for {}", view.name)));
    };
    if training_job_name(job_id, job.created_at) != view.name {
        return Ok(Outcome::Ignored(format!("{} belongs to an earlier job {job_id}", view.name)));
    }
    adopt(deps, &job, view).await
}

/// Applies what SageMaker says of the job's training job. States only move
/// forward: a late InProgress never undoes Completed.
async fn adopt(deps: &Deps, job: &Job, view: &TrainingView) -> Result<Outcome> {
    let mut record = job.training.clone().unwrap_or_default();
    record.name = view.name.clone();
    record.arn = view.arn.clone().or(record.arn);
    record.status = Some(view.status.clone());
    let from = [JobStatus::Complete, JobStatus::Training];
    let (to, reason) = match view.status.as_str() {
        "Completed" => {
            record.model_artifacts = view.model_artifacts.clone();
            (JobStatus::Trained, None)
        }
        "Failed" | "Stopped" => {
            let why = view.failure_reason.clone().unwrap_or_else(|| "stopped before it finished".into());
            record.failure_reason = Some(why.clone());
            (
                JobStatus::TrainingFailed,
                Some(format!("the training job {} {}: {why}", view.name, view.status.to_lowercase())),
            )
        }
        _ => (JobStatus::Training, None),
    };
    if deps.store.record_training(&job.job_id, &from, to, &record, reason.as_deref()).await? {
        tracing::info!(job_id = %job.job_id, name = %view.name, status = %view.status, "training state recorded");
        Ok(Outcome::Moved(to))
    } else {
        Ok(Outcome::AlreadyHandled)
    }
}

/// sweep's follow-up on a job that has waited long: a lost completion or a
/// lost state change.
pub async fn check_training(
    deps: &Deps,
    trainer: &dyn Trainer,
    settings: &TrainSettings,
    job_id: &str,
) -> Result<Outcome> {
    let Some(job) = deps.store.job(job_id).await? else {
        return Ok(Outcome::Ignored(format!("there is no job {job_id}")));
    };
    match job.status {
        JobStatus::Complete => on_job_complete(deps, trainer, settings, job_id).await,
        JobStatus::Training => {
            let name = training_job_name(job_id, job.created_at);
            match trainer.describe(&name).await? {
                Some(view) => adopt(deps, &job, &view).await,
                None => fail(deps, &job, &name, &format!("SageMaker has no training job {name}")).await,
            }
        }
        _ => Ok(Outcome::AlreadyHandled),
    }
}

async fn all_items(deps: &Deps, job_id: &str) -> Result<Vec<Item>> {
    let mut items = super::all_items(deps.store.as_ref(), job_id).await?;
    dataset::in_manifest_order(&mut items);
    Ok(items)
}

/// Writes labels.csv, manifest.jsonl, the split and report.json. Returns the
/// training request (or why it cannot be made) when the job asks for one.
async fn write_outputs(
    deps: &Deps,
    job: &Job,
    items: &[Item],
    settings: &TrainSettings,
    name: &str,
) -> Result<Option<std::result::Result<TrainingRequest, String>>> {
    let keys = OutputKeys::of(&job.job_id);
    let bucket = job.bucket.as_str();
    let columns = dataset::value_columns(job, items);
    let mut report = dataset::report(job, items);
    let labels = dataset::labels_csv(&columns, items).map_err(Error::Permanent)?;
    deps.blobs.put(bucket, &keys.labels, labels, "text/csv").await?;
    let manifest = dataset::ground_truth_manifest(job, &columns, items).map_err(Error::Permanent)?;
    deps.blobs.put(bucket, &keys.manifest, manifest, "application/x-ndjson").await?;
    report.files.insert("labels".into(), keys.labels.clone());
    report.files.insert("manifest".into(), keys.manifest.clone());

    let mut plan = None;
    if let Some(training) = &job.spec.training {
        match dataset::split_files(job, training, items) {
            Ok(files) => {
                deps.blobs.put(bucket, &keys.train, files.train, "text/csv").await?;
                report.files.insert("train".into(), keys.train.clone());
                let has_test = files.test.is_some();
                if let Some(test) = files.test {
                    deps.blobs.put(bucket, &keys.test, test, "text/csv").await?;
                    report.files.insert("test".into(), keys.test.clone());
                }
                if let Some(sm) = &training.sagemaker {
                    plan =
                        Some(training_request(job, sm, settings, name, &keys, has_test, files.summary.features.len()));
                }
                report.split = Some(files.summary);
            }
            Err(reason) => {
                if training.sagemaker.is_some() {
                    plan = Some(Err(format!("the labeled data cannot be trained on: {reason}")));
                } else {
                    report.training_problem = Some(reason);
                }
            }
        }
        if training.sagemaker.is_some() {
            report.training_job = Some(name.to_string());
        }
    }
    if let Some(Err(reason)) = &plan {
        report.training_problem = Some(reason.clone());
    }
    report.files.insert("report".into(), keys.report.clone());
    let body = serde_json::to_vec_pretty(&report).map_err(Error::permanent)?;
    deps.blobs.put(bucket, &keys.report, body, "application/json").await?;
    Ok(plan)
}

fn training_request(
    job: &Job,
    sm: &SageMakerSpec,
    settings: &TrainSettings,
    name: &str,
    keys: &OutputKeys,
    has_test: bool,
    features: usize,
) -> std::result::Result<TrainingRequest, String> {
    let problems = sm.problems();
    if !problems.is_empty() {
        let all: Vec<String> = problems.into_iter().map(|(f, m)| format!("training.sagemaker.{f}: {m}")).collect();
        return Err(all.join("; "));
    }
    let image = match (&sm.image, sm.built_in()) {
        (Some(image), _) => image.clone(),
        (None, Some(algorithm)) => algorithm.image(&settings.region).ok_or_else(|| {
            format!(
                "SageMaker does not offer the built-in {} in {} (as far as hitloop knows); give training.sagemaker.image",
                algorithm.name(),
                settings.region
            )
        })?,
        (None, None) => return Err("training.sagemaker names no algorithm and no image".into()),
    };
    let role_arn = sm.role_arn.clone().or_else(|| settings.default_role_arn.clone()).ok_or_else(|| {
        "no IAM role for SageMaker: set training.sagemaker.role_arn in job.json, or deploy the stack, whose SageMakerRole is the default (SAGEMAKER_ROLE_ARN)".to_string()
    })?;
    let s3 = |key: &str| format!("s3://{}/{key}", job.bucket);
    Ok(TrainingRequest {
        name: name.into(),
        image,
        role_arn,
        instance_type: sm.instance_type.clone(),
        instance_count: sm.instance_count,
        volume_size_gb: sm.volume_size_gb,
        max_runtime_seconds: sm.max_runtime_seconds,
        hyperparameters: sm.hyperparameters(job.spec.labels.len(), features),
        train_uri: s3(&keys.train_prefix),
        test_uri: has_test.then(|| s3(&keys.test_prefix)),
        test_channel: match sm.built_in() {
            Some(crate::training::BuiltIn::Xgboost) => "validation".into(),
            _ => "test".into(),
        },
        content_type: "text/csv".into(),
        output_uri: s3(&keys.model_prefix),
        tags: vec![("hitloop:job-id".into(), job.job_id.clone())],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            TrainingMessage::parse(r#"{"kind":"job-complete","job_id":"iris"}"#).unwrap(),
            TrainingMessage::JobComplete("iris".into())
        );
        assert_eq!(
            TrainingMessage::parse(r#"{"kind":"check-training","job_id":"iris"}"#).unwrap(),
            TrainingMessage::CheckTraining("iris".into())
        );
        let event = r#"{"version":"0","id":"x","detail-type":"SageMaker Training Job State Change","source":"aws.sagemaker",
            "detail":{"TrainingJobName":"hitloop-iris-abcdef","TrainingJobArn":"arn:t","TrainingJobStatus":"Completed",
            "ModelArtifacts":{"S3ModelArtifacts":"s3://b/m.tar.gz"}}}"#;
        let TrainingMessage::StateChange(v) = TrainingMessage::parse(event).unwrap() else { panic!() };
        assert_eq!((v.status.as_str(), v.model_artifacts.as_deref()), ("Completed", Some("s3://b/m.tar.gz")));
        for bad in ["nope", "{}", r#"{"kind":"x","job_id":"j"}"#, r#"{"detail-type":"Other","source":"aws.s3"}"#] {
            assert!(TrainingMessage::parse(bad).is_err(), "{bad}");
        }
    }
}
