//! The Transformer port over SageMaker's CreateModel, CreateTransformJob and
//! DescribeTransformJob. The transform job's name is derived from the job,
//! the batch and the model version; it is described before it is created,
//! so a retry never starts a second one (and a stand-in that overwrites on a
//! second create never sees one).

use async_trait::async_trait;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    AssemblyType, BatchStrategy, S3DataType, SplitType, TransformDataSource, TransformInput, TransformInstanceType,
    TransformOutput, TransformResources, TransformS3DataSource,
};
use aws_sdk_sagemaker::Client;
use hitloop_aws::classify;
use hitloop_core::error::Result;
use hitloop_core::plan::deploy::DeployRequest;
use hitloop_core::transform_job::{TransformRequest, TransformView};
use hitloop_pipeline::ports::Transformer;

use crate::deployer::{create_model, created, tags};
use crate::is_missing;

pub struct SageMakerTransformer {
    client: Client,
}

impl SageMakerTransformer {
    pub fn new(client: Client) -> Self {
        SageMakerTransformer { client }
    }

    pub fn from_sdk(sdk: &hitloop_aws::SdkConfig) -> Self {
        SageMakerTransformer::new(Client::new(sdk))
    }
}

#[async_trait]
impl Transformer for SageMakerTransformer {
    async fn start(&self, model: &DeployRequest, r: &TransformRequest) -> Result<std::result::Result<(), String>> {
        if let Err(why) = create_model(&self.client, model).await? {
            return Ok(Err(why));
        }
        if self.describe(&r.name).await?.is_some() {
            return Ok(Ok(()));
        }
        let source = TransformS3DataSource::builder().s3_data_type(S3DataType::S3Prefix).s3_uri(&r.input_uri).build();
        let input = TransformInput::builder()
            .data_source(TransformDataSource::builder().s3_data_source(source).build())
            .content_type("text/csv")
            .split_type(SplitType::Line)
            .build();
        let output = TransformOutput::builder()
            .s3_output_path(&r.output_uri)
            .accept("text/csv")
            .assemble_with(AssemblyType::Line)
            .build();
        let resources = TransformResources::builder()
            .instance_type(TransformInstanceType::from(r.instance_type.as_str()))
            .instance_count(1)
            .build();
        let started = self
            .client
            .create_transform_job()
            .transform_job_name(&r.name)
            .model_name(&r.model)
            .batch_strategy(BatchStrategy::MultiRecord)
            .transform_input(input)
            .transform_output(output)
            .transform_resources(resources)
            .set_tags(Some(tags(&r.tags)))
            .send()
            .await;
        created(started)
    }

    async fn describe(&self, name: &str) -> Result<Option<TransformView>> {
        let out = match self.client.describe_transform_job().transform_job_name(name).send().await {
            Ok(out) => out,
            Err(e) => {
                return match e.as_service_error() {
                    Some(s) if is_missing(s.code(), s.message()) => Ok(None),
                    _ => Err(classify(e)),
                }
            }
        };
        Ok(Some(TransformView {
            name: out.transform_job_name().unwrap_or(name).to_string(),
            status: out.transform_job_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            failure_reason: out.failure_reason().map(str::to_string),
            // Its job and batch are in its tags, which the state change
            // event carries; a describe (only ever to see whether it exists)
            // does not read them.
            job_id: None,
            batch: None,
        }))
    }
}
