//! A SageMaker batch transform job as hitloop asks for it and sees it: the
//! request CreateTransformJob is called with (the model version's model,
//! the batch's features in, its output prefix out) and what
//! DescribeTransformJob or a state change event says of it.

/// Everything CreateTransformJob is called with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformRequest {
    pub name: String,
    /// The SageMaker model (a model version of the job).
    pub model: String,
    /// s3:// URI of the one input file, a row per line.
    pub input_uri: String,
    /// s3:// prefix the output is written under (`<input file>.out`).
    pub output_uri: String,
    pub instance_type: String,
    pub tags: Vec<(String, String)>,
}

/// What SageMaker says of a transform job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformView {
    pub name: String,
    /// InProgress, Completed, Failed, Stopping or Stopped.
    pub status: String,
    pub failure_reason: Option<String>,
    /// The job and batch it predicts, from its tags (None: not hitloop's).
    pub job_id: Option<String>,
    pub batch: Option<String>,
}

pub const JOB_TAG: &str = "hitloop:job-id";
pub const BATCH_TAG: &str = "hitloop:batch";
