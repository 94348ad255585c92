//! Serving a trained job's model: what CreateModel, CreateEndpointConfig and
//! CreateEndpoint are called with (every name derived from the job, so a
//! retry names the same things), and what an endpoint's state says of the
//! deployment, and how the job moves between `deploying`, `deployed` and
//! `deploy_failed` (forward only: a late or repeated state change never
//! undoes a newer one). Pure; `hitloop_pipeline::steps::deploy` carries it
//! out.

use crate::deploy::{endpoint_name, model_name, Serving};
use crate::plan::train::TrainSettings;
use crate::records::{DeploymentRecord, Job, JobStatus};

/// Everything the three create calls take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRequest {
    /// The model version this deploys (1: the job's first training job).
    pub version: u32,
    /// The model's name, and its endpoint configuration's.
    pub model: String,
    pub endpoint: String,
    pub image: String,
    /// The training job's `model.tar.gz`.
    pub model_data: String,
    pub role_arn: String,
    pub serving: Serving,
    pub tags: Vec<(String, String)>,
}

/// What `deploy` of a trained job asks SageMaker for: model version
/// `version` from the job's training artifact. Err: why it cannot be (no
/// deploy section, nothing trained yet, no image or role).
pub fn deploy_request(job: &Job, version: u32, settings: &TrainSettings) -> Result<DeployRequest, String> {
    if job.spec.deploy.is_none() {
        return Err(format!("job {} asks for no deployment", job.job_id));
    }
    let model_data = job
        .training
        .as_ref()
        .and_then(|t| t.model_artifacts.clone())
        .ok_or_else(|| format!("job {} has no trained model yet", job.job_id))?;
    model_request(job, version, &model_data, settings)
}

/// The SageMaker model of version `version`, from `model_data` (for an
/// endpoint, or a batch transform of a job that deploys nothing: then served
/// as `deploy`'s defaults say).
pub fn model_request(
    job: &Job,
    version: u32,
    model_data: &str,
    settings: &TrainSettings,
) -> Result<DeployRequest, String> {
    let model_data = model_data.to_string();
    let default = crate::deploy::DeploySpec::default();
    let deploy = job.spec.deploy.as_ref().unwrap_or(&default);
    let sagemaker = job
        .spec
        .training
        .as_ref()
        .and_then(|t| t.sagemaker.as_ref())
        .ok_or_else(|| format!("job {} has no training job to deploy the model of", job.job_id))?;
    let image = match (&deploy.image, &sagemaker.image, sagemaker.built_in()) {
        (Some(image), _, _) => image.clone(),
        // The built-in algorithms serve from their training image.
        (None, None, Some(algorithm)) => algorithm.image(&settings.region).ok_or_else(|| {
            format!(
                "SageMaker does not offer the built-in {} in {}; give deploy.image",
                algorithm.name(),
                settings.region
            )
        })?,
        _ => return Err("a model trained with your own image needs deploy.image, the image that serves it".into()),
    };
    let role_arn = sagemaker.role_arn.clone().or_else(|| settings.default_role_arn.clone()).ok_or_else(|| {
        "no IAM role for SageMaker: set training.sagemaker.role_arn in job.json, or deploy the stack, whose SageMakerRole is the default".to_string()
    })?;
    Ok(DeployRequest {
        version,
        model: model_name(&job.job_id, job.created_at, version),
        endpoint: endpoint_name(&job.job_id, job.created_at),
        image,
        model_data,
        role_arn,
        serving: deploy.serving(),
        tags: vec![
            ("hitloop:job-id".into(), job.job_id.clone()),
            ("hitloop:model-version".into(), version.to_string()),
        ],
    })
}

/// What SageMaker says of an endpoint (DescribeEndpoint, or its state
/// change event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointView {
    pub name: String,
    /// OutOfService, Creating, Updating, SystemUpdating, RollingBack,
    /// InService, Deleting or Failed.
    pub status: String,
    pub failure_reason: Option<String>,
    /// The endpoint configuration it serves (or is moving to): the model
    /// version's name.
    pub config: Option<String>,
}

/// Where a deployment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointState {
    /// On its way (or being changed): wait for the next state change.
    Pending,
    /// Serving.
    InService,
    /// It will not serve: why, for the user.
    Failed(String),
    /// Going or gone.
    Deleting,
}

