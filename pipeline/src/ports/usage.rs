//! How much a deployed endpoint served: CloudWatch's SageMaker metrics
//! (`hitloop-cloudwatch`), which the local stack's invocation stand-in
//! writes too. Read by `hitloop status` to warn of an idle endpoint.

use async_trait::async_trait;
use hitloop_core::error::Result;

#[async_trait]
pub trait EndpointUsage: Send + Sync {
    /// The requests the endpoint answered from `since_ms` to `until_ms`.
    async fn invocations(&self, endpoint: &str, since_ms: i64, until_ms: i64) -> Result<u64>;
}
