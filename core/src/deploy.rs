//! `job.json`'s `deploy` and `verify` sections: serving the trained model
//! from a SageMaker endpoint, and sending the predictions it is unsure of
//! back to people. Checked when the job is submitted, like `training`: a job
//! whose deployment could never work spends nothing. The names of what a
//! deployment creates are derived from the job, so every attempt names the
//! same model, endpoint configuration and endpoint.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::money::Usd;
use crate::training::{is_instance_type, MAX_INSTANCES, TRAINING_JOB_PREFIX};

/// How the model is served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySpec {
    /// Serverless inference (the default): memory and concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serverless: Option<ServerlessSpec>,
    /// Instances instead of serverless inference (`ml.<family>.<size>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// How many (with `instance_type` only; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_count: Option<u32>,
    /// The inference image; default: the training image for a built-in
    /// algorithm (XGBoost and Linear Learner serve from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A prediction batch of at most this many rows is answered by the
    /// endpoint while it serves (seconds, no instance to start) rather than
    /// by a transform job; 0: always a transform job.
    #[serde(default = "default_endpoint_max_rows")]
    pub endpoint_max_rows: u32,
}

fn default_endpoint_max_rows() -> u32 {
    DEFAULT_ENDPOINT_MAX_ROWS
}

/// The one production variant of hitloop's endpoint configurations (the
/// name CloudWatch's per-variant metrics carry).
pub const VARIANT: &str = "AllTraffic";

/// Small batches go to a serving endpoint: at 500 rows a request, a few
/// requests; beyond this a transform job's start-up is worth it.
pub const DEFAULT_ENDPOINT_MAX_ROWS: u32 = 2000;
/// The most rows `endpoint_max_rows` may say.
pub const MAX_ENDPOINT_ROWS: u32 = 100_000;

impl Default for DeploySpec {
    fn default() -> Self {
        DeploySpec {
            serverless: None,
            instance_type: None,
            instance_count: None,
            image: None,
            endpoint_max_rows: DEFAULT_ENDPOINT_MAX_ROWS,
        }
    }
}

/// SageMaker's serverless configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerlessSpec {
    #[serde(default = "default_memory")]
    pub memory_mb: u32,
    #[serde(default = "default_concurrency")]
    pub max_concurrency: u32,
}

impl Default for ServerlessSpec {
    fn default() -> Self {
        ServerlessSpec { memory_mb: default_memory(), max_concurrency: default_concurrency() }
    }
}

fn default_memory() -> u32 {
    2048
}
fn default_concurrency() -> u32 {
    5
}

/// SageMaker's serverless memory sizes (ProductionVariantServerlessConfig).
const MEMORY_SIZES_MB: [u32; 6] = [1024, 2048, 3072, 4096, 5120, 6144];
const MAX_CONCURRENCY: u32 = 200;

/// Where a deployment runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serving {
    Serverless { memory_mb: u32, max_concurrency: u32 },
    Instances { instance_type: String, count: u32 },
}

impl DeploySpec {
    /// Serverless unless instances are asked for.
    pub fn serving(&self) -> Serving {
        match &self.instance_type {
            Some(t) => Serving::Instances { instance_type: t.clone(), count: self.instance_count.unwrap_or(1) },
            None => {
                let s = self.serverless.unwrap_or_default();
                Serving::Serverless { memory_mb: s.memory_mb, max_concurrency: s.max_concurrency }
            }
        }
    }

