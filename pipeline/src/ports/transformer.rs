//! Batch predictions: SageMaker's transform jobs (`hitloop-sagemaker`), or
//! the local stack's stand-in behind the same API. Safe to repeat: what
//! exists already counts as done.

use async_trait::async_trait;
use hitloop_core::error::Result;
use hitloop_core::plan::deploy::DeployRequest;
use hitloop_core::transform_job::{TransformRequest, TransformView};

#[async_trait]
pub trait Transformer: Send + Sync {
    /// The model version's model (created if missing), then the transform
    /// job. Ok(Err(why)): SageMaker refused.
    async fn start(&self, model: &DeployRequest, request: &TransformRequest)
        -> Result<std::result::Result<(), String>>;
    /// None: no such transform job. Its job and batch are not read (they
    /// come with its state change event).
    async fn describe(&self, name: &str) -> Result<Option<TransformView>>;
}
