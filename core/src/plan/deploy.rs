//! Serving a trained job's model: what CreateModel, CreateEndpointConfig and
//! CreateEndpoint are called with (every name derived from the job, so a
//! retry names the same things), and what an endpoint's state says of the
//! deployment. Pure; the step that carries it out comes with the rest of the
//! deployment (issue 16).

use crate::deploy::{endpoint_name, model_name, Serving};
use crate::plan::train::TrainSettings;
use crate::records::Job;

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
    let deploy = job.spec.deploy.as_ref().ok_or_else(|| format!("job {} asks for no deployment", job.job_id))?;
    let sagemaker = job
        .spec
        .training
        .as_ref()
        .and_then(|t| t.sagemaker.as_ref())
        .ok_or_else(|| format!("job {} has no training job to deploy the model of", job.job_id))?;
    let model_data = job
        .training
        .as_ref()
        .and_then(|t| t.model_artifacts.clone())
        .ok_or_else(|| format!("job {} has no trained model yet", job.job_id))?;
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
}
