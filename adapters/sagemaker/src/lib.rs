//! The Trainer port over SageMaker's CreateTrainingJob and
//! DescribeTrainingJob, the Deployer port over its models and endpoints
//! (`deployer.rs`) and the Transformer port over its batch transform jobs
//! (`transformer.rs`). The only crate that links the SageMaker SDK (it is
//! large): the train function, and the local stack and tests that run it.

mod deployer;
mod transformer;

pub use deployer::SageMakerDeployer;
pub use transformer::SageMakerTransformer;

use async_trait::async_trait;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, Channel, DataSource, OutputDataConfig, ResourceConfig, S3DataDistribution, S3DataSource,
    S3DataType, StoppingCondition, Tag, TrainingInputMode, TrainingInstanceType,
};
use aws_sdk_sagemaker::Client;
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};
use hitloop_core::training_job::{StartError, TrainingRequest, TrainingView};
use hitloop_pipeline::ports::Trainer;

pub struct SageMakerTrainer {
    client: Client,
}

impl SageMakerTrainer {
    pub fn new(client: Client) -> Self {
        SageMakerTrainer { client }
    }

    pub fn from_sdk(sdk: &hitloop_aws::SdkConfig) -> Self {
        SageMakerTrainer::new(Client::new(sdk))
    }
}

fn channel(name: &str, uri: &str, content_type: &str) -> Channel {
    let source = S3DataSource::builder()
        .s3_data_type(S3DataType::S3Prefix)
        .s3_uri(uri)
        .s3_data_distribution_type(S3DataDistribution::FullyReplicated)
        .build();
    Channel::builder()
        .channel_name(name)
        .data_source(DataSource::builder().s3_data_source(source).build())
        .content_type(content_type)
        .build()
}

/// DescribeTrainingJob's answer for a job that does not exist: AWS says
/// "Requested resource not found", moto "Could not find training job".
pub(crate) fn is_missing(code: Option<&str>, message: Option<&str>) -> bool {
    let message = message.unwrap_or_default().to_lowercase();
    code == Some("ResourceNotFound")
        || (code == Some("ValidationException")
            && (message.contains("not found") || message.contains("could not find")))
}

#[async_trait]
impl Trainer for SageMakerTrainer {
    async fn describe(&self, name: &str) -> Result<Option<TrainingView>> {
        match self.client.describe_training_job().training_job_name(name).send().await {
            Ok(out) => Ok(Some(TrainingView {
                name: out.training_job_name().unwrap_or(name).to_string(),
                arn: out.training_job_arn().map(str::to_string),
                status: out.training_job_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                failure_reason: out.failure_reason().map(str::to_string),
                model_artifacts: out.model_artifacts().and_then(|m| m.s3_model_artifacts()).map(str::to_string),
                held_out_accuracy: hitloop_core::training_job::held_out_accuracy(
                    out.final_metric_data_list().iter().filter_map(|m| Some((m.metric_name()?, f64::from(m.value()?)))),
                ),
            })),
            Err(e) => match e.as_service_error() {
                Some(s) if is_missing(s.code(), s.message()) => Ok(None),
                _ => Err(classify(e)),
            },
        }
    }

    async fn start(&self, r: &TrainingRequest) -> Result<std::result::Result<String, StartError>> {
        let mut call = self
            .client
            .create_training_job()
            .training_job_name(&r.name)
            .algorithm_specification(
                AlgorithmSpecification::builder()
                    .training_image(&r.image)
                    .training_input_mode(TrainingInputMode::File)
                    .build(),
            )
            .role_arn(&r.role_arn)
            .input_data_config(channel("train", &r.train_uri, &r.content_type))
            .output_data_config(OutputDataConfig::builder().s3_output_path(&r.output_uri).build())
            .resource_config(
                ResourceConfig::builder()
                    .instance_type(TrainingInstanceType::from(r.instance_type.as_str()))
                    .instance_count(r.instance_count as i32)
                    .volume_size_in_gb(r.volume_size_gb as i32)
                    .build(),
            )
            .stopping_condition(
                StoppingCondition::builder().max_runtime_in_seconds(r.max_runtime_seconds as i32).build(),
            )
            .set_hyper_parameters(Some(r.hyperparameters.clone().into_iter().collect()));
        if let Some(test) = &r.test_uri {
            call = call.input_data_config(channel(&r.test_channel, test, &r.content_type));
        }
        for (k, v) in &r.tags {
            call = call.tags(Tag::builder().key(k).value(v).build());
        }
        match call.send().await {
            Ok(out) => Ok(Ok(out.training_job_arn().unwrap_or_default().to_string())),
            Err(e) => {
                if let Some(s) = e.as_service_error() {
                    if s.code() == Some("ResourceInUse") {
                        return Ok(Err(StartError::Exists));
                    }
                }
                match classify(e) {
                    Error::Permanent(message) => Ok(Err(StartError::Refused(message))),
                    other => Err(other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_training_jobs_in_both_wordings() {
        assert!(is_missing(Some("ValidationException"), Some("Requested resource not found.")));
        assert!(is_missing(Some("ValidationException"), Some("Could not find training job 'arn:x'")));
        assert!(!is_missing(Some("ValidationException"), Some("1 validation error detected")));
        assert!(!is_missing(Some("ThrottlingException"), None));
    }
}
