//! Serving a model: SageMaker's models, endpoint configurations and
//! endpoints (`hitloop-sagemaker`), or the local stack's stand-in. Each call
//! is safe to repeat: what exists already counts as done.

use async_trait::async_trait;
use hitloop_core::error::Result;
use hitloop_core::plan::deploy::{DeployRequest, EndpointView};

#[async_trait]
pub trait Deployer: Send + Sync {
    /// The model and its endpoint configuration, then the endpoint: created,
    /// or moved to this configuration if it serves another. Ok(Err(why)):
    /// SageMaker refused (a bad image, a role it cannot assume, a quota).
    async fn deploy(&self, request: &DeployRequest) -> Result<std::result::Result<(), String>>;
    /// None: no such endpoint.
    async fn endpoint(&self, name: &str) -> Result<Option<EndpointView>>;
    /// Deletes the endpoint; false if there was none.
    async fn delete_endpoint(&self, name: &str) -> Result<bool>;
    /// Deletes a model and its endpoint configuration (same name); false if
    /// there was neither.
    async fn delete_model(&self, name: &str) -> Result<bool>;
}
