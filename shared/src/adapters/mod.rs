//! Adapters: the ports over the AWS SDKs.

pub mod dynamo;
pub mod mturk;
pub mod s3;
pub mod sqs;
