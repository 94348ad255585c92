//! Prediction batches' decisions: whether a job can predict, with which
//! model version, the transform job that does it, and what its end makes of
//! the batch (states only move forward).

use crate::deploy::transform_job_name;
use crate::plan::deploy::{model_request, DeployRequest};
use crate::plan::train::TrainSettings;
use crate::predict::BatchKeys;
use crate::records::{BatchStatus, Job, JobStatus, PredictionBatch};
use crate::transform_job::{TransformRequest, TransformView, BATCH_TAG, JOB_TAG};

/// The instance a transform job runs on: small, as a batch is.
pub const TRANSFORM_INSTANCE: &str = "ml.m5.large";

/// The model predictions come from, (version, model.tar.gz): the one the
/// endpoint serves, or else the job's latest trained one (while a later
/// version trains, the one before it).
pub fn current_model(job: &Job) -> Option<(u32, String)> {
    let t = job.training.as_ref()?;
    let latest = t.model_artifacts.clone().map(|a| (t.model_version(), a));
    let previous = t.previous_artifacts.clone().map(|a| (t.model_version().saturating_sub(1).max(1), a));
    let serving = job.deployment.as_ref().and_then(|d| d.serving);
    match serving {
        Some(v) => latest.clone().filter(|(l, _)| *l == v).or(previous.filter(|(p, _)| *p == v)).or(latest),
        None => latest.or(previous),
    }
}

/// The model version predictions come from.
pub fn current_version(job: &Job) -> u32 {
    current_model(job).map_or(1, |(v, _)| v)
}

/// The model the job predicts with; Err: why it has none, for the user.
pub fn can_predict(job: &Job) -> Result<(u32, String), String> {
    let no_model = || {
        format!(
            "job {} is {}: it has no trained model yet (upload the batch again once it is trained)",
            job.job_id, job.status
        )
    };
    match job.status {
        JobStatus::Trained
        | JobStatus::Training
        | JobStatus::TrainingFailed
        | JobStatus::Deploying
        | JobStatus::Deployed
        | JobStatus::DeployFailed => current_model(job).ok_or_else(no_model),
        JobStatus::TornDown => Err(format!("job {} was torn down", job.job_id)),
        _ => Err(no_model()),
    }
}

/// How a batch is predicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// By the job's endpoint, serving model version `version`: the job is
    /// deployed and the batch small (`deploy.endpoint_max_rows`).
    Endpoint { endpoint: String, version: u32 },
    /// By a transform job (`transform`).
    Transform,
}

pub fn route(job: &Job, rows: u64) -> Route {
    let max = job.spec.deploy.as_ref().map_or(0, |d| u64::from(d.endpoint_max_rows));
    let serving = job.deployment.as_ref().filter(|_| job.status == JobStatus::Deployed && rows > 0 && rows <= max);
    match serving.and_then(|d| d.serving.map(|version| (d, version))) {
        Some((d, version)) => Route::Endpoint { endpoint: d.endpoint.clone(), version },
        None => Route::Transform,
    }
}

/// The batch, predicted by the endpoint (its predictions written, and its
/// unsure rows with people when `verification` names their job).
pub fn predicted_by_endpoint(
    batch: &PredictionBatch,
    endpoint: &str,
    version: u32,
    unsure: Option<u64>,
    verification: Option<String>,
    now: i64,
) -> PredictionBatch {
    PredictionBatch {
        status: BatchStatus::Predicted,
        model_version: Some(version),
        endpoint: Some(endpoint.into()),
        unsure,
        verification,
        reason: None,
        updated_at: now,
        ..batch.clone()
    }
}

/// The model and the transform job that predict `batch`.
pub fn transform(
    job: &Job,
    batch: &str,
    settings: &TrainSettings,
) -> Result<(DeployRequest, TransformRequest), String> {
    let (version, artifacts) = can_predict(job)?;
    let model = model_request(job, version, &artifacts, settings)?;
    let keys = BatchKeys::of(&job.job_id, batch);
    let s3 = |key: &str| format!("s3://{}/{key}", job.bucket);
    let request = TransformRequest {
        name: transform_job_name(&job.job_id, job.created_at, batch, version),
        model: model.model.clone(),
        input_uri: s3(&keys.input),
        output_uri: s3(&keys.output_prefix),
        instance_type: TRANSFORM_INSTANCE.into(),
        tags: vec![(JOB_TAG.into(), job.job_id.clone()), (BATCH_TAG.into(), batch.into())],
    };
    Ok((model, request))
}

/// The batch, its transform job started.
pub fn transforming(batch: &PredictionBatch, request: &TransformRequest, version: u32, now: i64) -> PredictionBatch {
    PredictionBatch {
        status: BatchStatus::Transforming,
        model_version: Some(version),
        transform_job: Some(request.name.clone()),
        reason: None,
        updated_at: now,
        ..batch.clone()
    }
}

/// The batch failed, for `why`.
pub fn batch_failed(batch: &PredictionBatch, why: &str, now: i64) -> PredictionBatch {
    PredictionBatch { status: BatchStatus::Failed, reason: Some(why.into()), updated_at: now, ..batch.clone() }
}

/// What a transform job's state means for its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformEnd {
    /// Read its output and write predictions.csv.
    Completed,
    Failed(String),
    /// Still running, or not this batch's transform job.
    Nothing,
}

