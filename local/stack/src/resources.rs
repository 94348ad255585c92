//! The stack's resources, read from `infra/template.yaml` and created in a
//! local AWS stand-in (moto): the tables with their indexes, the queues with
//! their dead-letter queues, the bucket with the upload notification its
//! function subscribes, the EventBridge rules and their queue targets. Which
//! function consumes which queue, and the environment the functions get,
//! come from the template too.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml_ng::Value as Yaml;

use crate::marketplace::Marketplace;
use crate::template::{intrinsic, scalar, to_json, Intrinsic, Template};

use std::collections::BTreeMap;
use std::time::Duration;

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
    /// queue URL -> the function (its binary name) the template subscribes to it
    pub consumers: BTreeMap<String, String>,
    /// function (its binary name) -> the environment the template gives it,
    /// resolved to this stack's resources; a parameter's value stays
    /// `${Parameter}` until `env_of` fills it in.
    pub functions: BTreeMap<String, BTreeMap<String, String>>,
    /// The role the train function names by default (SAGEMAKER_ROLE_ARN).
    pub sagemaker_role_arn: String,
    /// How often the schedule runs sweep (SweepSchedule's default).
    pub sweep_every: Duration,
}

impl StackResources {
    /// The environment of the function `binary`, with the marketplace's
    /// URL and key secret for the MTurkEndpoint and MTurkKeySecret
    /// parameters.
    pub fn env_of(&self, binary: &str, marketplace: &Marketplace) -> BTreeMap<String, String> {
        let mut env = self.functions.get(binary).cloned().unwrap_or_default();
        for v in env.values_mut() {
            for name in ["MTurkEndpoint", "MTurkKeySecret"] {
                if let Some(value) = marketplace.parameter(name) {
                    *v = v.replace(&format!("${{{name}}}"), value);
                }
            }
        }
        env
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
    attributes: &[(QueueAttributeName, String)],
) -> Result<(String, String), CreateError> {
    let mut req = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        req = req.attributes(k.clone(), v);
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

/// What the template's resources became, by logical id.
#[derive(Default)]
struct Created {
    /// logical id -> (url, arn)
    queues: BTreeMap<String, (String, String)>,
    tables: BTreeMap<String, String>,
    buckets: BTreeMap<String, String>,
    roles: BTreeMap<String, String>,
}

impl Created {
    /// A function's environment value: text as it is, a resource's name or
    /// ARN, `${Parameter}` for a parameter (filled in later).
    fn value(&self, v: &Yaml, template: &Template) -> Option<String> {
        if let Some(text) = scalar(v) {
            return Some(text);
        }
        match intrinsic(v)? {
            Intrinsic::Ref(id) if template.parameters.contains_key(&id) => Some(format!("${{{id}}}")),
            _ => self.resolve(v),
        }
    }

    /// The value an intrinsic resolves to locally (None: a parameter).
    fn resolve(&self, v: &Yaml) -> Option<String> {
        match intrinsic(v)? {
            Intrinsic::Ref(id) => self
                .tables
                .get(&id)
                .or_else(|| self.buckets.get(&id))
                .cloned()
                .or_else(|| self.queues.get(&id).map(|q| q.0.clone())),
            Intrinsic::GetAtt(id, attr) if attr == "Arn" => {
                self.queues.get(&id).map(|q| q.1.clone()).or_else(|| self.roles.get(&id).cloned())
            }
            Intrinsic::GetAtt(..) => None,
        }
    }
}

fn seq(v: Option<&Yaml>) -> Vec<Yaml> {
    v.and_then(Yaml::as_sequence).cloned().unwrap_or_default()
}

fn text(v: &Yaml, key: &str) -> String {
    v.get(key).and_then(scalar).unwrap_or_default()
}

fn key_schema(v: Option<&Yaml>) -> Result<Vec<KeySchemaElement>, CreateError> {
    seq(v)
        .iter()
        .map(|k| {
            let kind = if text(k, "KeyType") == "HASH" { KeyType::Hash } else { KeyType::Range };
            key(&text(k, "AttributeName"), kind)
        })
        .collect()
}

async fn create_table(
    ddb: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &crate::template::Resource,
) -> Result<(), CreateError> {
    let mut req = ddb.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
    for a in seq(table.prop(&["AttributeDefinitions"])) {
        let t = match text(&a, "AttributeType").as_str() {
            "N" => ScalarAttributeType::N,
            "B" => ScalarAttributeType::B,
            _ => ScalarAttributeType::S,
        };
        req = req.attribute_definitions(attr(&text(&a, "AttributeName"), t)?);
    }
    req = req.set_key_schema(Some(key_schema(table.prop(&["KeySchema"]))?));
    for g in seq(table.prop(&["GlobalSecondaryIndexes"])) {
        let projection = match g.get("Projection").map(|p| text(p, "ProjectionType")).as_deref() {
            Some("KEYS_ONLY") => ProjectionType::KeysOnly,
            _ => ProjectionType::All,
        };
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(&g, "IndexName"))
                .set_key_schema(Some(key_schema(g.get("KeySchema"))?))
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(|e| err("index", e))?,
        );
    }
    req.send().await.map_err(|e| err(name, aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// `rate(5 minutes)` -> 5 minutes.
pub fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    let seconds = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n * seconds))
}

