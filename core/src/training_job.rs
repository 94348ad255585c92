//! A SageMaker training job as hitloop asks for it and sees it: the request
//! CreateTrainingJob is called with, and what DescribeTrainingJob or a state
//! change event says of it.

use std::collections::BTreeMap;

/// What SageMaker says of a training job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingView {
    pub name: String,
    pub arn: Option<String>,
    /// InProgress, Completed, Failed, Stopping or Stopped.
    pub status: String,
    pub failure_reason: Option<String>,
    pub model_artifacts: Option<String>,
}

/// Everything CreateTrainingJob is called with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRequest {
    pub name: String,
    pub image: String,
    pub role_arn: String,
    pub instance_type: String,
    pub instance_count: u32,
    pub volume_size_gb: u32,
    pub max_runtime_seconds: u32,
    pub hyperparameters: BTreeMap<String, String>,
    /// s3:// prefix of the train channel.
    pub train_uri: String,
    /// s3:// prefix of the held-out channel, if the job holds items out.
    pub test_uri: Option<String>,
    /// Its channel name: `validation` for XGBoost (the channel it scores),
    /// `test` otherwise.
    pub test_channel: String,
    pub content_type: String,
    /// s3:// prefix SageMaker writes the model under.
    pub output_uri: String,
    pub tags: Vec<(String, String)>,
}

/// Why a training job was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// A training job of that name exists (SageMaker's ResourceInUse).
    Exists,
    /// SageMaker refused the request (validation, permissions, quotas).
    Refused(String),
}
