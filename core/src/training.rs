//! `job.json`'s `training` section: how the labeled data is split and which
//! SageMaker training job is started with it. Checked when the job is
//! submitted (nothing is spent on a job whose training could never start),
//! and again by the train function against what only it knows (the stack's
//! role, the region).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::problems::Problem;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// The manifest columns the model learns from, in this order. Default:
    /// every column but `id`.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// The share of each label's items held out for the test channel
    /// (0 = no test channel).
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Seeds the split: the same seed and items give the same split.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub layout: SplitLayout,
    /// The training job; without it the split is written and the job ends
    /// `complete`.
    #[serde(default)]
    pub sagemaker: Option<SageMakerSpec>,
}

fn default_test_fraction() -> f64 {
    0.2
}

/// How train and test rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SplitLayout {
    /// SageMaker's built-in algorithms' CSV: no header, the label's index in
    /// `labels` first, then the features (numbers).
    #[default]
    LabelFirst,
    /// A header row, the features, then the label's name last (script mode,
    /// pandas, anything that reads a normal CSV).
    Header,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SageMakerSpec {
    /// A built-in algorithm by name (see [`BuiltIn`]); default `xgboost`
    /// unless `image` is given.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// A training image URI (your own container, or any SageMaker image).
    #[serde(default)]
    pub image: Option<String>,
    /// The role SageMaker assumes; default: the stack's SageMaker role.
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    #[serde(default = "one")]
    pub instance_count: u32,
    #[serde(default = "default_volume")]
    pub volume_size_gb: u32,
    #[serde(default = "default_runtime")]
    pub max_runtime_seconds: u32,
    /// Strings, numbers or booleans; sent as strings, over the algorithm's
    /// defaults.
    #[serde(default)]
    pub hyperparameters: BTreeMap<String, serde_json::Value>,
}

fn default_instance_type() -> String {
    "ml.m5.large".into()
}
fn one() -> u32 {
    1
}
fn default_volume() -> u32 {
    10
}
fn default_runtime() -> u32 {
    3600
}

/// SageMaker's limits (CreateTrainingJob) and hitloop's own guard rails.
const MAX_RUNTIME_S: u32 = 28 * 24 * 3600;
const MAX_VOLUME_GB: u32 = 16_384;
/// hitloop's ceiling: a typo must not start a fleet.
pub const MAX_INSTANCES: u32 = 20;
const MAX_HYPERPARAMETERS: usize = 100;

/// The built-in algorithms hitloop knows how to address and configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltIn {
    /// XGBoost 1.7-1 (`sagemaker-xgboost`).
    Xgboost,
    /// Linear Learner (`linear-learner:1`).
    LinearLearner,
}

impl BuiltIn {
    pub fn parse(name: &str) -> Option<BuiltIn> {
        match name {
            "xgboost" => Some(BuiltIn::Xgboost),
            "linear-learner" => Some(BuiltIn::LinearLearner),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltIn::Xgboost => "xgboost",
            BuiltIn::LinearLearner => "linear-learner",
        }
    }

    /// The algorithm's training image in `region`, if SageMaker offers it there.
    pub fn image(self, region: &str) -> Option<String> {
        let (table, repo): (&[(&str, &str)], &str) = match self {
            BuiltIn::Xgboost => (XGBOOST_REGISTRIES, "sagemaker-xgboost:1.7-1"),
            BuiltIn::LinearLearner => (LINEAR_LEARNER_REGISTRIES, "linear-learner:1"),
        };
        let account = table.iter().find(|(r, _)| *r == region)?.1;
        Some(format!("{account}.dkr.ecr.{region}.amazonaws.com/{repo}"))
    }

    /// Hyperparameters the algorithm needs for a classifier of `classes`
    /// labels over `features` columns; the job's own values win.
    pub fn defaults(self, classes: usize, features: usize) -> BTreeMap<String, String> {
        let mut d = BTreeMap::new();
        match self {
            BuiltIn::Xgboost => {
                d.insert("num_round".into(), "100".into());
                // softprob rather than softmax: a prediction carries each
                // label's probability (prediction batches, verification).
                if classes > 2 {
                    d.insert("objective".into(), "multi:softprob".into());
                    d.insert("num_class".into(), classes.to_string());
                } else {
                    d.insert("objective".into(), "binary:logistic".into());
                }
            }
            BuiltIn::LinearLearner => {
                d.insert("feature_dim".into(), features.to_string());
                if classes > 2 {
                    d.insert("predictor_type".into(), "multiclass_classifier".into());
                    d.insert("num_classes".into(), classes.to_string());
                } else {
                    d.insert("predictor_type".into(), "binary_classifier".into());
                }
            }
        }
        d
    }
}

