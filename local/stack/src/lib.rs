//! hitloop on one machine: the stack's resources created in a local AWS
//! stand-in (moto), and a router that delivers events to the functions
//! in-process the way Lambda would (S3 notifications to ingest, each queue to
//! its consumer in batches with partial failures, the schedule to sweep).

pub mod bench;
pub mod cli;
pub mod endpoints;
pub mod functions;
pub mod invocations;
pub mod marketplace;
pub mod resources;
pub mod router;
pub mod sagemaker_local;
pub mod template;
pub mod trainer;
pub mod transforms;

/// The AWS SDK configuration for a local endpoint (moto) with dummy
/// credentials.
pub async fn local_sdk(endpoint: &str) -> hitloop_aws::SdkConfig {
    hitloop_aws::local_sdk_config(endpoint).await
}
