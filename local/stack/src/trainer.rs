//! Local training: SageMaker cannot run here, so the training jobs the train
//! function created (in moto, which only records them) are executed by this
//! trainer, the way a SageMaker container would: it reads the job's S3
//! channels, fits a model, writes `model.tar.gz` (and `metrics.json` beside
//! it) to the job's output path, and emits SageMaker's "Training Job State
//! Change" event on EventBridge, which the stack's rule brings to train.
//!
//! Whatever algorithm the job names, the local model is a bagged forest of
//! smartcore decision trees over the built-in algorithms' CSV layout (the
//! label's index first, then the features); each label's probability is the
//! share of trees voting for it, as a deployed model reports it.

use std::collections::HashSet;
use std::io::Write;

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::{DecisionTreeClassifier, DecisionTreeClassifierParameters};

use hitloop_core::messages::STATE_CHANGE;
use hitloop_core::training::TRAINING_JOB_PREFIX;

use crate::sagemaker_local::{sm_err, split_s3, SageMakerLocal};

type Tree = DecisionTreeClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>;

const TREES: usize = 50;

/// The local model: trees fitted on bootstrap samples of the train channel.
#[derive(Debug, Serialize, Deserialize)]
pub struct LocalModel {
    /// Labels it predicts over (indices 0..classes).
    pub classes: usize,
    trees: Vec<Tree>,
}

impl LocalModel {
    pub fn fit(x: &[Vec<f64>], y: &[u32], classes: usize, seed: u64) -> Result<LocalModel, String> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut trees = Vec::with_capacity(TREES);
        for _ in 0..TREES {
            let picks: Vec<usize> = (0..x.len()).map(|_| rng.random_range(0..x.len())).collect();
            let bx: Vec<Vec<f64>> = picks.iter().map(|&i| x[i].clone()).collect();
            let by: Vec<u32> = picks.iter().map(|&i| y[i]).collect();
            let m = DenseMatrix::from_2d_vec(&bx).map_err(|e| e.to_string())?;
            trees.push(Tree::fit(&m, &by, DecisionTreeClassifierParameters::default()).map_err(|e| e.to_string())?);
        }
        Ok(LocalModel { classes: classes.max(1 + y.iter().copied().max().unwrap_or(0) as usize), trees })
    }

    /// Each row's probability per label: the share of trees voting for it.
    pub fn probabilities(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
        let m = DenseMatrix::from_2d_vec(&x.to_vec()).map_err(|e| e.to_string())?;
        let mut votes = vec![vec![0.0; self.classes]; x.len()];
        for tree in &self.trees {
            for (row, label) in tree.predict(&m).map_err(|e| e.to_string())?.into_iter().enumerate() {
                if let Some(v) = votes[row].get_mut(label as usize) {
                    *v += 1.0;
                }
            }
        }
        let n = self.trees.len().max(1) as f64;
        Ok(votes.into_iter().map(|v| v.into_iter().map(|c| c / n).collect()).collect())
    }

    pub fn predict(&self, x: &[Vec<f64>]) -> Result<Vec<u32>, String> {
        Ok(self.probabilities(x)?.iter().map(|p| argmax(p) as u32).collect())
    }

    /// What a serving container answers to CSV rows of features, as
    /// XGBoost's does (a transform job's output file, or an endpoint's
    /// response): a line per row, the second label's probability for two
    /// labels, every label's for more. Also how many rows. Err: rows it
    /// cannot read ("ClientError: ...", as the container says).
    pub fn answer(&self, rows_csv: &str) -> Result<(usize, String), String> {
        let mut rows = Vec::new();
        for (n, line) in rows_csv.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let row: Result<Vec<f64>, _> = line.split(',').map(|v| v.trim().parse::<f64>()).collect();
            rows.push(row.map_err(|_| format!("ClientError: line {} of the input is not numbers", n + 1))?);
        }
        let mut out = String::new();
        if !rows.is_empty() {
            for p in self.probabilities(&rows)? {
                let values: Vec<String> = if self.classes == 2 {
                    vec![format!("{}", p[1])]
                } else {
                    p.iter().map(|x| format!("{x}")).collect()
                };
                out.push_str(&values.join(","));
                out.push('\n');
            }
        }
        Ok((rows.len(), out))
    }
}

/// The labels a training job classifies over: its num_class (XGBoost) or
/// num_classes (Linear Learner); two for a binary objective.
fn classes(job: &aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput) -> usize {
    let hp = job.hyper_parameters();
    ["num_class", "num_classes"]
        .iter()
        .find_map(|k| hp.and_then(|h| h.get(*k)).and_then(|v| v.parse().ok()))
        .unwrap_or(2)
}

fn argmax(p: &[f64]) -> usize {
    p.iter().enumerate().fold((0, f64::MIN), |(bi, bp), (i, &x)| if x > bp { (i, x) } else { (bi, bp) }).0
}

