//! hitloop on one machine: the stack's resources created in a local AWS
//! stand-in (moto), and a router that delivers events to the functions
//! in-process the way Lambda would (S3 notifications to ingest, each queue to
//! its consumer in batches with partial failures, the schedule to sweep).

pub mod cli;
pub mod resources;
pub mod router;
pub mod template;
pub mod trainer;

/// Builds the AWS SDK configuration for a local endpoint (moto) with dummy
/// credentials.
pub async fn local_sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .test_credentials()
        .load()
        .await
}
