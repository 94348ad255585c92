//! Model training: SageMaker (`hitloop-sagemaker`), or the local trainer
//! behind the same API.

use async_trait::async_trait;
use hitloop_core::error::Result;
use hitloop_core::training_job::{StartError, TrainingRequest, TrainingView};

#[async_trait]
pub trait Trainer: Send + Sync {
    async fn describe(&self, name: &str) -> Result<Option<TrainingView>>;
    /// Starts a training job; Ok(Ok(arn)) when it was created by this call.
    async fn start(&self, request: &TrainingRequest) -> Result<std::result::Result<String, StartError>>;
}
