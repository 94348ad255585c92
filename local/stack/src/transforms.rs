//! Local batch transforms: moto records CreateTransformJob (and says
//! Completed at once) but predicts nothing. This stand-in runs each hitloop
//! transform job the way SageMaker's container would: it loads the model
//! version's artifact, reads the input file (features, a row per line),
//! writes `<input file>.out` under the output path (each label's
//! probability, or the second label's for two, as XGBoost's softprob and
//! logistic objectives do), and emits SageMaker's "Transform Job State
//! Change" event (with the job's tags) on EventBridge.

use std::collections::{BTreeMap, HashSet};

use hitloop_core::messages::TRANSFORM_STATE_CHANGE;
use hitloop_core::training::TRAINING_JOB_PREFIX;
use hitloop_core::transform_job::{BATCH_TAG, JOB_TAG};

use crate::sagemaker_local::{sm_err, split_s3, SageMakerLocal};

pub struct LocalTransforms {
    aws: SageMakerLocal,
    done: HashSet<String>,
}

/// What became of a transform job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub name: String,
    pub rows: usize,
    pub failure: Option<String>,
}

impl LocalTransforms {
    pub fn new(sdk: &hitloop_aws::SdkConfig) -> Self {
        LocalTransforms { aws: SageMakerLocal::new(sdk), done: HashSet::new() }
    }

    /// Runs every hitloop transform job not run yet.
    pub async fn run_pending(&mut self) -> Vec<Ran> {
        let sm = &self.aws.sagemaker;
        let names = self
            .aws
            .names(
                "transform jobs",
                sm.list_transform_jobs().name_contains(TRAINING_JOB_PREFIX).max_results(100).send(),
            )
            .await;
        let mut ran = Vec::new();
        for name in names {
            if !self.done.insert(name.clone()) {
                continue;
            }
            match self.run(&name).await {
                Ok(r) => ran.push(r),
                Err(e) => tracing::warn!(name, error = %e, "local transform not run"),
            }
        }
        ran
    }

    /// Runs one transform job and announces how it ended.
    pub async fn run(&self, name: &str) -> Result<Ran, String> {
        let job = self.aws.sagemaker.describe_transform_job().transform_job_name(name).send().await.map_err(sm_err)?;
        let arn = job.transform_job_arn().unwrap_or_default().to_string();
        let input = job
            .transform_input()
            .and_then(|i| i.data_source())
            .and_then(|d| d.s3_data_source())
            .and_then(|s| s.s3_uri())
            .unwrap_or_default()
            .to_string();
        let output = job.transform_output().and_then(|o| o.s3_output_path()).unwrap_or_default().to_string();
        let outcome = self.predict(job.model_name().unwrap_or_default(), &input, &output).await;
        let mut tags = BTreeMap::new();
        if let Ok(listed) = self.aws.sagemaker.list_tags().resource_arn(&arn).send().await {
            for t in listed.tags() {
                tags.insert(t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string());
            }
        }
        // moto may not keep a transform job's tags: the input's path names
        // the job and batch (jobs/<job>/predict/<batch>/input/...).
        let parts: Vec<&str> = split_s3(&input).map(|(_, k)| k.split('/').collect()).unwrap_or_default();
        if parts.len() > 3 && parts[2] == "predict" {
            tags.entry(JOB_TAG.to_string()).or_insert_with(|| parts[1].to_string());
            tags.entry(BATCH_TAG.to_string()).or_insert_with(|| parts[3].to_string());
        }
        let mut detail = serde_json::json!({
            "TransformJobName": name,
            "TransformJobArn": arn,
            "TransformJobStatus": if outcome.is_ok() { "Completed" } else { "Failed" },
            "Tags": tags,
        });
        if let Err(why) = &outcome {
            detail["FailureReason"] = why.clone().into();
        }
        self.aws.emit(TRANSFORM_STATE_CHANGE, &arn, &detail).await?;
        Ok(Ran { name: name.into(), rows: *outcome.as_ref().unwrap_or(&0), failure: outcome.err() })
    }

    /// The container's work: the model, the rows, the probabilities.
    async fn predict(&self, model_name: &str, input: &str, output: &str) -> Result<usize, String> {
        let (url, model) = self.aws.load_model(model_name).await?;
        let model = model.map_err(|e| format!("ClientError: the model at {url}: {e}"))?;
        let text = String::from_utf8(self.aws.get(input).await?).map_err(|_| "ClientError: the input is not UTF-8")?;
        let (rows, out) = model.answer(&text)?;
        let file = input.rsplit('/').next().unwrap_or("input");
        let (bucket, prefix) = split_s3(output).ok_or_else(|| format!("{output} is not an s3:// URI"))?;
        let key = format!("{}/{file}.out", prefix.trim_end_matches('/'));
        self.aws.put(bucket, &key, out.into_bytes(), "text/csv").await?;
        Ok(rows)
    }
}
