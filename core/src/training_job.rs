//! A SageMaker training job as hitloop asks for it and sees it: the request
//! CreateTrainingJob is called with, and what DescribeTrainingJob or a state
//! change event says of it.

use std::collections::BTreeMap;

/// What SageMaker says of a training job.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingView {
    pub name: String,
    pub arn: Option<String>,
    /// InProgress, Completed, Failed, Stopping or Stopped.
    pub status: String,
    pub failure_reason: Option<String>,
    pub model_artifacts: Option<String>,
    /// The share of the held-out rows it predicts right, from its final
    /// metrics, when it reports one.
    pub held_out_accuracy: Option<f64>,
}

/// The held-out accuracy in a training job's final metrics: an accuracy on
/// the validation or test channel, or one minus its error rate (XGBoost's
/// `merror` and `error`).
pub fn held_out_accuracy<'a>(metrics: impl IntoIterator<Item = (&'a str, f64)>) -> Option<f64> {
    let mut found = None;
    for (name, value) in metrics {
        let Some((channel, metric)) = name.split_once(':') else { continue };
        if !matches!(channel, "validation" | "test") {
            continue;
        }
        match metric {
            "accuracy" | "multiclass_accuracy" | "binary_classification_accuracy" => return Some(value),
            "merror" | "error" => found = Some(1.0 - value),
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn held_out_accuracy_from_each_algorithms_metrics() {
        let a = |m: &[(&str, f64)]| super::held_out_accuracy(m.iter().copied());
        assert_eq!(a(&[("train:accuracy", 1.0), ("validation:accuracy", 0.9)]), Some(0.9));
        assert_eq!(a(&[("validation:merror", 0.25)]), Some(0.75));
        assert_eq!(a(&[("test:multiclass_accuracy", 0.8)]), Some(0.8));
        assert_eq!(a(&[("train:merror", 0.1)]), None);
    }
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
