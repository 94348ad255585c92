//! The messages hitloop's functions send each other through queues, and the
//! SageMaker state change EventBridge puts on the training queue.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::deploy::EndpointView;
use crate::records::Item;
use crate::training_job::TrainingView;
use crate::transform_job::{TransformView, BATCH_TAG, JOB_TAG};

/// A message on the publish queue: post this item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishItem {
    pub job_id: String,
    pub item_id: String,
}

impl PublishItem {
    /// The publish queue's message body for an item.
    pub fn body_for(item: &Item) -> Result<String> {
        let msg = PublishItem { job_id: item.job_id.clone(), item_id: item.item_id.clone() };
        serde_json::to_string(&msg).map_err(Error::permanent)
    }
}

pub const JOB_COMPLETE: &str = "job-complete";
pub const CHECK_TRAINING: &str = "check-training";
pub const CHECK_DEPLOYMENT: &str = "check-deployment";
pub const PREDICT: &str = "predict";
pub const CHECK_BATCH: &str = "check-batch";
pub const TRANSFORM_STATE_CHANGE: &str = "SageMaker Transform Job State Change";
pub const STATE_CHANGE: &str = "SageMaker Training Job State Change";
pub const ENDPOINT_STATE_CHANGE: &str = "SageMaker Endpoint State Change";

/// A message hitloop puts on the training queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub kind: String,
    pub job_id: String,
    /// The prediction batch (`predict`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

impl JobMessage {
    /// This job's labeling is complete (from collect, or sweep).
    pub fn complete(job_id: &str) -> Self {
        JobMessage { kind: JOB_COMPLETE.into(), job_id: job_id.into(), batch: None }
    }

    /// This job has waited long for its training job (from sweep).
    pub fn check_training(job_id: &str) -> Self {
        JobMessage { kind: CHECK_TRAINING.into(), job_id: job_id.into(), batch: None }
    }

    /// A prediction batch was checked and its input written (from ingest).
    pub fn predict(job_id: &str, batch: &str) -> Self {
        JobMessage { kind: PREDICT.into(), job_id: job_id.into(), batch: Some(batch.into()) }
    }

    /// A prediction batch has waited long for what moves it on (from sweep).
    pub fn check_batch(job_id: &str, batch: &str) -> Self {
        JobMessage { kind: CHECK_BATCH.into(), job_id: job_id.into(), batch: Some(batch.into()) }
    }

    /// This job has waited long for its endpoint (from sweep).
    pub fn check_deployment(job_id: &str) -> Self {
        JobMessage { kind: CHECK_DEPLOYMENT.into(), job_id: job_id.into(), batch: None }
    }

    pub fn body(&self) -> Result<String> {
        serde_json::to_string(self).map_err(Error::permanent)
    }
}

