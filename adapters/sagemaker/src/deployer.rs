//! The Deployer port over SageMaker's CreateModel, CreateEndpointConfig,
//! CreateEndpoint/UpdateEndpoint, DescribeEndpoint and the deletes. Every
//! create is safe to repeat: SageMaker's "already existing" answer counts as
//! done (the names are derived from the job, so it is the same thing).

use async_trait::async_trait;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    ContainerDefinition, ProductionVariant, ProductionVariantInstanceType, ProductionVariantServerlessConfig, Tag,
};
use aws_sdk_sagemaker::Client;
use hitloop_aws::classify;
use hitloop_core::deploy::Serving;
use hitloop_core::error::{Error, Result};
use hitloop_core::plan::deploy::{DeployRequest, EndpointView};
use hitloop_pipeline::ports::Deployer;

use crate::is_missing;

pub struct SageMakerDeployer {
    client: Client,
}

impl SageMakerDeployer {
    pub fn new(client: Client) -> Self {
        SageMakerDeployer { client }
    }

    pub fn from_sdk(sdk: &hitloop_aws::SdkConfig) -> Self {
        SageMakerDeployer::new(Client::new(sdk))
    }
}

/// SageMaker's answer to creating what exists: "Cannot create already
/// existing model ...".
fn already_exists(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ValidationException") && message.unwrap_or_default().to_lowercase().contains("already exist")
}

/// What a create call came to: done (now or before), refused (why), or a
/// fault to retry.
pub(crate) fn created<T, E>(
    r: std::result::Result<T, aws_sdk_sagemaker::error::SdkError<E>>,
) -> Result<std::result::Result<(), String>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(Ok(())),
        Err(e) => {
            if let Some(s) = e.as_service_error() {
                if already_exists(s.code(), s.message()) {
                    return Ok(Ok(()));
                }
            }
            match classify(e) {
                Error::Permanent(message) | Error::Invalid(message) => Ok(Err(message)),
                other => Err(other),
            }
        }
    }
}

fn variant(r: &DeployRequest) -> ProductionVariant {
    let b = ProductionVariant::builder().variant_name(hitloop_core::deploy::VARIANT).model_name(&r.model);
    let b = match &r.serving {
        Serving::Serverless { memory_mb, max_concurrency } => b.serverless_config(
            ProductionVariantServerlessConfig::builder()
                .memory_size_in_mb(*memory_mb as i32)
                .max_concurrency(*max_concurrency as i32)
                .build(),
        ),
        Serving::Instances { instance_type, count } => b
            .instance_type(ProductionVariantInstanceType::from(instance_type.as_str()))
            .initial_instance_count(*count as i32),
    };
    b.build()
}

pub(crate) fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The model version's model; one that exists counts as created.
pub(crate) async fn create_model(client: &Client, r: &DeployRequest) -> Result<std::result::Result<(), String>> {
    let model = client
        .create_model()
        .model_name(&r.model)
        .primary_container(ContainerDefinition::builder().image(&r.image).model_data_url(&r.model_data).build())
        .execution_role_arn(&r.role_arn)
        .set_tags(Some(tags(&r.tags)))
        .send()
        .await;
    created(model)
}

#[async_trait]
impl Deployer for SageMakerDeployer {
    async fn deploy(&self, r: &DeployRequest) -> Result<std::result::Result<(), String>> {
        let tags = tags(&r.tags);
        if let Err(why) = create_model(&self.client, r).await? {
            return Ok(Err(why));
        }
        let config = self
            .client
            .create_endpoint_config()
            .endpoint_config_name(&r.model)
            .production_variants(variant(r))
            .set_tags(Some(tags.clone()))
            .send()
            .await;
        if let Err(why) = created(config)? {
            return Ok(Err(why));
        }
        match self.endpoint(&r.endpoint).await? {
            None => {
                let endpoint = self
                    .client
                    .create_endpoint()
                    .endpoint_name(&r.endpoint)
                    .endpoint_config_name(&r.model)
                    .set_tags(Some(tags))
                    .send()
                    .await;
                created(endpoint)
            }
            Some(e) if e.config.as_deref() == Some(r.model.as_str()) => Ok(Ok(())),
            // Serving an earlier version: move it (SageMaker keeps the old
            // one serving until the new one is in service).
            Some(_) => {
                let update = self
                    .client
                    .update_endpoint()
                    .endpoint_name(&r.endpoint)
                    .endpoint_config_name(&r.model)
                    .send()
                    .await;
                created(update)
            }
        }
    }

    async fn endpoint(&self, name: &str) -> Result<Option<EndpointView>> {
        match self.client.describe_endpoint().endpoint_name(name).send().await {
            Ok(out) => Ok(Some(EndpointView {
                name: out.endpoint_name().unwrap_or(name).to_string(),
                status: out.endpoint_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                failure_reason: out.failure_reason().map(str::to_string),
                config: out.endpoint_config_name().map(str::to_string),
            })),
            Err(e) => match e.as_service_error() {
                Some(s) if is_missing(s.code(), s.message()) => Ok(None),
                _ => Err(classify(e)),
            },
        }
    }

    async fn delete_endpoint(&self, name: &str) -> Result<bool> {
        match self.client.delete_endpoint().endpoint_name(name).send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(s) if is_missing(s.code(), s.message()) => Ok(false),
                _ => Err(classify(e)),
            },
        }
    }

    async fn delete_model(&self, name: &str) -> Result<bool> {
        let config = match self.client.delete_endpoint_config().endpoint_config_name(name).send().await {
            Ok(_) => true,
            Err(e) => match e.as_service_error() {
                Some(s) if is_missing(s.code(), s.message()) => false,
                _ => return Err(classify(e)),
            },
        };
        let model = match self.client.delete_model().model_name(name).send().await {
            Ok(_) => true,
            Err(e) => match e.as_service_error() {
                Some(s) if is_missing(s.code(), s.message()) => false,
                _ => return Err(classify(e)),
            },
        };
        Ok(config || model)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_existing_resource_in_sagemakers_words() {
        let m = "Cannot create already existing model \"arn:aws:sagemaker:us-east-1:1:model/m\".";
        assert!(super::already_exists(Some("ValidationException"), Some(m)));
        assert!(!super::already_exists(Some("ValidationException"), Some("Could not find model")));
    }
}