    /// (field under `deploy`, message) pairs.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = Vec::new();
        if self.serverless.is_some() && self.instance_type.is_some() {
            p.push(("instance_type".into(), "give either serverless or instance_type, not both".into()));
        }
        if let Some(s) = &self.serverless {
            if !MEMORY_SIZES_MB.contains(&s.memory_mb) {
                p.push((
                    "serverless.memory_mb".into(),
                    format!("{} is not one of SageMaker's sizes: 1024, 2048, 3072, 4096, 5120, 6144", s.memory_mb),
                ));
            }
            if !(1..=MAX_CONCURRENCY).contains(&s.max_concurrency) {
                p.push(("serverless.max_concurrency".into(), format!("must be 1 to {MAX_CONCURRENCY}")));
            }
        }
        match (&self.instance_type, self.instance_count) {
            (Some(t), _) if !is_instance_type(t) => {
                p.push(("instance_type".into(), format!("{t:?} is not a SageMaker instance type such as ml.m5.large")));
            }
            (None, Some(_)) => p.push(("instance_count".into(), "applies with instance_type only".into())),
            _ => {}
        }
        if self.instance_count.is_some_and(|n| !(1..=MAX_INSTANCES).contains(&n)) {
            p.push(("instance_count".into(), format!("must be 1 to {MAX_INSTANCES}")));
        }
        if self.endpoint_max_rows > MAX_ENDPOINT_ROWS {
            p.push(("endpoint_max_rows".into(), format!("must be 0 to {MAX_ENDPOINT_ROWS}")));
        }
        if let Some(i) = &self.image {
            if i.is_empty() || i.len() > 255 || i.chars().any(char::is_whitespace) {
                p.push(("image".into(), "must be an image URI without spaces, at most 255 characters".into()));
            }
        }
        p
    }
}

/// Predictions the model is unsure of, sent back to people.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// A prediction whose probability is below this is verified by people.
    pub below: f64,
    /// The most one verification job may spend (its own budget); none: no
    /// limit but the account's balance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<Usd>,
}

impl VerifySpec {
    /// (field under `verify`, message) pairs.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if !(self.below > 0.0 && self.below <= 1.0) {
            p.push(("below".into(), format!("{} is outside 0 (excluded) to 1", self.below)));
        }
        if self.budget_usd.is_some_and(|b| b.cents() <= 0) {
            p.push(("budget_usd".into(), "must be more than 0".into()));
        }
        p
    }
}

/// SageMaker's longest model, endpoint configuration and endpoint name.
const MAX_NAME: usize = 63;

/// The job's part of every name: its id (cut to fit) and a digest of the id
/// and creation time, so a later job reusing the id names other things.
fn stem(job_id: &str, created_at: i64, room: usize) -> String {
    let mut h = Sha256::new();
    h.update(job_id.as_bytes());
    h.update([1]);
    h.update(created_at.to_be_bytes());
    let hex: String = h.finalize().iter().take(3).map(|b| format!("{b:02x}")).collect();
    let keep = room.saturating_sub(TRAINING_JOB_PREFIX.len() + 1 + hex.len());
    let id: String = job_id.chars().take(keep).collect();
    format!("{TRAINING_JOB_PREFIX}{}-{hex}", id.trim_end_matches('-'))
}

/// The endpoint a job is served from: one per job, whatever the model
/// version (moving to a new model updates it).
pub fn endpoint_name(job_id: &str, created_at: i64) -> String {
    stem(job_id, created_at, MAX_NAME)
}

/// Model version `version` of the job, and its endpoint configuration (the
/// same name: SageMaker keeps them apart).
pub fn model_name(job_id: &str, created_at: i64, version: u32) -> String {
    let suffix = format!("-v{version}");
    format!("{}{suffix}", stem(job_id, created_at, MAX_NAME - suffix.len()))
}