pub fn endpoint_state(view: &EndpointView) -> EndpointState {
    match view.status.as_str() {
        "InService" => EndpointState::InService,
        "Failed" => EndpointState::Failed(format!(
            "the endpoint {} failed: {}",
            view.name,
            view.failure_reason.as_deref().unwrap_or("SageMaker gave no reason")
        )),
        "Deleting" => EndpointState::Deleting,
        _ => EndpointState::Pending,
    }
}

/// Whether a job deploys its model once trained.
pub fn wants_deployment(job: &Job) -> bool {
    job.spec.deploy.is_some() && job.spec.training.as_ref().is_some_and(|t| t.sagemaker.is_some())
}

/// The deployment a job starts when model version `version` is trained:
/// nothing asked of SageMaker yet, the endpoint serving what it served.
pub fn next_deployment(job: &Job, version: u32) -> DeploymentRecord {
    DeploymentRecord {
        endpoint: endpoint_name(&job.job_id, job.created_at),
        version,
        model: model_name(&job.job_id, job.created_at, version),
        serving: job.deployment.as_ref().and_then(|d| d.serving),
        ..Default::default()
    }
}

/// The deployment a job starts when its first model is trained.
pub fn first_deployment(job: &Job) -> DeploymentRecord {
    next_deployment(job, 1)
}

/// A job's move between deployment states: from one of `from` to `to`,
/// recording `record` (and `reason`, the user's explanation of a failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployTransition {
    pub from: Vec<JobStatus>,
    pub to: JobStatus,
    pub record: DeploymentRecord,
    pub reason: Option<String>,
}

/// SageMaker was asked for the deployment `request` (at `now`).
pub fn requested(record: &DeploymentRecord, now: i64) -> DeployTransition {
    let mut record = record.clone();
    record.requested_at = Some(now);
    record.status = Some(if record.serving.is_some() { "Updating" } else { "Creating" }.into());
    DeployTransition { from: vec![JobStatus::Deploying], to: JobStatus::Deploying, record, reason: None }
}

/// The deployment cannot be made, or SageMaker refused it, for `why`.
pub fn deploy_failed(record: &DeploymentRecord, why: &str) -> DeployTransition {
    let mut record = record.clone();
    record.failure_reason = Some(why.into());
    let reason = format!("model version {} was not deployed: {why}", record.version);
    DeployTransition { from: vec![JobStatus::Deploying], to: JobStatus::DeployFailed, record, reason: Some(reason) }
}

/// What a state of the job's endpoint (a state change event, or
/// DescribeEndpoint) does to a deploying job. None: nothing (another job's
/// endpoint, another model version's news, or a job not deploying).
pub fn adopt_endpoint(job: &Job, view: &EndpointView) -> Option<DeployTransition> {
    let record = job.deployment.as_ref()?;
    if job.status != JobStatus::Deploying || view.name != record.endpoint {
        return None;
    }
    let ours = view.config.as_deref().is_none_or(|c| c == record.model);
    let mut next = record.clone();
    next.status = Some(view.status.clone());
    let (to, reason) = match (endpoint_state(view), ours) {
        (EndpointState::InService, true) => {
            next.serving = Some(record.version);
            next.failure_reason = None;
            (JobStatus::Deployed, None)
        }
        (EndpointState::Failed(why), true) => {
            next.failure_reason = view.failure_reason.clone();
            (JobStatus::DeployFailed, Some(why))
        }
        // The move to the new version failed: SageMaker rolled back and
        // the endpoint serves the earlier one again.
        (EndpointState::InService, false) if record.serving.is_some() && view.failure_reason.is_some() => {
            let why = view.failure_reason.clone().unwrap_or_default();
            next.failure_reason = Some(why.clone());
            (
                JobStatus::DeployFailed,
                Some(format!(
                    "the endpoint {} could not move to model version {}: {why}; it still serves version {}",
                    view.name,
                    record.version,
                    record.serving.unwrap_or_default()
                )),
            )
        }
        (EndpointState::Pending, true) => (JobStatus::Deploying, None),
        _ => return None,
    };
    Some(DeployTransition { from: vec![JobStatus::Deploying], to, record: next, reason })
}

/// What a deploying job that has waited long needs, given its endpoint as
/// SageMaker describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployCheck {
    /// Ask SageMaker (again): the request never went out, or was lost.
    Request,
    Adopt(DeployTransition),
    /// On its way: the next state change brings it.
    Wait,
}

