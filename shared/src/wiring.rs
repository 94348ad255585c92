//! Configuration from the environment and the dependencies every function
//! is built from. Each function's `main.rs` calls [`Deps::from_env`] once per
//! cold start.

use std::sync::Arc;

use crate::adapters::{dynamo::DynamoJobStore, mturk::MturkCrowd, s3::S3Blobs, sqs::SqsQueue};
use crate::consensus::{AgreementRule, DecisionRule};
use crate::error::{Error, Result};
use crate::job::JobSpec;
use crate::ports::{Blobs, Crowd, JobStore, Queue};

/// The names the SAM template sets (Globals.Function.Environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub publish_queue_url: String,
    /// Where MTurk sends notifications (the notification queue's URL).
    pub notification_queue_url: String,
    pub training_queue_url: String,
    /// The MTurk-compatible endpoint (production MTurk is gone).
    pub mturk_endpoint: String,
    /// How long one MTurk request may take before it is given up and tried
    /// again (MTURK_ATTEMPT_TIMEOUT_MS): well inside the functions' timeout,
    /// so a slow marketplace makes a retry, not a killed invocation.
    pub mturk_attempt_timeout_ms: u64,
}

/// Ten seconds: three attempts fit in the 60-second function timeout.
pub const MTURK_ATTEMPT_TIMEOUT_MS: u64 = 10_000;

impl Config {
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| Error::Permanent(format!("the environment variable {name} is not set")))
        };
        Ok(Config {
            table: var("TABLE_NAME")?,
            publish_queue_url: var("PUBLISH_QUEUE_URL")?,
            notification_queue_url: var("NOTIFICATION_QUEUE_URL")?,
            training_queue_url: var("TRAINING_QUEUE_URL")?,
            mturk_endpoint: var("MTURK_ENDPOINT")?,
            mturk_attempt_timeout_ms: match std::env::var("MTURK_ATTEMPT_TIMEOUT_MS") {
                Ok(v) => v
                    .parse()
                    .map_err(|_| Error::Permanent(format!("MTURK_ATTEMPT_TIMEOUT_MS={v:?} is not a number")))?,
                Err(_) => MTURK_ATTEMPT_TIMEOUT_MS,
            },
        })
    }
}

/// Everything a handler needs, behind the ports.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn JobStore>,
    pub crowd: Arc<dyn Crowd>,
    pub blobs: Arc<dyn Blobs>,
    pub queue: Arc<dyn Queue>,
    pub config: Config,
}

impl Deps {
    /// Adapters over the AWS SDK. `AWS_ENDPOINT_URL` (moto locally) applies to
    /// every AWS service; MTurk always goes to `MTURK_ENDPOINT` in us-east-1.
    pub async fn from_env() -> Result<Self> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::from_sdk(&sdk, config))
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        // A custom endpoint (moto) serves buckets by path, not by host name.
        let local = sdk.endpoint_url().is_some();
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(local).build());
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(std::time::Duration::from_millis(config.mturk_attempt_timeout_ms))
            .connect_timeout(std::time::Duration::from_secs(3))
            .build();
        let mturk = aws_sdk_mturk::config::Builder::from(sdk)
            .region(aws_sdk_mturk::config::Region::new("us-east-1"))
            .endpoint_url(&config.mturk_endpoint)
            .timeout_config(timeouts);
        Deps {
            store: Arc::new(DynamoJobStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table)),
            crowd: Arc::new(MturkCrowd::from_conf(mturk)),
            blobs: Arc::new(S3Blobs::new(s3)),
            queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk))),
            config,
        }
    }

    /// The decision rule a job's consensus settings ask for.
    pub fn rule(&self, spec: &JobSpec) -> Box<dyn DecisionRule> {
        Box::new(AgreementRule { agreement: spec.consensus.agreement, max_assignments: spec.consensus.max_assignments })
    }
}

/// Logging for a Lambda function: JSON when the runtime asks for it, level
/// from AWS_LAMBDA_LOG_LEVEL or RUST_LOG.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}