/// The transform job that predicts `batch` with model version `version`:
/// the job's stem and a digest of the two, so every attempt names the same
/// transform job and another batch or version another.
pub fn transform_job_name(job_id: &str, created_at: i64, batch: &str, version: u32) -> String {
    let mut h = Sha256::new();
    h.update(batch.as_bytes());
    h.update([0]);
    h.update(version.to_be_bytes());
    let hex: String = h.finalize().iter().take(3).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", stem(job_id, created_at, MAX_NAME - 1 - hex.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(json: &str) -> DeploySpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn serverless_is_the_default() {
        assert_eq!(deploy("{}").serving(), Serving::Serverless { memory_mb: 2048, max_concurrency: 5 });
        let d = deploy(r#"{"serverless": {"memory_mb": 4096}}"#);
        assert_eq!(d.serving(), Serving::Serverless { memory_mb: 4096, max_concurrency: 5 });
        let d = deploy(r#"{"instance_type": "ml.m5.large"}"#);
        assert_eq!(d.serving(), Serving::Instances { instance_type: "ml.m5.large".into(), count: 1 });
        assert!(deploy("{}").problems().is_empty());
    }

    #[test]
    fn every_problem_is_named() {
        let fields = |json: &str| -> Vec<String> { deploy(json).problems().into_iter().map(|(f, _)| f).collect() };
        assert_eq!(
            fields(r#"{"serverless": {"memory_mb": 1000, "max_concurrency": 0}}"#),
            ["serverless.memory_mb", "serverless.max_concurrency"]
        );
        assert_eq!(fields(r#"{"serverless": {}, "instance_type": "ml.m5.large"}"#), ["instance_type"]);
        assert_eq!(
            fields(r#"{"instance_type": "m5.large", "instance_count": 50}"#),
            ["instance_type", "instance_count"]
        );
        assert_eq!(fields(r#"{"instance_count": 2}"#), ["instance_count"]);
        assert_eq!(fields(r#"{"image": "has space"}"#), ["image"]);
        assert_eq!(fields(r#"{"endpoint_max_rows": 100001}"#), ["endpoint_max_rows"]);
        assert!(fields(r#"{"endpoint_max_rows": 0}"#).is_empty(), "0: always a transform job");
        assert_eq!(deploy("{}").endpoint_max_rows, DEFAULT_ENDPOINT_MAX_ROWS);
        assert!(serde_json::from_str::<DeploySpec>(r#"{"memory": 1}"#).is_err(), "unknown fields are refused");
        let v: VerifySpec = serde_json::from_str(r#"{"below": 0, "budget_usd": "0"}"#).unwrap();
        assert_eq!(v.problems().into_iter().map(|(f, _)| f).collect::<Vec<_>>(), ["below", "budget_usd"]);
        let v: VerifySpec = serde_json::from_str(r#"{"below": 0.7}"#).unwrap();
        assert!(v.problems().is_empty());
    }

    #[test]
    fn names_are_derived_from_the_job_and_fit_sagemaker() {
        let valid = |n: &str| {
            n.len() <= 63
                && n.starts_with(|c: char| c.is_ascii_alphanumeric())
                && n.ends_with(|c: char| c.is_ascii_alphanumeric())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let e = endpoint_name("iris", 7);
        assert!(e.starts_with("hitloop-iris-") && valid(&e), "{e}");
        assert_eq!(endpoint_name("iris", 7), e, "the same every time");
        assert_ne!(endpoint_name("iris", 8), e, "a later job with the id names another");
        let m = model_name("iris", 7, 2);
        assert!(m.starts_with(&e) && m.ends_with("-v2") && valid(&m), "{m}");
        let long = "a".repeat(47) + "-b";
        for n in [endpoint_name(&long, 1), model_name(&long, 1, 123)] {
            assert!(valid(&n), "{n} ({} characters)", n.len());
        }
        assert_ne!(model_name(&long, 1, 1), model_name(&(long.clone() + "c"), 1, 1), "the digest tells cut ids apart");
        let t = transform_job_name(&long, 1, "rest", 2);
        assert!(valid(&t) && t.starts_with("hitloop-"), "{t}");
        assert_eq!(t, transform_job_name(&long, 1, "rest", 2));
        assert_ne!(t, transform_job_name(&long, 1, "rest", 3), "a later model version predicts under another name");
        assert_ne!(t, transform_job_name(&long, 1, "other", 2));
    }
}
