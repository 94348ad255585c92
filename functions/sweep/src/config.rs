//! What sweep reads from its environment, and the dependencies it builds:
//! DynamoDB, the marketplace (it reconciles as collect does), SQS (the
//! publish and training queues). Nothing else.

use std::sync::Arc;

use hitloop_core::error::Result;
use hitloop_dynamodb::DynamoStore;
use hitloop_lambda::env::Vars;
use hitloop_mturk_client::{MturkSettings, ATTEMPT_TIMEOUT_MS};
use hitloop_pipeline::steps::reconcile::CollectDeps;
use hitloop_pipeline::steps::sweep::SweepDeps;
use hitloop_sqs::SqsQueue;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    /// The MTurk-compatible endpoint (production MTurk is gone) and its request timeout.
    pub mturk: MturkSettings,
    pub publish_queue_url: String,
    pub training_queue_url: String,
}

impl Config {
    /// Every variable sweep reads (MTURK_ATTEMPT_TIMEOUT_MS may be absent).
    pub const VARIABLES: &'static [&'static str] = &[
        "TABLE_NAME",
        "MTURK_ENDPOINT",
        "MTURK_KEY_SECRET",
        "MTURK_ATTEMPT_TIMEOUT_MS",
        "PUBLISH_QUEUE_URL",
        "TRAINING_QUEUE_URL",
    ];

    pub fn from(env: &Vars<'_>) -> Result<Config> {
        Ok(Config {
            table: env.required("TABLE_NAME")?,
            mturk: MturkSettings {
                endpoint: env.required("MTURK_ENDPOINT")?,
                key_secret: env.required("MTURK_KEY_SECRET")?,
                attempt_timeout_ms: env.number("MTURK_ATTEMPT_TIMEOUT_MS", ATTEMPT_TIMEOUT_MS)?,
            },
            publish_queue_url: env.required("PUBLISH_QUEUE_URL")?,
            training_queue_url: env.required("TRAINING_QUEUE_URL")?,
        })
    }

    pub fn deps(&self, sdk: &hitloop_aws::SdkConfig) -> SweepDeps {
        let store = Arc::new(DynamoStore::from_sdk(sdk, &self.table));
        SweepDeps {
            collect: CollectDeps {
                store: store.clone(),
                crowd: Arc::new(self.mturk.crowd(&hitloop_secrets::signing_with_key_in(sdk, &self.mturk.key_secret))),
                queue: Arc::new(SqsQueue::from_sdk(sdk)),
                training_queue_url: self.training_queue_url.clone(),
                specs: Default::default(),
            },
            publish_queue_url: self.publish_queue_url.clone(),
            batches: store,
        }
    }
}