/// Creates every resource of `infra/template.yaml` for a stack called
/// `name` (physical names derive from it and the logical ids, so several
/// stacks can share one moto server).
pub async fn create(sdk: &hitloop_aws::SdkConfig, name: &str) -> Result<StackResources, CreateError> {
    let template = Template::load().map_err(|e| err("the template", e))?;
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let mut made = Created::default();

    for t in template.of_kind("AWS::DynamoDB::Table") {
        let table = format!("{name}-{}", t.logical_id);
        create_table(&ddb, &table, t).await?;
        made.tables.insert(t.logical_id.clone(), table);
    }
    // Queues first, then their redrive policies (a DLQ must exist).
    for q in template.of_kind("AWS::SQS::Queue") {
        let mut attributes = Vec::new();
        for (prop, attribute) in [
            ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
            ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
        ] {
            if let Some(v) = q.prop(&[prop]).and_then(scalar) {
                attributes.push((attribute, v));
            }
        }
        let created = queue(&sqs, &format!("{name}-{}", q.logical_id), &attributes).await?;
        made.queues.insert(q.logical_id.clone(), created);
    }
    for q in template.of_kind("AWS::SQS::Queue") {
        let Some(dlq) = q.prop(&["RedrivePolicy", "deadLetterTargetArn"]).and_then(|v| made.resolve(v)) else {
            continue;
        };
        let max = q.prop(&["RedrivePolicy", "maxReceiveCount"]).and_then(scalar).unwrap_or_else(|| "5".into());
        let policy =
            serde_json::json!({ "deadLetterTargetArn": dlq, "maxReceiveCount": max.parse::<u32>().unwrap_or(5) });
        let url = &made.queues[&q.logical_id].0;
        sqs.set_queue_attributes()
            .queue_url(url)
            .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
            .send()
            .await
            .map_err(|e| err(&q.logical_id, aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    }
    for r in template.of_kind("AWS::IAM::Role") {
        // moto does not check roles: an ARN in the account is all the functions need.
        made.roles.insert(r.logical_id.clone(), format!("arn:aws:iam::123456789012:role/{name}-{}", r.logical_id));
    }
    for b in template.of_kind("AWS::S3::Bucket") {
        let bucket = format!("{name}-{}", b.logical_id.to_lowercase());
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .map_err(|e| err(&bucket, aws_sdk_s3::error::DisplayErrorContext(e)))?;
        made.buckets.insert(b.logical_id.clone(), bucket);
    }

    // The functions' triggers: S3 -> a local queue the router invokes from,
    // SQS -> the consumer, the schedule -> sweep's interval.
    let (upload_queue_url, upload_arn) = queue(&sqs, &format!("{name}-uploads"), &[]).await?;
    let mut consumers = BTreeMap::new();
    let mut sweep_every = Duration::from_secs(300);
    let mut sagemaker_role_arn = String::new();
    let mut functions = BTreeMap::new();
    for f in template.of_kind("AWS::Serverless::Function") {
        let binary = f.metadata.get("BuildProperties").map(|b| text(b, "Binary")).unwrap_or_default();
        let mut variables: BTreeMap<String, Yaml> = template.global_env.clone();
        for (k, v) in f.prop(&["Environment", "Variables"]).and_then(Yaml::as_mapping).into_iter().flatten() {
            if let Some(k) = k.as_str() {
                variables.insert(k.to_string(), v.clone());
            }
        }
        let mut env = BTreeMap::new();
        for (k, v) in &variables {
            let value = made
                .value(v, &template)
                .ok_or_else(|| err(&f.logical_id, format!("{k} names nothing this stack has")))?;
            env.insert(k.clone(), value);
        }
        if let Some(role) = env.get("SAGEMAKER_ROLE_ARN") {
            sagemaker_role_arn = role.clone();
        }
        functions.insert(binary.clone(), env);
        let Some(triggers) = f.prop(&["Events"]).and_then(Yaml::as_mapping) else { continue };
        for (_, e) in triggers {
            let props = e.get("Properties").cloned().unwrap_or(Yaml::Null);
            match text(e, "Type").as_str() {
                "SQS" => {
                    let Some(Intrinsic::GetAtt(id, _)) = props.get("Queue").and_then(intrinsic) else { continue };
                    if let Some((url, _)) = made.queues.get(&id) {
                        consumers.insert(url.clone(), binary.clone());
                    }
                }
                "S3" => {
                    let Some(Intrinsic::Ref(id)) = props.get("Bucket").and_then(intrinsic) else { continue };
                    let Some(bucket) = made.buckets.get(&id) else { continue };
                    let prefix = seq(props.get("Filter").and_then(|f| f.get("S3Key")).and_then(|k| k.get("Rules")))
                        .iter()
                        .find(|r| text(r, "Name") == "prefix")
                        .map(|r| text(r, "Value"))
                        .unwrap_or_default();
                    notify_uploads(&s3, bucket, &upload_arn, &prefix).await?;
                }
                "Schedule" => {
                    let expression = match props.get("Schedule").and_then(intrinsic) {
                        Some(Intrinsic::Ref(p)) => template.default_of(&p),
                        _ => props.get("Schedule").and_then(scalar),
                    };
                    if let Some(every) = expression.as_deref().and_then(rate) {
                        sweep_every = every;
                    }
                }
                _ => {}
            }
        }
    }
    for rule in template.of_kind("AWS::Events::Rule") {
        let rule_name = format!("{name}-{}", rule.logical_id);
        let pattern = rule.prop(&["EventPattern"]).map(to_json).unwrap_or_default();
        events
            .put_rule()
            .name(&rule_name)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .map_err(|e| err(&rule_name, aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
        for t in seq(rule.prop(&["Targets"])) {
            let Some(arn) = t.get("Arn").and_then(|a| made.resolve(a)) else { continue };
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id(text(&t, "Id"))
                .arn(arn)
                .build()
                .map_err(|e| err(&rule_name, e))?;
            events
                .put_targets()
                .rule(&rule_name)
                .targets(target)
                .send()
                .await
                .map_err(|e| err(&rule_name, aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
        }
    }

    let ingest = functions.get("ingest").cloned().unwrap_or_default();
    let collect = functions.get("collect").cloned().unwrap_or_default();
    let publish = functions.get("publish").cloned().unwrap_or_default();
    let var = |env: &BTreeMap<String, String>, name: &str| {
        env.get(name).cloned().ok_or_else(|| err("the functions' environment", format!("no function is given {name}")))
    };
    Ok(StackResources {
        name: name.to_string(),
        bucket: made.buckets.values().next().cloned().ok_or_else(|| err("the stack", "no bucket"))?,
        table: var(&ingest, "TABLE_NAME")?,
        publish_queue_url: var(&ingest, "PUBLISH_QUEUE_URL")?,
        notification_queue_url: var(&publish, "NOTIFICATION_QUEUE_URL")?,
        training_queue_url: var(&collect, "TRAINING_QUEUE_URL")?,
        upload_queue_url,
        consumers,
        functions,
        sagemaker_role_arn,
        sweep_every,
    })
}

async fn notify_uploads(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    queue_arn: &str,
    prefix: &str,
) -> Result<(), CreateError> {
    let notify = QueueConfiguration::builder()
        .queue_arn(queue_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                .key(
                    aws_sdk_s3::types::S3KeyFilter::builder()
                        .filter_rules(
                            aws_sdk_s3::types::FilterRule::builder()
                                .name(aws_sdk_s3::types::FilterRuleName::Prefix)
                                .value(prefix)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
        .map_err(|e| err("bucket notification", e))?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(NotificationConfiguration::builder().queue_configurations(notify).build())
        .send()
        .await
        .map_err(|e| err("bucket notification", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_rates() {
        assert_eq!(rate("rate(5 minutes)"), Some(Duration::from_secs(300)));
        assert_eq!(rate("rate(1 hour)"), Some(Duration::from_secs(3600)));
        assert_eq!(rate("cron(0 3 * * ? *)"), None);
    }
}