/// Registry accounts of the SageMaker XGBoost 1.x images (commercial regions).
const XGBOOST_REGISTRIES: &[(&str, &str)] = &[
    ("af-south-1", "510948584623"),
    ("ap-east-1", "651117190479"),
    ("ap-northeast-1", "354813040037"),
    ("ap-northeast-2", "366743142698"),
    ("ap-northeast-3", "867004704886"),
    ("ap-south-1", "720646828776"),
    ("ap-southeast-1", "121021644041"),
    ("ap-southeast-2", "783357654285"),
    ("ca-central-1", "341280168497"),
    ("eu-central-1", "492215442770"),
    ("eu-north-1", "662702820516"),
    ("eu-south-1", "978288397137"),
    ("eu-west-1", "141502667606"),
    ("eu-west-2", "764974769150"),
    ("eu-west-3", "659782779980"),
    ("me-south-1", "801668240914"),
    ("sa-east-1", "737474898029"),
    ("us-east-1", "683313688378"),
    ("us-east-2", "257758044811"),
    ("us-west-1", "746614075791"),
    ("us-west-2", "246618743249"),
];

/// Registry accounts of the Linear Learner images (commercial regions).
const LINEAR_LEARNER_REGISTRIES: &[(&str, &str)] = &[
    ("af-south-1", "455444449433"),
    ("ap-east-1", "286214385809"),
    ("ap-northeast-1", "351501993468"),
    ("ap-northeast-2", "835164637446"),
    ("ap-northeast-3", "364406365360"),
    ("ap-south-1", "991648021394"),
    ("ap-southeast-1", "475088953585"),
    ("ap-southeast-2", "712309505854"),
    ("ca-central-1", "469771592824"),
    ("eu-central-1", "664544806723"),
    ("eu-north-1", "669576153137"),
    ("eu-south-1", "257386234256"),
    ("eu-west-1", "438346466558"),
    ("eu-west-2", "644912444149"),
    ("eu-west-3", "749696950732"),
    ("me-south-1", "249704162688"),
    ("sa-east-1", "855470959533"),
    ("us-east-1", "382416733822"),
    ("us-east-2", "404615174143"),
    ("us-west-1", "632365934929"),
    ("us-west-2", "174872318107"),
];

impl TrainingSpec {
    /// The feature columns for a manifest with these columns.
    pub fn feature_columns(&self, columns: &[String]) -> Vec<String> {
        match &self.features {
            Some(f) => f.clone(),
            None => columns.iter().filter(|c| c.as_str() != "id").cloned().collect(),
        }
    }

    /// What is wrong with the section on its own (field names are prefixed
    /// with `training.`).
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        let mut bad = |field: &str, message: String| {
            p.push(Problem::field("job.json", &format!("training.{field}"), message));
        };
        if let Some(f) = &self.features {
            if f.is_empty() {
                bad("features", "names no column; leave it out to use every column but id".into());
            }
            let mut seen = std::collections::BTreeSet::new();
            for c in f {
                if !seen.insert(c) {
                    bad("features", format!("{c:?} appears twice"));
                }
            }
        }
        if !(0.0..1.0).contains(&self.test_fraction) || self.test_fraction.is_nan() {
            bad("test_fraction", format!("{} is outside 0 (no test channel) to below 1", self.test_fraction));
        }
        if let Some(sm) = &self.sagemaker {
            for (field, message) in sm.problems() {
                bad(&format!("sagemaker.{field}"), message);
            }
        }
        p
    }

    /// What is wrong once the manifest's columns are known.
    pub fn column_problems(&self, columns: &[String]) -> Vec<Problem> {
        let mut p = Vec::new();
        let features = self.feature_columns(columns);
        for f in &features {
            if !columns.contains(f) {
                p.push(Problem::field(
                    "job.json",
                    "training.features",
                    format!("{f:?} is not a manifest column (columns: {})", columns.join(", ")),
                ));
            }
        }
        if features.is_empty() {
            p.push(Problem::field(
                "job.json",
                "training.features",
                "the manifest has no column to learn from besides id".to_string(),
            ));
        }
        p
    }

    /// Does the layout need numbers in the feature columns?
    pub fn numeric_features(&self) -> bool {
        self.layout == SplitLayout::LabelFirst
    }
}