pub fn transform_end(batch: &PredictionBatch, view: &TransformView) -> TransformEnd {
    if batch.status != BatchStatus::Transforming || batch.transform_job.as_deref() != Some(view.name.as_str()) {
        return TransformEnd::Nothing;
    }
    match view.status.as_str() {
        "Completed" => TransformEnd::Completed,
        "Failed" | "Stopped" => TransformEnd::Failed(format!(
            "the transform job {} {}: {}",
            view.name,
            view.status.to_lowercase(),
            view.failure_reason.as_deref().unwrap_or("SageMaker gave no reason")
        )),
        _ => TransformEnd::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::{DeploymentRecord, TrainingRecord};

    fn trained() -> Job {
        let spec =
            JobSpec::parse(r#"{"labels": ["a", "b"], "training": {"features": ["x"], "sagemaker": {}}}"#).unwrap();
        let mut job = Job::new("iris", JobStatus::Trained, spec, String::new(), "k", "e", 2);
        job.bucket = "b".into();
        job.training =
            Some(TrainingRecord { model_artifacts: Some("s3://b/m/model.tar.gz".into()), ..Default::default() });
        job
    }

    fn settings() -> TrainSettings {
        TrainSettings { default_role_arn: Some("arn:aws:iam::123456789012:role/sm".into()), region: "us-east-1".into() }
    }

    fn batch() -> PredictionBatch {
        PredictionBatch::received("iris", "rest", 3, true, 1)
    }

    #[test]
    fn a_trained_job_predicts_with_its_model_in_a_transform_job_named_from_it() {
        let job = trained();
        let (model, t) = transform(&job, "rest", &settings()).unwrap();
        assert_eq!((model.model_data.as_str(), t.model.as_str()), ("s3://b/m/model.tar.gz", model.model.as_str()));
        assert_eq!(t.input_uri, "s3://b/jobs/iris/predict/rest/input/rows.csv");
        assert_eq!(t.output_uri, "s3://b/jobs/iris/predict/rest/output/");
        assert_eq!(transform(&job, "rest", &settings()).unwrap().1, t, "the same every time");
        assert!(t.tags.contains(&(BATCH_TAG.to_string(), "rest".to_string())));
        let mut deployed = job.clone();
        deployed.status = JobStatus::Deployed;
        deployed.deployment = Some(DeploymentRecord { version: 3, serving: Some(2), ..Default::default() });
        assert_eq!(current_version(&deployed), 1, "no artifact of version 2: the latest trained");
        // Version 3 training while the endpoint serves 2: predictions from 2.
        let mut retraining = job.clone();
        retraining.status = JobStatus::Training;
        retraining.training = Some(TrainingRecord {
            version: 3,
            previous_artifacts: Some("s3://b/m2/model.tar.gz".into()),
            ..Default::default()
        });
        retraining.deployment = Some(DeploymentRecord { version: 3, serving: Some(2), ..Default::default() });
        assert_eq!(current_model(&retraining), Some((2, "s3://b/m2/model.tar.gz".to_string())));
        let (model, _) = transform(&retraining, "rest", &settings()).unwrap();
        assert_eq!((model.version, model.model_data.as_str()), (2, "s3://b/m2/model.tar.gz"));
        for status in [JobStatus::Labeling, JobStatus::TornDown] {
            let mut j = job.clone();
            j.status = status;
            assert!(transform(&j, "rest", &settings()).is_err(), "{status}");
        }
    }

    #[test]
    fn a_small_batch_goes_to_the_serving_endpoint_a_large_one_to_a_transform_job() {
        let spec = r#"{"labels": ["a", "b"], "training": {"features": ["x"], "sagemaker": {}},
            "deploy": {"endpoint_max_rows": 100}}"#;
        let mut job = trained();
        job.spec = JobSpec::parse(spec).unwrap();
        job.status = JobStatus::Deployed;
        job.deployment =
            Some(DeploymentRecord { endpoint: "hitloop-e".into(), version: 2, serving: Some(2), ..Default::default() });
        let endpoint = Route::Endpoint { endpoint: "hitloop-e".into(), version: 2 };
        assert_eq!(route(&job, 100), endpoint);
        assert_eq!(route(&job, 101), Route::Transform, "too large");
        assert_eq!(route(&job, 0), Route::Transform);
        let mut moving = job.clone();
        moving.status = JobStatus::Deploying;
        assert_eq!(route(&moving, 10), Route::Transform, "the endpoint is moving");
        let mut never = job.clone();
        never.spec.deploy.as_mut().unwrap().endpoint_max_rows = 0;
        assert_eq!(route(&never, 1), Route::Transform, "0: always a transform job");
        assert_eq!(route(&trained(), 1), Route::Transform, "not deployed");
        let done = predicted_by_endpoint(&batch(), "hitloop-e", 2, Some(1), Some("v".into()), 9);
        assert_eq!(
            (done.status, done.model_version, done.endpoint.as_deref(), done.transform_job.as_deref()),
            (BatchStatus::Predicted, Some(2), Some("hitloop-e"), None)
        );
        assert!(done.waits_for_people());
    }

    #[test]
    fn a_transform_jobs_end_moves_only_its_own_batch() {
        let (_, t) = transform(&trained(), "rest", &settings()).unwrap();
        let b = transforming(&batch(), &t, 1, 2);
        let view = |status: &str, name: &str| TransformView {
            name: name.into(),
            status: status.into(),
            failure_reason: Some("ClientError: bad input".into()),
            job_id: None,
            batch: None,
        };
        assert_eq!(transform_end(&b, &view("Completed", &t.name)), TransformEnd::Completed);
        assert!(
            matches!(transform_end(&b, &view("Failed", &t.name)), TransformEnd::Failed(w) if w.contains("bad input"))
        );
        assert_eq!(transform_end(&b, &view("InProgress", &t.name)), TransformEnd::Nothing);
        assert_eq!(transform_end(&b, &view("Completed", "another")), TransformEnd::Nothing);
        assert_eq!(transform_end(&batch(), &view("Completed", &t.name)), TransformEnd::Nothing, "not transforming");
    }
}