/// A fitted model and how well it does on the held-out rows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Metrics {
    pub train_rows: usize,
    pub test_rows: usize,
    /// Share of the held-out rows predicted right (None without a test channel).
    pub test_accuracy: Option<f64>,
    pub train_accuracy: f64,
    pub model: &'static str,
}

pub struct Fitted {
    pub model_json: Vec<u8>,
    pub metrics: Metrics,
}

type Rows = (Vec<Vec<f64>>, Vec<u32>);

/// label-first CSV rows -> features and labels.
pub fn parse_rows(text: &str) -> Result<Rows, String> {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let mut fields = line.split(',');
        let label = fields
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok())
            .ok_or_else(|| format!("line {}: the first column is not a label index; the local trainer reads the built-in algorithms' CSV (label first)", n + 1))?;
        let features = fields
            .map(|f| f.trim().parse::<f64>().map_err(|_| format!("line {}: {f:?} is not a number", n + 1)))
            .collect::<Result<Vec<f64>, String>>()?;
        if let Some(width) = x.first().map(Vec::len).filter(|w| *w != features.len()) {
            return Err(format!("line {}: {} features where the first row has {width}", n + 1, features.len()));
        }
        x.push(features);
        y.push(label);
    }
    if x.is_empty() {
        return Err("the train channel has no rows".into());
    }
    Ok((x, y))
}

fn accuracy(predicted: &[u32], truth: &[u32]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let right = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    (right as f64 / truth.len() as f64 * 10_000.0).round() / 10_000.0
}

/// Fits the local model on `train` (over `classes` labels: the job's
/// num_class) and scores it on `test`.
pub fn fit(train: &str, test: Option<&str>, classes: usize, seed: u64) -> Result<Fitted, String> {
    let (x, y) = parse_rows(train)?;
    let model = LocalModel::fit(&x, &y, classes, seed)?;
    let train_accuracy = accuracy(&model.predict(&x)?, &y);
    let (test_rows, test_accuracy) = match test.filter(|t| !t.trim().is_empty()) {
        Some(t) => {
            let (tx, ty) = parse_rows(t)?;
            (ty.len(), Some(accuracy(&model.predict(&tx)?, &ty)))
        }
        None => (0, None),
    };
    let model_json = serde_json::to_vec(&model).map_err(|e| e.to_string())?;
    Ok(Fitted {
        model_json,
        metrics: Metrics {
            train_rows: y.len(),
            test_rows,
            test_accuracy,
            train_accuracy,
            model: "bagged smartcore decision trees, 50",
        },
    })
}

/// model.tar.gz with model.json and metrics.json, as a SageMaker container
/// leaves /opt/ml/model.
pub fn model_archive(fitted: &Fitted) -> Result<Vec<u8>, String> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let metrics = serde_json::to_vec_pretty(&fitted.metrics).map_err(|e| e.to_string())?;
    for (name, bytes) in [("model.json", &fitted.model_json), ("metrics.json", &metrics)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes.as_slice()).map_err(|e| e.to_string())?;
    }
    let mut gz = tar.into_inner().map_err(|e| e.to_string())?;
    gz.flush().map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

/// Reads the model back from a model.tar.gz the local trainer wrote: what a
/// serving container does when its endpoint starts.
pub fn read_model(archive: &[u8]) -> Result<LocalModel, String> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().map_err(|e| format!("not a model.tar.gz: {e}"))? {
        let mut entry = entry.map_err(|e| format!("not a model.tar.gz: {e}"))?;
        let is_model = entry.path().map(|p| p.to_string_lossy() == "model.json").unwrap_or(false);
        if is_model {
            let mut json = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut json).map_err(|e| e.to_string())?;
            return serde_json::from_slice(&json).map_err(|e| format!("model.json is not a local model: {e}"));
        }
    }
    Err("the archive has no model.json (the local stack serves only what its trainer wrote)".into())
}

/// Runs moto's training jobs locally.
pub struct LocalTrainer {
    aws: SageMakerLocal,
    done: HashSet<String>,
}

impl LocalTrainer {
    pub fn new(sdk: &hitloop_aws::SdkConfig) -> Self {
        LocalTrainer { aws: SageMakerLocal::new(sdk), done: HashSet::new() }
    }

    /// Trains every hitloop training job not trained yet; their names.
    pub async fn run_pending(&mut self) -> Vec<String> {
        let sm = &self.aws.sagemaker;
        let names = self
            .aws
            .names("training jobs", sm.list_training_jobs().name_contains(TRAINING_JOB_PREFIX).max_results(100).send())
            .await;
        let mut ran = Vec::new();
        for name in names {
            if self.done.contains(&name) {
                continue;
            }
            match self.run(&name).await {
                Ok(true) => ran.push(name.clone()),
                Ok(false) => {}
                Err(e) => tracing::warn!(name, error = %e, "local training failed"),
            }
            self.done.insert(name);
        }
        ran
    }

