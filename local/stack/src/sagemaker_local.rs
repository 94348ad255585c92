//! What the local stand-ins for SageMaker (the trainer, the endpoints, the
//! transforms) share: moto's SageMaker, which records what train asked for;
//! S3, where models and data are; and EventBridge, where they emit the state
//! changes SageMaker would.

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