pub fn check_deployment(job: &Job, view: Option<&EndpointView>) -> DeployCheck {
    let Some(record) = job.deployment.as_ref() else { return DeployCheck::Wait };
    if job.status != JobStatus::Deploying {
        return DeployCheck::Wait;
    }
    let Some(view) = view else { return DeployCheck::Request };
    if let Some(t) = adopt_endpoint(job, view) {
        return match t.to {
            JobStatus::Deploying => DeployCheck::Wait,
            _ => DeployCheck::Adopt(t),
        };
    }
    // Serving an earlier version and not moving: the update never went out.
    let other = view.config.as_deref().is_some_and(|c| c != record.model);
    if other && endpoint_state(view) == EndpointState::InService {
        DeployCheck::Request
    } else {
        DeployCheck::Wait
    }
}

/// Whether an endpoint state change is about this job's endpoint (a name
/// from an earlier job with the same id is not).
pub fn is_own_endpoint(job: &Job, name: &str) -> bool {
    endpoint_name(&job.job_id, job.created_at) == name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::{JobStatus, TrainingRecord};

    fn trained(extra: &str) -> Job {
        let spec =
            JobSpec::parse(&format!(r#"{{"labels": ["a", "b"], "training": {{"sagemaker": {{}}}}{extra}}}"#)).unwrap();
        let mut job = Job::new("iris", JobStatus::Trained, spec, String::new(), "k", "e", 2);
        job.created_at = 7;
        job.bucket = "b".into();
        job.training = Some(TrainingRecord {
            name: "hitloop-iris-abcdef".into(),
            model_artifacts: Some("s3://b/jobs/iris/output/model/m/output/model.tar.gz".into()),
            ..Default::default()
        });
        job
    }

    fn settings() -> TrainSettings {
        TrainSettings { default_role_arn: Some("arn:aws:iam::123456789012:role/sm".into()), region: "us-east-1".into() }
    }

    #[test]
    fn a_trained_job_deploys_its_model_under_names_derived_from_it() {
        let job = trained(r#", "deploy": {}"#);
        let r = deploy_request(&job, 1, &settings()).unwrap();
        assert_eq!(r.endpoint, endpoint_name("iris", 7));
        assert_eq!(r.model, format!("{}-v1", r.endpoint));
        assert_eq!(r.image, "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1");
        assert_eq!(r.model_data, "s3://b/jobs/iris/output/model/m/output/model.tar.gz");
        assert_eq!(r.serving, Serving::Serverless { memory_mb: 2048, max_concurrency: 5 });
        assert_eq!(deploy_request(&job, 1, &settings()).unwrap(), r, "the same request every time");
        assert_eq!(deploy_request(&job, 2, &settings()).unwrap().model, format!("{}-v2", r.endpoint));
    }

    #[test]
    fn what_stops_a_deployment_is_said() {
        let err = |job: &Job, s: &TrainSettings| deploy_request(job, 1, s).unwrap_err();
        assert!(err(&trained(""), &settings()).contains("asks for no deployment"));
        let mut untrained = trained(r#", "deploy": {}"#);
        untrained.training = None;
        assert!(err(&untrained, &settings()).contains("no trained model yet"));
        let no_role = TrainSettings { default_role_arn: None, region: "us-east-1".into() };
        assert!(err(&trained(r#", "deploy": {}"#), &no_role).contains("no IAM role"));
        let elsewhere = TrainSettings { region: "mars-north-1".into(), ..settings() };
        assert!(err(&trained(r#", "deploy": {}"#), &elsewhere).contains("give deploy.image"));
        let own = trained(r#", "deploy": {"image": "1.dkr.ecr.us-east-1.amazonaws.com/serve:1"}"#);
        assert_eq!(deploy_request(&own, 1, &settings()).unwrap().image, "1.dkr.ecr.us-east-1.amazonaws.com/serve:1");
    }

    #[test]
    fn endpoint_states() {
        let view = |status: &str, why: Option<&str>| EndpointView {
            name: "e".into(),
            status: status.into(),
            failure_reason: why.map(str::to_string),
            config: None,
        };
        assert_eq!(endpoint_state(&view("InService", None)), EndpointState::InService);
        assert_eq!(endpoint_state(&view("Creating", None)), EndpointState::Pending);
        assert_eq!(endpoint_state(&view("Updating", None)), EndpointState::Pending);
        assert_eq!(endpoint_state(&view("Deleting", None)), EndpointState::Deleting);
        assert_eq!(
            endpoint_state(&view("Failed", Some("image not found"))),
            EndpointState::Failed("the endpoint e failed: image not found".into())
        );
    }

    fn deploying(version: u32, serving: Option<u32>) -> Job {
        let mut job = trained(r#", "deploy": {}"#);
        job.status = JobStatus::Deploying;
        let mut record = first_deployment(&job);
        record.version = version;
        record.model = model_name("iris", 7, version);
        record.serving = serving;
        job.deployment = Some(record);
        job
    }

    fn view(job: &Job, status: &str, version: u32, why: Option<&str>) -> EndpointView {
        EndpointView {
            name: endpoint_name("iris", job.created_at),
            status: status.into(),
            failure_reason: why.map(str::to_string),
            config: Some(model_name("iris", 7, version)),
        }
    }

    #[test]
    fn endpoint_states_move_a_deploying_job_forward_only() {
        let job = deploying(1, None);
        let t = adopt_endpoint(&job, &view(&job, "InService", 1, None)).unwrap();
        assert_eq!(
            (t.to, t.record.serving, t.from.as_slice()),
            (JobStatus::Deployed, Some(1), &[JobStatus::Deploying][..])
        );
        let t = adopt_endpoint(&job, &view(&job, "Failed", 1, Some("no image"))).unwrap();
        assert_eq!(t.to, JobStatus::DeployFailed);
        assert!(t.reason.unwrap().contains("no image"));
        assert_eq!(adopt_endpoint(&job, &view(&job, "Creating", 1, None)).unwrap().to, JobStatus::Deploying);
        let mut deployed = job.clone();
        deployed.status = JobStatus::Deployed;
        assert_eq!(
            adopt_endpoint(&deployed, &view(&job, "Creating", 1, None)),
            None,
            "a late Creating changes nothing"
        );
        let other = EndpointView { name: endpoint_name("iris", 8), ..view(&job, "InService", 1, None) };
        assert_eq!(adopt_endpoint(&job, &other), None, "an earlier job's endpoint");
        assert!(is_own_endpoint(&job, &view(&job, "InService", 1, None).name));
        assert!(!is_own_endpoint(&job, &other.name));
    }

    #[test]
    fn a_new_version_is_served_only_when_its_configuration_is() {
        let job = deploying(2, Some(1));
        assert_eq!(adopt_endpoint(&job, &view(&job, "InService", 1, None)), None, "still version 1: news of the old");
        let t = adopt_endpoint(&job, &view(&job, "InService", 2, None)).unwrap();
        assert_eq!((t.to, t.record.serving), (JobStatus::Deployed, Some(2)));
        let rolled_back = adopt_endpoint(&job, &view(&job, "InService", 1, Some("health check failed"))).unwrap();
        assert_eq!((rolled_back.to, rolled_back.record.serving), (JobStatus::DeployFailed, Some(1)));
        assert!(rolled_back.reason.unwrap().contains("still serves version 1"));
    }

    #[test]
    fn a_quiet_deployment_is_asked_for_again_or_waited_for() {
        let job = deploying(1, None);
        assert_eq!(check_deployment(&job, None), DeployCheck::Request, "never created");
        assert_eq!(check_deployment(&job, Some(&view(&job, "Creating", 1, None))), DeployCheck::Wait);
        assert!(matches!(
            check_deployment(&job, Some(&view(&job, "InService", 1, None))),
            DeployCheck::Adopt(DeployTransition { to: JobStatus::Deployed, .. })
        ));
        let moving = deploying(2, Some(1));
        assert_eq!(check_deployment(&moving, Some(&view(&moving, "InService", 1, None))), DeployCheck::Request);
        assert_eq!(check_deployment(&moving, Some(&view(&moving, "Updating", 2, None))), DeployCheck::Wait);
        let r = requested(moving.deployment.as_ref().unwrap(), 5);
        assert_eq!((r.record.requested_at, r.record.status.as_deref()), (Some(5), Some("Updating")));
        let f = deploy_failed(job.deployment.as_ref().unwrap(), "role cannot be assumed");
        assert_eq!(f.to, JobStatus::DeployFailed);
        assert!(f.reason.unwrap().starts_with("model version 1 was not deployed"));
    }
}
