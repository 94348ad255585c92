//! What train reads from its environment, and the dependencies it builds:
//! DynamoDB (jobs, items, the training and deployment claims), S3 (the
//! outputs, predictions), SageMaker (training jobs, models, endpoints,
//! transform jobs), SageMaker Runtime (small batches from the endpoint).
//! Nothing else: no marketplace, no queue.

use std::sync::Arc;

use hitloop_core::error::Result;
use hitloop_core::plan::train::TrainSettings;
use hitloop_dynamodb::DynamoStore;
use hitloop_lambda::env::Vars;
use hitloop_pipeline::steps::train::TrainDeps;
use hitloop_s3::S3Blobs;
use hitloop_sagemaker::{SageMakerDeployer, SageMakerTrainer, SageMakerTransformer};
use hitloop_sagemaker_runtime::SageMakerPredictor;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    /// The stack's SageMaker execution role, the default for jobs that name none.
    pub sagemaker_role_arn: Option<String>,
    /// Where SageMaker Runtime is, when not the region's: the local stack
    /// sets it to its endpoint stand-in (never read from the environment).
    pub sagemaker_runtime_url: Option<String>,
}

impl Config {
    /// Every variable train reads.
    pub const VARIABLES: &'static [&'static str] = &["TABLE_NAME", "SAGEMAKER_ROLE_ARN"];

    pub fn from(env: &Vars<'_>) -> Result<Config> {
        Ok(Config {
            table: env.required("TABLE_NAME")?,
            sagemaker_role_arn: env.optional("SAGEMAKER_ROLE_ARN"),
            sagemaker_runtime_url: None,
        })
    }

    pub fn deps(&self, sdk: &hitloop_aws::SdkConfig) -> TrainDeps {
        TrainDeps {
            store: Arc::new(DynamoStore::from_sdk(sdk, &self.table)),
            blobs: Arc::new(S3Blobs::from_sdk(sdk)),
            trainer: Arc::new(SageMakerTrainer::from_sdk(sdk)),
            deployer: Arc::new(SageMakerDeployer::from_sdk(sdk)),
            transformer: Arc::new(SageMakerTransformer::from_sdk(sdk)),
            predictor: Arc::new(SageMakerPredictor::from_sdk(sdk, self.sagemaker_runtime_url.as_deref())),
            settings: TrainSettings {
                default_role_arn: self.sagemaker_role_arn.clone(),
                region: hitloop_aws::region(sdk),
            },
        }
    }
}
