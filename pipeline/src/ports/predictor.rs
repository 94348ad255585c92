//! Real-time predictions from a deployed endpoint: SageMaker Runtime's
//! InvokeEndpoint (`hitloop-sagemaker-runtime`), or the local stack's
//! stand-in behind the same API. Asking twice is harmless: a prediction
//! changes nothing.

use async_trait::async_trait;
use hitloop_core::error::Result;

#[async_trait]
pub trait EndpointPredictor: Send + Sync {
    /// The endpoint's answer to CSV rows (the features, in training order),
    /// as text. Ok(Err(why)): the endpoint or its model refused them.
    async fn predict(&self, endpoint: &str, rows_csv: &str) -> Result<std::result::Result<String, String>>;
}