impl SageMakerSpec {
    /// (field, message) pairs.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = Vec::new();
        match (&self.algorithm, &self.image) {
            (Some(_), Some(_)) => {
                p.push(("image".into(), "give either algorithm or image, not both".into()));
            }
            (Some(a), None) if BuiltIn::parse(a).is_none() => {
                p.push((
                    "algorithm".into(),
                    format!("{a:?} is not a built-in algorithm hitloop knows (xgboost, linear-learner); give the training image as image instead"),
                ));
            }
            (None, Some(i)) if i.is_empty() || i.len() > 255 || i.chars().any(char::is_whitespace) => {
                p.push(("image".into(), "must be an image URI without spaces, at most 255 characters".into()));
            }
            _ => {}
        }
        if let Some(r) = &self.role_arn {
            if !is_role_arn(r) {
                p.push((
                    "role_arn".into(),
                    format!("{r:?} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
                ));
            }
        }
        if !is_instance_type(&self.instance_type) {
            p.push((
                "instance_type".into(),
                format!("{:?} is not a SageMaker instance type such as ml.m5.large", self.instance_type),
            ));
        }
        if !(1..=MAX_INSTANCES).contains(&self.instance_count) {
            p.push(("instance_count".into(), format!("must be 1 to {MAX_INSTANCES}")));
        }
        if !(1..=MAX_VOLUME_GB).contains(&self.volume_size_gb) {
            p.push(("volume_size_gb".into(), format!("must be 1 to {MAX_VOLUME_GB}")));
        }
        if !(1..=MAX_RUNTIME_S).contains(&self.max_runtime_seconds) {
            p.push(("max_runtime_seconds".into(), format!("must be 1 to {MAX_RUNTIME_S} (28 days)")));
        }
        if self.hyperparameters.len() > MAX_HYPERPARAMETERS {
            p.push(("hyperparameters".into(), format!("SageMaker takes at most {MAX_HYPERPARAMETERS}")));
        }
        for (k, v) in &self.hyperparameters {
            if k.is_empty() || k.chars().count() > 256 {
                p.push(("hyperparameters".into(), format!("the name {k:?} must have 1 to 256 characters")));
            }
            match hyperparameter_text(v) {
                None => {
                    p.push(("hyperparameters".into(), format!("{k}: a value must be a string, a number or true/false")))
                }
                Some(t) if t.chars().count() > 2500 => {
                    p.push(("hyperparameters".into(), format!("{k}: the value is longer than 2,500 characters")));
                }
                Some(_) => {}
            }
        }
        p
    }

    pub fn built_in(&self) -> Option<BuiltIn> {
        match (&self.algorithm, &self.image) {
            (Some(a), _) => BuiltIn::parse(a),
            (None, None) => Some(BuiltIn::Xgboost),
            (None, Some(_)) => None,
        }
    }

    /// The hyperparameters sent: the algorithm's defaults, then the job's.
    pub fn hyperparameters(&self, classes: usize, features: usize) -> BTreeMap<String, String> {
        let mut all = self.built_in().map(|b| b.defaults(classes, features)).unwrap_or_default();
        for (k, v) in &self.hyperparameters {
            if let Some(t) = hyperparameter_text(v) {
                all.insert(k.clone(), t);
            }
        }
        all
    }
}

fn hyperparameter_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// arn:<partition>:iam::<12 digits>:role/<path and name>
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|n| !n.is_empty() && n.len() <= 512)
        && !arn.chars().any(char::is_whitespace)
}

