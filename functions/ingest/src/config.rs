//! What ingest reads from its environment, and the dependencies it builds:
//! DynamoDB (jobs, items, prediction batches), S3 (the uploads, errors.json,
//! a batch's transform input), SQS (the publish queue; the training queue
//! for prediction batches). Nothing else.

use std::sync::Arc;

use hitloop_core::error::Result;
use hitloop_dynamodb::DynamoStore;
use hitloop_lambda::env::Vars;
use hitloop_pipeline::steps::ingest::IngestDeps;
use hitloop_s3::S3Blobs;
use hitloop_sqs::SqsQueue;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub publish_queue_url: String,
    pub training_queue_url: String,
}

impl Config {
    /// Every variable ingest reads (the template gives it exactly these).
    pub const VARIABLES: &'static [&'static str] = &["TABLE_NAME", "PUBLISH_QUEUE_URL", "TRAINING_QUEUE_URL"];

    pub fn from(env: &Vars<'_>) -> Result<Config> {
        Ok(Config {
            table: env.required("TABLE_NAME")?,
            publish_queue_url: env.required("PUBLISH_QUEUE_URL")?,
            training_queue_url: env.required("TRAINING_QUEUE_URL")?,
        })
    }

    pub fn deps(&self, sdk: &hitloop_aws::SdkConfig) -> IngestDeps {
        IngestDeps {
            store: Arc::new(DynamoStore::from_sdk(sdk, &self.table)),
            blobs: Arc::new(S3Blobs::from_sdk(sdk)),
            queue: Arc::new(SqsQueue::from_sdk(sdk)),
            publish_queue_url: self.publish_queue_url.clone(),
            training_queue_url: self.training_queue_url.clone(),
        }
    }
}