    /// Trains one job unless its model exists; true if it trained.
    pub async fn run(&self, name: &str) -> Result<bool, String> {
        let job = self.aws.sagemaker.describe_training_job().training_job_name(name).send().await.map_err(sm_err)?;
        let artifacts = job.model_artifacts().and_then(|m| m.s3_model_artifacts()).unwrap_or_default().to_string();
        let (bucket, model_key) = split_s3(&artifacts).ok_or_else(|| format!("{name} has no model path"))?;
        if self.aws.s3.head_object().bucket(bucket).key(model_key).send().await.is_ok() {
            return Ok(false);
        }
        let mut train = None;
        let mut test = None;
        for c in job.input_data_config() {
            let uri = c.data_source().and_then(|d| d.s3_data_source()).and_then(|s| s.s3_uri()).unwrap_or_default();
            let text = self.read_prefix(uri).await?;
            match c.channel_name() {
                Some("train") => train = Some(text),
                _ => test = Some(text),
            }
        }
        let outcome = match train {
            None => Err("the training job has no train channel".to_string()),
            Some(train) => fit(&train, test.as_deref(), classes(&job), 7),
        };
        let detail = match outcome {
            Ok(fitted) => {
                let archive = model_archive(&fitted)?;
                self.aws.put(bucket, model_key, archive, "application/gzip").await?;
                let metrics_key = model_key.replace("model.tar.gz", "metrics.json");
                let metrics = serde_json::to_vec_pretty(&fitted.metrics).map_err(|e| e.to_string())?;
                self.aws.put(bucket, &metrics_key, metrics, "application/json").await?;
                let mut metric_list =
                    vec![serde_json::json!({"MetricName": "train:accuracy", "Value": fitted.metrics.train_accuracy})];
                if let Some(a) = fitted.metrics.test_accuracy {
                    metric_list.push(serde_json::json!({"MetricName": "validation:accuracy", "Value": a}));
                }
                serde_json::json!({
                    "TrainingJobName": name,
                    "TrainingJobArn": job.training_job_arn(),
                    "TrainingJobStatus": "Completed",
                    "SecondaryStatus": "Completed",
                    "ModelArtifacts": { "S3ModelArtifacts": artifacts },
                    "FinalMetricDataList": metric_list,
                })
            }
            Err(reason) => serde_json::json!({
                "TrainingJobName": name,
                "TrainingJobArn": job.training_job_arn(),
                "TrainingJobStatus": "Failed",
                "SecondaryStatus": "Failed",
                "FailureReason": format!("AlgorithmError: {reason}"),
            }),
        };
        self.aws.emit(STATE_CHANGE, job.training_job_arn().unwrap_or_default(), &detail).await?;
        Ok(true)
    }

    /// Every object under an s3:// prefix, concatenated (a channel).
    async fn read_prefix(&self, uri: &str) -> Result<String, String> {
        let (bucket, prefix) = split_s3(uri).ok_or_else(|| format!("{uri} is not an s3:// URI"))?;
        let listed = self
            .aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
        let mut text = String::new();
        for o in listed.contents() {
            let Some(key) = o.key() else { continue };
            let bytes = self.aws.get(&format!("s3://{bucket}/{key}")).await?;
            text.push_str(&String::from_utf8_lossy(&bytes));
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> String {
        // two well separated classes
        (0..n)
            .map(|k| if k % 2 == 0 { format!("0,{}.0,1.0\n", k % 5) } else { format!("1,{}.0,9.0\n", 10 + k % 5) })
            .collect()
    }

    #[test]
    fn a_separable_problem_is_learned() {
        let fitted = fit(&rows(40), Some(&rows(10)), 2, 1).unwrap();
        assert_eq!(fitted.metrics.test_accuracy, Some(1.0));
        assert_eq!((fitted.metrics.train_rows, fitted.metrics.test_rows), (40, 10));
        let archive = model_archive(&fitted).unwrap();
        let mut names: Vec<String> = tar::Archive::new(flate2::read::GzDecoder::new(archive.as_slice()))
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["metrics.json", "model.json"]);
        let model = read_model(&archive).unwrap();
        let x = vec![vec![1.0, 1.0], vec![12.0, 9.0]];
        assert_eq!(model.predict(&x).unwrap(), [0, 1], "the archive serves what was fitted");
        let p = model.probabilities(&x).unwrap();
        assert_eq!(p[0].len(), 2);
        assert!(p[0][0] > 0.9 && (p[0][0] + p[0][1] - 1.0).abs() < 1e-9, "{p:?}");
        assert!(read_model(b"not gzip").is_err());
    }

    #[test]
    fn rows_that_are_not_label_first_are_refused() {
        assert!(parse_rows("sepal,label\n1,2\n").unwrap_err().contains("label first"));
        assert!(parse_rows("0,1,x\n").unwrap_err().contains("not a number"));
        assert!(parse_rows("").is_err());
    }
}
