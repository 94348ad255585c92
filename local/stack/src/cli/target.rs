//! Where a command's stack is: the running local stack (its state file), or
//! a deployed CloudFormation stack (its outputs).

use std::path::Path;
use std::sync::Arc;

use hitloop_cloudwatch::CloudWatchUsage;
use hitloop_dynamodb::DynamoStore;
use hitloop_pipeline::ports::{Deployer, EndpointUsage};
use hitloop_sagemaker::SageMakerDeployer;
use serde::{Deserialize, Serialize};

/// What `hitloop local up` writes for the other commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalState {
    pub aws_endpoint: String,
    pub mturk_url: String,
    pub bucket: String,
    pub table: String,
    pub pid: u32,
}

/// A stack's bucket and table, with clients built once for every call.
pub struct Target {
    pub bucket: String,
    pub table: String,
    pub local: Option<LocalState>,
    pub s3: aws_sdk_s3::Client,
    pub store: Arc<DynamoStore>,
    /// The stack's SageMaker models and endpoints.
    pub deployer: Arc<dyn Deployer>,
    /// What the endpoints served (CloudWatch).
    pub usage: Arc<dyn EndpointUsage>,
}

impl Target {
    pub async fn resolve(stack: Option<&str>, state_path: &Path) -> Result<Target, String> {
        match stack {
            Some(name) => Target::deployed(name).await,
            None => Target::local(state_path).await,
        }
    }

    async fn local(state_path: &Path) -> Result<Target, String> {
        let text = std::fs::read_to_string(state_path).map_err(|_| {
            format!(
                "no local stack is running ({} is missing): start one with `hitloop local up`, or name a deployed stack with --stack <name>",
                state_path.display()
            )
        })?;
        let state: LocalState = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a local stack's state: {e}", state_path.display()))?;
        let sdk = crate::local_sdk(&state.aws_endpoint).await;
        Ok(Target::new(&sdk, state.bucket.clone(), state.table.clone(), Some(state)))
    }

    async fn deployed(name: &str) -> Result<Target, String> {
        let sdk = hitloop_aws::sdk_config().await;
        let cfn = aws_sdk_cloudformation::Client::new(&sdk);
        let out = cfn.describe_stacks().stack_name(name).send().await.map_err(|e| {
            format!(
                "cannot read the stack {name}: {} (check the name, the region in AWS_REGION or your profile, and your credentials)",
                aws_sdk_cloudformation::error::DisplayErrorContext(e)
            )
        })?;
        let stack = out.stacks().first().ok_or_else(|| format!("there is no stack {name}"))?;
        let output = |key: &str| {
            stack
                .outputs()
                .iter()
                .find(|o| o.output_key() == Some(key))
                .and_then(|o| o.output_value())
                .map(str::to_string)
                .ok_or_else(|| format!("the stack {name} has no output {key}: is it a hitloop stack?"))
        };
        Ok(Target::new(&sdk, output("BucketName")?, output("TableName")?, None))
    }

    /// The stack with this bucket and table (`local`: moto's, served by path).
    pub fn new(sdk: &hitloop_aws::SdkConfig, bucket: String, table: String, local: Option<LocalState>) -> Target {
        // moto serves buckets by path, not by host name
        let s3 = aws_sdk_s3::config::Builder::from(sdk).force_path_style(local.is_some()).build();
        Target {
            s3: aws_sdk_s3::Client::from_conf(s3),
            store: Arc::new(DynamoStore::from_sdk(sdk, &table)),
            deployer: Arc::new(SageMakerDeployer::from_sdk(sdk)),
            usage: Arc::new(CloudWatchUsage::from_sdk(sdk)),
            bucket,
            table,
            local,
        }
    }

    /// A small object's text, if it exists.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let out = self.s3.get_object().bucket(&self.bucket).key(key).send().await.ok()?;
        Some(out.body.collect().await.ok()?.into_bytes().to_vec())
    }
}
