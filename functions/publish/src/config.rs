//! What publish reads from its environment, and the dependencies it builds:
//! DynamoDB (jobs, items) and the marketplace. Nothing else.

use std::sync::Arc;

use hitloop_core::error::Result;
use hitloop_dynamodb::DynamoStore;
use hitloop_lambda::env::Vars;
use hitloop_mturk_client::{MturkSettings, ATTEMPT_TIMEOUT_MS};
use hitloop_pipeline::steps::publish::PublishDeps;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    /// The MTurk-compatible endpoint (production MTurk is gone) and its request timeout.
    pub mturk: MturkSettings,
    /// Where the marketplace sends each job's notifications.
    pub notification_queue_url: String,
}

impl Config {
    /// Every variable publish reads (MTURK_ATTEMPT_TIMEOUT_MS may be absent).
    pub const VARIABLES: &'static [&'static str] =
        &["TABLE_NAME", "MTURK_ENDPOINT", "MTURK_KEY_SECRET", "MTURK_ATTEMPT_TIMEOUT_MS", "NOTIFICATION_QUEUE_URL"];

    pub fn from(env: &Vars<'_>) -> Result<Config> {
        Ok(Config {
            table: env.required("TABLE_NAME")?,
            mturk: MturkSettings {
                endpoint: env.required("MTURK_ENDPOINT")?,
                key_secret: env.required("MTURK_KEY_SECRET")?,
                attempt_timeout_ms: env.number("MTURK_ATTEMPT_TIMEOUT_MS", ATTEMPT_TIMEOUT_MS)?,
            },
            notification_queue_url: env.required("NOTIFICATION_QUEUE_URL")?,
        })
    }

    pub fn deps(&self, sdk: &hitloop_aws::SdkConfig) -> PublishDeps {
        PublishDeps {
            store: Arc::new(DynamoStore::from_sdk(sdk, &self.table)),
            crowd: Arc::new(self.mturk.crowd(&hitloop_secrets::signing_with_key_in(sdk, &self.mturk.key_secret))),
            notification_queue_url: self.notification_queue_url.clone(),
        }
    }
}