/// ml.<family>.<size>
pub(crate) fn is_instance_type(t: &str) -> bool {
    let parts: Vec<&str> = t.split('.').collect();
    parts.len() == 3
        && parts[0] == "ml"
        && parts[1..].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// The SageMaker training job of a job: derived from the job (its id and
/// when it was created), so every attempt to start it names the same
/// training job, and a later job reusing the id names another. At most 63
/// characters, SageMaker's pattern `[a-zA-Z0-9](-*[a-zA-Z0-9])*`.
pub fn training_job_name(job_id: &str, created_at: i64) -> String {
    let mut h = Sha256::new();
    h.update(job_id.as_bytes());
    h.update([0]);
    h.update(created_at.to_be_bytes());
    let digest = h.finalize();
    let hex: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    format!("{TRAINING_JOB_PREFIX}{job_id}-{hex}")
}

/// The training job of model version `version`: version 1 is the job's
/// first (`training_job_name`); a retrain after verification is that name
/// with `-v<version>` (the job id cut to fit 63 characters).
pub fn versioned_training_job_name(job_id: &str, created_at: i64, version: u32) -> String {
    let base = training_job_name(job_id, created_at);
    if version <= 1 {
        return base;
    }
    let suffix = format!("-v{version}");
    let Some((head, hex)) = base.rsplit_once('-') else { return base };
    let room = 63usize.saturating_sub(suffix.len() + 1 + hex.len());
    let head: String = head.chars().take(room).collect();
    format!("{}-{hex}{suffix}", head.trim_end_matches('-'))
}

/// Every training job hitloop starts begins with this (the EventBridge rule
/// matches on it).
pub const TRAINING_JOB_PREFIX: &str = "hitloop-";

/// The job id inside a training job name hitloop made, if it is one.
pub fn job_id_of_training(name: &str) -> Option<&str> {
    let mut rest = name.strip_prefix(TRAINING_JOB_PREFIX)?;
    // A later model version's: `-v<version>` after the digest.
    if let Some((head, v)) = rest.rsplit_once("-v") {
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && head.len() > 7 {
            rest = head;
        }
    }
    let (job, hex) = rest.rsplit_once('-')?;
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && !job.is_empty()).then_some(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> TrainingSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn later_model_versions_train_under_their_own_names() {
        let v1 = training_job_name("iris", 5);
        assert_eq!(versioned_training_job_name("iris", 5, 1), v1);
        let v2 = versioned_training_job_name("iris", 5, 2);
        assert_eq!(v2, format!("{v1}-v2"));
        assert_eq!(job_id_of_training(&v2), Some("iris"));
        assert_eq!(job_id_of_training(&v1), Some("iris"));
        let long = "a".repeat(48);
        let v12 = versioned_training_job_name(&long, 5, 12);
        assert!(v12.len() <= 63 && v12.ends_with("-v12"), "{v12}");
    }

    #[test]
    fn defaults() {
        let t = spec(r#"{"sagemaker": {}}"#);
        assert_eq!(t.test_fraction, 0.2);
        assert_eq!(t.layout, SplitLayout::LabelFirst);
        let sm = t.sagemaker.unwrap();
        assert_eq!(sm.built_in(), Some(BuiltIn::Xgboost));
        assert_eq!((sm.instance_type.as_str(), sm.instance_count, sm.volume_size_gb), ("ml.m5.large", 1, 10));
        let hp = sm.hyperparameters(3, 4);
        assert_eq!(hp["num_class"], "3");
        assert_eq!(hp["objective"], "multi:softprob");
    }

    #[test]
    fn the_jobs_hyperparameters_win_and_become_strings() {
        let t = spec(r#"{"sagemaker": {"hyperparameters": {"num_round": 20, "eta": 0.3, "verbose": true}}}"#);
        let hp = t.sagemaker.unwrap().hyperparameters(3, 4);
        assert_eq!((hp["num_round"].as_str(), hp["eta"].as_str(), hp["verbose"].as_str()), ("20", "0.3", "true"));
    }

    #[test]
    fn every_problem_is_named() {
        let t = spec(
            r#"{"features": [], "test_fraction": 1.5, "sagemaker": {"algorithm": "magic", "role_arn": "me",
                "instance_type": "m5.large", "instance_count": 0, "volume_size_gb": 0, "max_runtime_seconds": 0,
                "hyperparameters": {"x": [1]}}}"#,
        );
        let fields: Vec<String> = t.problems().into_iter().filter_map(|p| p.field).collect();
        for f in [
            "training.features",
            "training.test_fraction",
            "training.sagemaker.algorithm",
            "training.sagemaker.role_arn",
            "training.sagemaker.instance_type",
            "training.sagemaker.instance_count",
            "training.sagemaker.volume_size_gb",
            "training.sagemaker.max_runtime_seconds",
            "training.sagemaker.hyperparameters",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn features_must_be_columns() {
        let t = spec(r#"{"features": ["petal_length", "colour"]}"#);
        let cols: Vec<String> = ["id", "petal_length"].iter().map(|s| s.to_string()).collect();
        let p = t.column_problems(&cols);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("colour"));
        assert_eq!(spec("{}").feature_columns(&cols), vec!["petal_length".to_string()]);
    }

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/hitloop-sagemaker"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/name"));
        for bad in ["", "arn:aws:iam::1234:role/x", "arn:aws:iam::123456789012:user/x", "arn:aws:s3:::b"] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn images_by_region() {
        assert_eq!(
            BuiltIn::Xgboost.image("us-east-1").unwrap(),
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
        );
        assert_eq!(
            BuiltIn::LinearLearner.image("eu-west-1").unwrap(),
            "438346466558.dkr.ecr.eu-west-1.amazonaws.com/linear-learner:1"
        );
        assert!(BuiltIn::Xgboost.image("mars-north-1").is_none());
    }

    #[test]
    fn training_job_names_are_stable_valid_and_reversible() {
        let id = "a".repeat(48);
        let name = training_job_name(&id, 1);
        assert!(name.len() <= 63, "{}", name.len());
        assert_eq!(name, training_job_name(&id, 1));
        assert_ne!(name, training_job_name(&id, 2), "a new job with the same id gets a new name");
        assert_eq!(job_id_of_training(&name), Some(id.as_str()));
        let odd = training_job_name("x-", 5);
        assert_eq!(job_id_of_training(&odd), Some("x-"));
        assert!(odd.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert!(!odd.ends_with('-'));
        assert_eq!(job_id_of_training("someone-elses-job"), None);
        assert_eq!(job_id_of_training("hitloop-"), None);
    }
}
