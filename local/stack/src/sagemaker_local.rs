//! What the local stand-ins for SageMaker (the trainer, the endpoints, the
//! transforms) share: moto's SageMaker, which records what train asked for;
//! S3, where models and data are; and EventBridge, where they emit the state
//! changes SageMaker would.

use crate::trainer::{read_model, LocalModel};

/// SageMaker's errors as text.
pub fn sm_err<E: std::error::Error + 'static>(e: aws_sdk_sagemaker::error::SdkError<E>) -> String {
    aws_sdk_sagemaker::error::DisplayErrorContext(e).to_string()
}

/// `s3://bucket/key` -> (bucket, key).
pub fn split_s3(uri: &str) -> Option<(&str, &str)> {
    uri.strip_prefix("s3://")?.split_once('/')
}

pub struct SageMakerLocal {
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub s3: aws_sdk_s3::Client,
    events: aws_sdk_eventbridge::Client,
}

impl SageMakerLocal {
    pub fn new(sdk: &hitloop_aws::SdkConfig) -> Self {
        SageMakerLocal {
            sagemaker: aws_sdk_sagemaker::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build()),
            events: aws_sdk_eventbridge::Client::new(sdk),
        }
    }

    /// The names of hitloop's training jobs, endpoints or transform jobs
    /// moto holds (`kind` names them in a warning when moto cannot list).
    pub async fn names<F, T, E>(&self, kind: &str, listed: F) -> Vec<String>
    where
        F: std::future::Future<Output = Result<T, aws_sdk_sagemaker::error::SdkError<E>>>,
        T: Named,
        E: std::error::Error + 'static,
    {
        match listed.await {
            Ok(out) => out.names(),
            Err(e) => {
                tracing::warn!(error = %sm_err(e), "cannot list {kind}");
                vec![]
            }
        }
    }

    /// A state change as SageMaker emits it (source `aws.sagemaker`).
    pub async fn emit(&self, detail_type: &str, resource: &str, detail: &serde_json::Value) -> Result<(), String> {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source("aws.sagemaker")
            .detail_type(detail_type)
            .resources(resource)
            .detail(detail.to_string())
            .build();
        self.events
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())?;
        Ok(())
    }

    /// A SageMaker model's artifact, loaded as its container would: its
    /// location, and the model or why it cannot be loaded.
    pub async fn load_model(&self, model_name: &str) -> Result<(String, Result<LocalModel, String>), String> {
        let model = self.sagemaker.describe_model().model_name(model_name).send().await.map_err(sm_err)?;
        let url = model.primary_container().and_then(|c| c.model_data_url()).unwrap_or_default().to_string();
        let bytes = self.get(&url).await.map_err(|e| format!("Failed to download model data from {e}"))?;
        Ok((url, read_model(&bytes)))
    }

    /// The model an endpoint configuration serves (its first variant's).
    pub async fn model_of_config(&self, config: &str) -> Result<String, String> {
        let c = self.sagemaker.describe_endpoint_config().endpoint_config_name(config).send().await.map_err(sm_err)?;
        c.production_variants()
            .first()
            .and_then(|v| v.model_name())
            .map(str::to_string)
            .ok_or_else(|| format!("the endpoint configuration {config} names no model"))
    }

    /// One object, by its s3:// URI.
    pub async fn get(&self, uri: &str) -> Result<Vec<u8>, String> {
        let (bucket, key) = split_s3(uri).ok_or_else(|| format!("{uri} is not an s3:// URI"))?;
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("{uri}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(object.body.collect().await.map_err(|e| e.to_string())?.into_bytes().to_vec())
    }

    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), String> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
        Ok(())
    }
}

/// A SageMaker list operation's output: the names it lists.
pub trait Named {
    fn names(&self) -> Vec<String>;
}

impl Named for aws_sdk_sagemaker::operation::list_training_jobs::ListTrainingJobsOutput {
    fn names(&self) -> Vec<String> {
        self.training_job_summaries().iter().map(|s| s.training_job_name().unwrap_or_default().to_string()).collect()
    }
}

impl Named for aws_sdk_sagemaker::operation::list_endpoints::ListEndpointsOutput {
    fn names(&self) -> Vec<String> {
        self.endpoints().iter().map(|s| s.endpoint_name().unwrap_or_default().to_string()).collect()
    }
}

impl Named for aws_sdk_sagemaker::operation::list_transform_jobs::ListTransformJobsOutput {
    fn names(&self) -> Vec<String> {
        self.transform_job_summaries().iter().map(|s| s.transform_job_name().unwrap_or_default().to_string()).collect()
    }
}
