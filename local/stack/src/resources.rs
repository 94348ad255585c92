//! The stack's resources, as `infra/template.yaml` declares them, created in
//! a local AWS stand-in: the bucket (with its upload notification), the table
//! and its indexes, the queues with their dead-letter queues, and the
//! EventBridge rule that brings SageMaker's state changes to the training
//! queue.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use hitloop_shared::adapters::dynamo::{JOBS_BY_STATUS, OPEN_ITEMS};
use hitloop_shared::wiring::Config;

#[derive(Debug, Clone)]
pub struct StackResources {
    pub name: String,
    pub bucket: String,
    pub table: String,
    pub publish_queue_url: String,
    pub notification_queue_url: String,
    pub training_queue_url: String,
    /// Locally, S3 notifications go to this queue and the router invokes
    /// ingest from it (moto cannot invoke a Lambda function).
    pub upload_queue_url: String,
}

impl StackResources {
    pub fn config(&self, mturk_endpoint: &str) -> Config {
        Config {
            table: self.table.clone(),
            publish_queue_url: self.publish_queue_url.clone(),
            notification_queue_url: self.notification_queue_url.clone(),
            training_queue_url: self.training_queue_url.clone(),
            mturk_endpoint: mturk_endpoint.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot create {what}: {message}")]
pub struct CreateError {
    pub what: String,
    pub message: String,
}

fn err(what: &str, e: impl std::fmt::Display) -> CreateError {
    CreateError { what: what.to_string(), message: e.to_string() }
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, CreateError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(|e| err("key schema", e))
}

fn attr(name: &str, t: ScalarAttributeType) -> Result<AttributeDefinition, CreateError> {
    AttributeDefinition::builder().attribute_name(name).attribute_type(t).build().map_err(|e| err("attribute", e))
}

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    dlq_arn: Option<&str>,
    visibility_s: u32,
) -> Result<(String, String), CreateError> {
    let mut req =
        sqs.create_queue().queue_name(name).attributes(QueueAttributeName::VisibilityTimeout, visibility_s.to_string());
    if let Some(arn) = dlq_arn {
        let policy = serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": 5 }).to_string();
        req = req.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    let url = req
        .send()
        .await
        .map_err(|e| err(name, aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .queue_url
        .unwrap_or_default();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| err(name, aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    let arn = attrs.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).cloned().unwrap_or_default();
    Ok((url, arn))
}

/// SageMaker's training state changes for hitloop's jobs -> the training
/// queue (the template's TrainingStateRule).
async fn training_state_rule(sdk: &aws_config::SdkConfig, name: &str, queue_arn: &str) -> Result<(), CreateError> {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let rule = format!("{name}-training-state");
    let pattern = serde_json::json!({
        "source": ["aws.sagemaker"],
        "detail-type": [hitloop_shared::pipeline::train::STATE_CHANGE],
        "detail": { "TrainingJobName": [{ "prefix": hitloop_shared::training::TRAINING_JOB_PREFIX }] }
    });
    events
        .put_rule()
        .name(&rule)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(|e| err(&rule, aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("training-queue")
        .arn(queue_arn)
        .build()
        .map_err(|e| err(&rule, e))?;
    events
        .put_targets()
        .rule(&rule)
        .targets(target)
        .send()
        .await
        .map_err(|e| err(&rule, aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// Creates every resource of a stack called `name` (names derive from it, so
/// several stacks can share one moto server).
pub async fn create(sdk: &aws_config::SdkConfig, name: &str) -> Result<StackResources, CreateError> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());

    let table = format!("{name}-jobs");
    let all = || Projection::builder().projection_type(ProjectionType::All).build();
    ddb.create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk", ScalarAttributeType::S)?)
        .attribute_definitions(attr("sk", ScalarAttributeType::S)?)
        .attribute_definitions(attr("job_status", ScalarAttributeType::S)?)
        .attribute_definitions(attr("created_at", ScalarAttributeType::N)?)
        .attribute_definitions(attr("open_shard", ScalarAttributeType::S)?)
        .attribute_definitions(attr("open_sk", ScalarAttributeType::S)?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(JOBS_BY_STATUS)
                .key_schema(key("job_status", KeyType::Hash)?)
                .key_schema(key("created_at", KeyType::Range)?)
                .projection(all())
                .build()
                .map_err(|e| err("index", e))?,
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(OPEN_ITEMS)
                .key_schema(key("open_shard", KeyType::Hash)?)
                .key_schema(key("open_sk", KeyType::Range)?)
                .projection(all())
                .build()
                .map_err(|e| err("index", e))?,
        )
        .send()
        .await
        .map_err(|e| err(&table, aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;

    let (_, publish_dlq) = queue(&sqs, &format!("{name}-publish-dlq"), None, 30).await?;
    let (publish_queue_url, _) = queue(&sqs, &format!("{name}-publish"), Some(&publish_dlq), 30).await?;
    let (_, notification_dlq) = queue(&sqs, &format!("{name}-notifications-dlq"), None, 30).await?;
    let (notification_queue_url, _) =
        queue(&sqs, &format!("{name}-notifications"), Some(&notification_dlq), 30).await?;
    let (_, training_dlq) = queue(&sqs, &format!("{name}-training-dlq"), None, 30).await?;
    let (training_queue_url, training_arn) = queue(&sqs, &format!("{name}-training"), Some(&training_dlq), 120).await?;
    training_state_rule(sdk, name, &training_arn).await?;
    let (upload_queue_url, upload_arn) = queue(&sqs, &format!("{name}-uploads"), None, 60).await?;

    let bucket = format!("{name}-data");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .map_err(|e| err(&bucket, aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let notify = QueueConfiguration::builder()
        .queue_arn(upload_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                .key(
                    aws_sdk_s3::types::S3KeyFilter::builder()
                        .filter_rules(
                            aws_sdk_s3::types::FilterRule::builder()
                                .name(aws_sdk_s3::types::FilterRuleName::Prefix)
                                .value("jobs/")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
        .map_err(|e| err("bucket notification", e))?;
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(NotificationConfiguration::builder().queue_configurations(notify).build())
        .send()
        .await
        .map_err(|e| err("bucket notification", aws_sdk_s3::error::DisplayErrorContext(e)))?;

    Ok(StackResources {
        name: name.to_string(),
        bucket,
        table,
        publish_queue_url,
        notification_queue_url,
        training_queue_url,
        upload_queue_url,
    })
}
