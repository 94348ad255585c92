//! The service as a deployment runs it (the Lambda functions): the engine on
//! the table, requests verified against the keys issued into it, requests
//! served at once, notifications sent before each answer, and what falls
//! due left to the scheduled function.

use std::sync::Arc;

use hitloop_core::error::Result;
use hitloop_lambda::env::Vars;
use hitloop_workforce::notify::Sinks;
use hitloop_workforce::server::{build, GivenStore, Requesters, ServerConfig, Shared, Turns};

use crate::{DynamoKeys, DynamoStore};

/// Where a deployment keeps its records and its keys' secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// HITLOOP_WORKFORCE_TABLE: the table of infra/workforce.yaml.
    pub table: String,
    /// HITLOOP_WORKFORCE_KMS_KEY: the key the requester keys' secrets are encrypted with.
    pub kms_key: String,
}

impl Deployment {
    /// The variables a function of the service reads (its `Config`).
    pub const VARIABLES: &'static [&'static str] = &["HITLOOP_WORKFORCE_TABLE", "HITLOOP_WORKFORCE_KMS_KEY"];

    /// Read from a function's environment.
    pub fn from(env: &Vars<'_>) -> Result<Deployment> {
        Ok(Deployment {
            table: env.required("HITLOOP_WORKFORCE_TABLE")?,
            kms_key: env.required("HITLOOP_WORKFORCE_KMS_KEY")?,
        })
    }

    /// The service, built from the AWS configuration (credentials and region
    /// from the Lambda environment). Must run inside a Tokio runtime.
    pub fn service(&self, sdk: &hitloop_aws::SdkConfig) -> std::io::Result<Arc<Shared>> {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let keys = DynamoKeys::new(ddb.clone(), aws_sdk_kms::Client::new(sdk), &self.table, &self.kms_key);
        let config = ServerConfig {
            speed: 1.0,
            store: Some(GivenStore(Arc::new(DynamoStore::new(ddb, &self.table)))),
            requesters: Requesters::Store(Arc::new(keys)),
            turns: Turns::Concurrent { pass_every: None },
            reply_after_delivery: true,
            ..Default::default()
        };
        let sinks = Sinks { sqs: Some(aws_sdk_sqs::Client::new(sdk)), sns: Some(aws_sdk_sns::Client::new(sdk)) };
        build(config, sinks)
    }
}