/// A message on the training queue, read.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainingMessage {
    /// collect or sweep: the job's labeling is complete.
    JobComplete(String),
    /// sweep: a job has been `training` for long; ask SageMaker.
    CheckTraining(String),
    /// EventBridge: "SageMaker Training Job State Change".
    StateChange(TrainingView),
    /// sweep: a job has been `deploying` for long; ask SageMaker.
    CheckDeployment(String),
    /// EventBridge: "SageMaker Endpoint State Change".
    EndpointChange(EndpointView),
    /// ingest: a prediction batch is ready for its transform job.
    Predict { job_id: String, batch: String },
    /// EventBridge: "SageMaker Transform Job State Change".
    TransformChange(TransformView),
    /// sweep: a prediction batch has waited long; see where it is.
    CheckBatch { job_id: String, batch: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TransformDetail {
    transform_job_name: String,
    transform_job_status: String,
    #[serde(default)]
    failure_reason: Option<String>,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointDetail {
    endpoint_name: String,
    endpoint_status: String,
    #[serde(default)]
    endpoint_config_name: Option<String>,
    #[serde(default)]
    failure_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StateDetail {
    training_job_name: String,
    #[serde(default)]
    training_job_arn: Option<String>,
    training_job_status: String,
    #[serde(default)]
    failure_reason: Option<String>,
    #[serde(default)]
    model_artifacts: Option<ModelArtifacts>,
    #[serde(default)]
    final_metric_data_list: Vec<Metric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metric {
    metric_name: String,
    value: f64,
}

#[derive(Deserialize)]
struct ModelArtifacts {
    #[serde(rename = "S3ModelArtifacts")]
    s3_model_artifacts: Option<String>,
}

/// The endpoint status as DescribeEndpoint spells it: the events say
/// `IN_SERVICE` where the API says `InService`.
fn endpoint_status(event: &str) -> String {
    if !event.contains('_') && event.chars().any(|c| c.is_ascii_lowercase()) {
        return event.into();
    }
    event
        .split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

impl TrainingMessage {
    pub fn parse(body: &str) -> std::result::Result<TrainingMessage, String> {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| format!("a training queue message that is not JSON: {e}"))?;
        if let Some(kind) = value.get("detail-type").and_then(|d| d.as_str()) {
            let from_sagemaker = value.get("source").and_then(|s| s.as_str()) == Some("aws.sagemaker");
            if kind == ENDPOINT_STATE_CHANGE && from_sagemaker {
                let detail: EndpointDetail =
                    serde_json::from_value(value.get("detail").cloned().unwrap_or_default())
                        .map_err(|e| format!("an endpoint state change without the fields hitloop needs: {e}"))?;
                return Ok(TrainingMessage::EndpointChange(EndpointView {
                    name: detail.endpoint_name,
                    status: endpoint_status(&detail.endpoint_status),
                    failure_reason: detail.failure_reason,
                    config: detail.endpoint_config_name,
                }));
            }
            if kind == TRANSFORM_STATE_CHANGE && from_sagemaker {
                let detail: TransformDetail = serde_json::from_value(value.get("detail").cloned().unwrap_or_default())
                    .map_err(|e| format!("a transform state change without the fields hitloop needs: {e}"))?;
                return Ok(TrainingMessage::TransformChange(TransformView {
                    name: detail.transform_job_name,
                    status: detail.transform_job_status,
                    failure_reason: detail.failure_reason,
                    job_id: detail.tags.get(JOB_TAG).cloned(),
                    batch: detail.tags.get(BATCH_TAG).cloned(),
                }));
            }
            if kind != STATE_CHANGE || !from_sagemaker {
                return Err(format!("an event hitloop does not handle: {kind}"));
            }
            let detail: StateDetail = serde_json::from_value(value.get("detail").cloned().unwrap_or_default())
                .map_err(|e| format!("a training state change without the fields hitloop needs: {e}"))?;
            return Ok(TrainingMessage::StateChange(TrainingView {
                name: detail.training_job_name,
                arn: detail.training_job_arn,
                status: detail.training_job_status,
                failure_reason: detail.failure_reason,
                model_artifacts: detail.model_artifacts.and_then(|m| m.s3_model_artifacts),
                held_out_accuracy: crate::training_job::held_out_accuracy(
                    detail.final_metric_data_list.iter().map(|m| (m.metric_name.as_str(), m.value)),
                ),
            }));
        }
        let k: JobMessage =
            serde_json::from_value(value).map_err(|e| format!("an unknown training queue message: {e}"))?;
        match k.kind.as_str() {
            JOB_COMPLETE => Ok(TrainingMessage::JobComplete(k.job_id)),
            CHECK_TRAINING => Ok(TrainingMessage::CheckTraining(k.job_id)),
            CHECK_DEPLOYMENT => Ok(TrainingMessage::CheckDeployment(k.job_id)),
            PREDICT => match k.batch {
                Some(batch) => Ok(TrainingMessage::Predict { job_id: k.job_id, batch }),
                None => Err("a predict message without its batch".into()),
            },
            CHECK_BATCH => match k.batch {
                Some(batch) => Ok(TrainingMessage::CheckBatch { job_id: k.job_id, batch }),
                None => Err("a check-batch message without its batch".into()),
            },
            other => Err(format!("an unknown training queue message kind {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_queue_messages() {
        let complete = JobMessage::complete("iris").body().unwrap();
        assert_eq!(TrainingMessage::parse(&complete).unwrap(), TrainingMessage::JobComplete("iris".into()));
        let check = JobMessage::check_training("iris").body().unwrap();
        assert_eq!(TrainingMessage::parse(&check).unwrap(), TrainingMessage::CheckTraining("iris".into()));
        let event = r#"{"version":"0","id":"x","detail-type":"SageMaker Training Job State Change","source":"aws.sagemaker",
            "detail":{"TrainingJobName":"hitloop-iris-abcdef","TrainingJobArn":"arn:t","TrainingJobStatus":"Completed",
            "ModelArtifacts":{"S3ModelArtifacts":"s3://b/m.tar.gz"}}}"#;
        let TrainingMessage::StateChange(v) = TrainingMessage::parse(event).unwrap() else { panic!() };
        assert_eq!((v.status.as_str(), v.model_artifacts.as_deref()), ("Completed", Some("s3://b/m.tar.gz")));
        let check = JobMessage::check_deployment("iris").body().unwrap();
        assert_eq!(TrainingMessage::parse(&check).unwrap(), TrainingMessage::CheckDeployment("iris".into()));
        let endpoint = r#"{"version":"0","detail-type":"SageMaker Endpoint State Change","source":"aws.sagemaker",
            "detail":{"EndpointName":"hitloop-iris-abcdef","EndpointArn":"arn:e","EndpointConfigName":"hitloop-iris-abcdef-v1",
            "EndpointStatus":"FAILED","FailureReason":"no image","Tags":{}}}"#;
        let TrainingMessage::EndpointChange(e) = TrainingMessage::parse(endpoint).unwrap() else { panic!() };
        assert_eq!(
            (e.status.as_str(), e.config.as_deref(), e.failure_reason.as_deref()),
            ("Failed", Some("hitloop-iris-abcdef-v1"), Some("no image"))
        );
        assert_eq!(endpoint_status("IN_SERVICE"), "InService");
        let predict = JobMessage::predict("iris", "rest").body().unwrap();
        assert_eq!(
            TrainingMessage::parse(&predict).unwrap(),
            TrainingMessage::Predict { job_id: "iris".into(), batch: "rest".into() }
        );
        let check = JobMessage::check_batch("iris", "rest").body().unwrap();
        assert_eq!(
            TrainingMessage::parse(&check).unwrap(),
            TrainingMessage::CheckBatch { job_id: "iris".into(), batch: "rest".into() }
        );
        assert!(TrainingMessage::parse(r#"{"kind":"check-batch","job_id":"iris"}"#).is_err(), "no batch");
        let transform = r#"{"detail-type":"SageMaker Transform Job State Change","source":"aws.sagemaker",
            "detail":{"TransformJobName":"hitloop-iris-abcdef-123456","TransformJobStatus":"Completed",
            "Tags":{"hitloop:job-id":"iris","hitloop:batch":"rest"}}}"#;
        let TrainingMessage::TransformChange(t) = TrainingMessage::parse(transform).unwrap() else { panic!() };
        assert_eq!(
            (t.job_id.as_deref(), t.batch.as_deref(), t.status.as_str()),
            (Some("iris"), Some("rest"), "Completed")
        );
        assert_eq!(endpoint_status("OUT_OF_SERVICE"), "OutOfService");
        assert_eq!(endpoint_status("InService"), "InService");
        for bad in ["nope", "{}", r#"{"kind":"x","job_id":"j"}"#, r#"{"detail-type":"Other","source":"aws.s3"}"#] {
            assert!(TrainingMessage::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_sample_events_parse() {
        let endpoint = include_str!("../../events/eventbridge/endpoint-state-change.json");
        let TrainingMessage::EndpointChange(e) = TrainingMessage::parse(endpoint).unwrap() else { panic!() };
        assert_eq!((e.status.as_str(), e.config.as_deref()), ("InService", Some("hitloop-iris-4d5e6f-v1")));
        let transform = include_str!("../../events/eventbridge/transform-state-change.json");
        let TrainingMessage::TransformChange(t) = TrainingMessage::parse(transform).unwrap() else { panic!() };
        assert_eq!((t.job_id.as_deref(), t.batch.as_deref()), (Some("iris"), Some("rest")));
    }

    #[test]
    fn publish_messages_name_the_item() {
        let item = Item::pending("iris", "iris-001", 2, Default::default(), 0);
        let body = PublishItem::body_for(&item).unwrap();
        let back: PublishItem = serde_json::from_str(&body).unwrap();
        assert_eq!((back.job_id.as_str(), back.item_id.as_str()), ("iris", "iris-001"));
    }
}
