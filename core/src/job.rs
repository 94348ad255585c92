//! `job.json`: what a labeling job asks for. Users write it next to the
//! manifest; `examples/iris/job.json` is a commented example. Every field has
//! a default that reproduces the AWS blog's task except the label set.

use serde::{Deserialize, Serialize};

use crate::deploy::{DeploySpec, VerifySpec};
use crate::money::Usd;
use crate::problems::Problem;
use crate::publish_order::PublishOrder;
use crate::training::TrainingSpec;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    #[serde(default)]
    pub task: TaskSpec,
    /// The task page: an HTML file next to the manifest, with `${column}`
    /// placeholders filled from each manifest row.
    #[serde(default = "default_template")]
    pub template: String,
    /// The labels a worker may give. Anything else is recorded as invalid.
    pub labels: Vec<String>,
    #[serde(default)]
    pub answer: AnswerSpec,
    #[serde(default)]
    pub consensus: ConsensusSpec,
    /// How the manifest's gold rows (known labels) are used.
    #[serde(default)]
    pub gold: GoldSpec,
    /// The order the items are posted in: shuffled (the default) or the
    /// manifest's (see `publish_order.rs`).
    #[serde(default)]
    pub publish_order: PublishOrder,
    /// The most this job may spend, rewards and fees included (USD).
    #[serde(default)]
    pub budget_usd: Option<Usd>,
    /// How the labeled data is split and trained on when labeling is
    /// complete (see `training.rs`); none: the outputs are written and the
    /// job ends `complete`.
    #[serde(default)]
    pub training: Option<TrainingSpec>,
    /// Serve the trained model from a SageMaker endpoint (see `deploy.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeploySpec>,
    /// Send the predictions the model is unsure of back to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
    /// The prediction batch this job verifies: set by hitloop on the
    /// verification jobs it creates (its labels go back to that batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifies: Option<Verifies>,
}

/// Which prediction batch a verification job verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verifies {
    pub job: String,
    pub batch: String,
}

impl JobSpec {
    /// The spec recorded on a job whose job.json could not be used.
    pub fn unusable() -> JobSpec {
        JobSpec {
            task: TaskSpec::default(),
            template: default_template(),
            labels: vec![],
            answer: AnswerSpec::default(),
            consensus: ConsensusSpec::default(),
            gold: GoldSpec::default(),
            publish_order: PublishOrder::default(),
            budget_usd: None,
            training: None,
            deploy: None,
            verify: None,
            verifies: None,
        }
    }
}

fn default_template() -> String {
    "template.html".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaskSpec {
    pub title: String,
    pub description: String,
    pub keywords: Option<String>,
    pub reward: Usd,
    pub lifetime_seconds: i64,
    pub assignment_duration_seconds: i64,
    pub auto_approval_delay_seconds: i64,
    pub frame_height: i64,
    pub qualification_requirements: Vec<QualificationRequirement>,
}

impl Default for TaskSpec {
    fn default() -> Self {
        TaskSpec {
            title: "Label an item".into(),
            description: "Choose the label that fits the item best.".into(),
            keywords: None,
            reward: Usd::from_cents(5),
            lifetime_seconds: 4 * 3600,
            assignment_duration_seconds: 5 * 60,
            auto_approval_delay_seconds: 3 * 24 * 3600,
            frame_height: 650,
            qualification_requirements: vec![],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationRequirement {
    pub qualification_type_id: String,
    pub comparator: String,
    #[serde(default)]
    pub integer_values: Vec<i32>,
    #[serde(default)]
    pub locale_values: Vec<LocaleValue>,
    #[serde(default)]
    pub actions_guarded: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocaleValue {
    pub country: String,
    #[serde(default)]
    pub subdivision: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerFormat {
    /// A crowd-form page: one `taskAnswers` answer, JSON `[{"<field>":{"label":...}}]`.
    #[default]
    CrowdForm,
    /// A plain HTML form: the label is the answer named `field`.
    Form,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnswerSpec {
    pub format: AnswerFormat,
    /// The `name` of the crowd element or form field that holds the label.
    pub field: String,
}

impl Default for AnswerSpec {
    fn default() -> Self {
        AnswerSpec { format: AnswerFormat::CrowdForm, field: "category".into() }
    }
}

/// How an item is decided: the seed's agreement rule, or confidence-based
/// stopping under a worker model (`core/src/quality/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsensusMethod {
    /// Add an assignment until `agreement` valid answers agree.
    #[default]
    Agreement,
    /// Add an assignment until the top label's probability, given what the
    /// job's worker model knows of the workers who answered, reaches `target`.
    Confidence,
}

/// The confidence method's target when job.json gives none: chosen with the
/// replay benchmark (docs/quality.md).
pub const DEFAULT_TARGET: f64 = 0.75;
/// The confidence method's `block_guessers` when job.json gives none: a
/// worker closer to guessing than to the crowd (the replay: workers who
/// answer many items near chance are what makes the others' labels dear).
pub const DEFAULT_BLOCK_GUESSERS: f64 = 0.5;
/// Answers of a worker the model must have counted before it may block them:
/// few enough that a worker who answers near chance is judged while most of
/// the job is still to buy (in the iris demo the junk workers answer 14 to 23
/// items, and at 20 they were blocked in 1 run of 16; at 8, in 4 of 5), many
/// enough that nobody careful falls below the bar by bad luck (the replay:
/// 8 did better than 5, 10 and 20 on bluebird, the same elsewhere).
pub const GUESSER_MIN_ANSWERS: u32 = 8;
/// The agreement method's cap when job.json gives none (the blog's).
pub const DEFAULT_MAX_AGREEMENT: u32 = 9;
/// The confidence method's cap when job.json gives none: past six answers an
/// item the model is still unsure of is rarely settled by more (the replay).
pub const DEFAULT_MAX_CONFIDENCE: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusSpec {
    pub method: ConsensusMethod,
    /// Assignments bought when the HIT is created; for `confidence`, also
    /// the least valid answers before an item may be labeled.
    pub initial_assignments: u32,
    /// How many valid answers must agree for a label (`agreement` only).
    pub agreement: u32,
    /// The most assignments an item may get; then it is `unresolved`.
    /// Default: 9 for `agreement`, 6 for `confidence`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_assignments: Option<u32>,
    /// The probability the top label must reach (`confidence` only; default 0.8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// `confidence` only: block a worker whose accuracy, as the job's model
    /// estimates it once it has counted [`GUESSER_MIN_ANSWERS`] of their
    /// answers, is below this share of the way from guessing to the crowd's
    /// (0: nobody; default 0.5: closer to guessing than to the crowd).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_guessers: Option<f64>,
}

impl Default for ConsensusSpec {
    fn default() -> Self {
        ConsensusSpec {
            method: ConsensusMethod::Agreement,
            initial_assignments: 2,
            agreement: 2,
            max_assignments: None,
            target: None,
            block_guessers: None,
        }
    }
}

impl ConsensusSpec {
    /// The seed's rule: 2 answers, one more until 2 agree, at most `max`.
    pub fn agreement(initial_assignments: u32, agreement: u32, max: u32) -> ConsensusSpec {
        ConsensusSpec { initial_assignments, agreement, max_assignments: Some(max), ..ConsensusSpec::default() }
    }

    /// Confidence stopping with job.json's defaults.
    pub fn confidence() -> ConsensusSpec {
        ConsensusSpec { method: ConsensusMethod::Confidence, ..ConsensusSpec::default() }
    }

    pub fn max_assignments(&self) -> u32 {
        self.max_assignments.unwrap_or(match self.method {
            ConsensusMethod::Agreement => DEFAULT_MAX_AGREEMENT,
            ConsensusMethod::Confidence => DEFAULT_MAX_CONFIDENCE,
        })
    }

    pub fn target(&self) -> f64 {
        self.target.unwrap_or(DEFAULT_TARGET)
    }

    /// The share of the way from guessing to the crowd's accuracy below
    /// which the model blocks a worker, when the job's model blocks anyone.
    pub fn block_guessers(&self) -> Option<f64> {
        match self.method {
            ConsensusMethod::Agreement => None,
            ConsensusMethod::Confidence => {
                Some(self.block_guessers.unwrap_or(DEFAULT_BLOCK_GUESSERS)).filter(|s| *s > 0.0)
            }
        }
    }
}

/// `gold`: how many of the manifest's gold rows become HITs, and when a
/// worker who gets them wrong loses access to the job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GoldSpec {
    /// The most of the job's items that are gold (0 to 0.5): gold rows past
    /// it are left out. None: every gold row is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Block a worker (revoke their access to the job's HITs; their answers
    /// stop counting) once the job is 95 % sure their accuracy on gold is
    /// below this. None: nobody is blocked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_below: Option<f64>,
    /// The least gold answers before a worker can be blocked (default 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_answers: Option<u32>,
}

/// A worker is judged on at least this many gold answers by default.
pub const DEFAULT_GOLD_MIN_ANSWERS: u32 = 4;

impl GoldSpec {
    pub fn min_answers(&self) -> u32 {
        self.min_answers.unwrap_or(DEFAULT_GOLD_MIN_ANSWERS)
    }

    /// Whether workers can lose access to the job (its HIT type then
    /// requires the job's access qualification).
    pub fn blocks(&self) -> bool {
        self.block_below.is_some()
    }

    fn problems(&self, bad: &mut impl FnMut(&str, String)) {
        if let Some(s) = self.share {
            if !(s > 0.0 && s <= 0.5) {
                bad("gold.share", format!("{s} is outside 0 (excluded) to 0.5"));
            }
        }
        if let Some(b) = self.block_below {
            if !(b > 0.0 && b < 1.0) {
                bad("gold.block_below", format!("{b} is outside 0 to 1 (both excluded)"));
            }
        }
        if let Some(n) = self.min_answers {
            if !(1..=100).contains(&n) {
                bad("gold.min_answers", format!("{n} is outside 1 to 100"));
            }
            if self.block_below.is_none() {
                bad("gold.min_answers", "applies with \"block_below\" only".into());
            }
        }
    }
}

/// MTurk's limits (Requester API reference, CreateHIT).
const MAX_SECONDS: i64 = 31_536_000;

impl JobSpec {
    /// Whether workers can lose access to the job, on gold or by the worker
    /// model (its HIT type then requires the job's access qualification).
    pub fn blocks_anyone(&self) -> bool {
        self.gold.blocks() || self.consensus.block_guessers().is_some()
    }

    /// Parses `job.json`; a syntax or shape error is one problem with its line.
    pub fn parse(text: &str) -> Result<JobSpec, Vec<Problem>> {
        let spec: JobSpec = serde_json::from_str(text)
            .map_err(|e| vec![Problem::at("job.json", e.line() as u64, format!("job.json is not a valid job: {e}"))])?;
        let problems = spec.problems();
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(problems)
        }
    }

    /// Everything wrong with a parsed job, so the user can fix it all at once.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        let mut bad = |field: &str, message: String| p.push(Problem::field("job.json", field, message));
        let t = &self.task;
        if t.title.trim().is_empty() || t.title.chars().count() > 128 {
            bad("task.title", "must have 1 to 128 characters".into());
        }
        if t.description.trim().is_empty() || t.description.chars().count() > 2000 {
            bad("task.description", "must have 1 to 2,000 characters".into());
        }
        if t.keywords.as_ref().is_some_and(|k| k.chars().count() > 1000) {
            bad("task.keywords", "must have at most 1,000 characters".into());
        }
        if t.reward.cents() < 1 || t.reward.cents() > 100_000 {
            bad("task.reward", format!("{} is outside $0.01 to $1,000.00", t.reward));
        }
        if !(30..=MAX_SECONDS).contains(&t.lifetime_seconds) {
            bad("task.lifetime_seconds", format!("{} is outside 30 to {MAX_SECONDS}", t.lifetime_seconds));
        }
        if !(30..=MAX_SECONDS).contains(&t.assignment_duration_seconds) {
            bad(
                "task.assignment_duration_seconds",
                format!("{} is outside 30 to {MAX_SECONDS}", t.assignment_duration_seconds),
            );
        }
        if !(0..=2_592_000).contains(&t.auto_approval_delay_seconds) {
            bad(
                "task.auto_approval_delay_seconds",
                format!("{} is outside 0 to 2592000 (30 days)", t.auto_approval_delay_seconds),
            );
        }
        if !(0..=10_000).contains(&t.frame_height) {
            bad("task.frame_height", "must be 0 (automatic) to 10000 pixels".into());
        }
        if t.qualification_requirements.len() > 10 {
            bad("task.qualification_requirements", "MTurk allows at most 10".into());
        }
        if self.template.trim().is_empty() || self.template.contains("..") || self.template.starts_with('/') {
            bad("template", "must name a file next to the manifest".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for l in &self.labels {
            if l.trim().is_empty() || l.chars().count() > 200 {
                bad("labels", format!("{l:?} is not a usable label (1 to 200 characters)"));
            }
            if !seen.insert(l.to_lowercase()) {
                bad("labels", format!("{l:?} appears twice"));
            }
        }
        if seen.len() < 2 {
            bad("labels", "a job needs at least two labels to choose from".into());
        }
        if self.answer.field.trim().is_empty() {
            bad("answer.field", "must name the form field holding the label".into());
        }
        let c = &self.consensus;
        if c.initial_assignments < 1 {
            bad("consensus.initial_assignments", "must be at least 1".into());
        }
        if c.agreement < 1 {
            bad("consensus.agreement", "must be at least 1".into());
        }
        let max = c.max_assignments();
        let agreement_counts = c.method == ConsensusMethod::Agreement;
        if max < c.initial_assignments || (agreement_counts && max < c.agreement) {
            bad("consensus.max_assignments", "must be at least initial_assignments and agreement".into());
        }
        match (c.method, c.target) {
            (ConsensusMethod::Agreement, Some(_)) => {
                bad("consensus.target", "applies to \"method\": \"confidence\" only".into());
            }
            (_, Some(t)) if !(0.5..=0.999).contains(&t) => {
                bad("consensus.target", format!("{t} is outside 0.5 to 0.999"));
            }
            _ => {}
        }
        match (c.method, c.block_guessers) {
            (ConsensusMethod::Agreement, Some(_)) => {
                bad("consensus.block_guessers", "applies to \"method\": \"confidence\" only".into());
            }
            (_, Some(b)) if !(0.0..1.0).contains(&b) => {
                bad("consensus.block_guessers", format!("{b} is outside 0 to 1 (1 excluded; 0 blocks nobody)"));
            }
            _ => {}
        }
        if c.initial_assignments < 10 && max >= 10 {
            bad(
                "consensus.max_assignments",
                "a HIT created with fewer than 10 assignments can never reach 10 (MTurk's rule): use at most 9, or start with 10 or more".into(),
            );
        }
        if max > 100 {
            bad("consensus.max_assignments", "at most 100 assignments per item".into());
        }
        self.gold.problems(&mut bad);
        if let Some(b) = self.budget_usd {
            if b.cents() <= 0 {
                bad("budget_usd", "must be more than 0".into());
            }
        }
        if let Some(t) = &self.training {
            p.extend(t.problems());
        }
        let sagemaker = self.training.as_ref().and_then(|t| t.sagemaker.as_ref());
        if let Some(d) = &self.deploy {
            for (field, message) in d.problems() {
                p.push(Problem::field("job.json", &format!("deploy.{field}"), message));
            }
            match sagemaker {
                None => {
                    p.push(Problem::field("job.json", "deploy", "there is no model to deploy: add training.sagemaker"))
                }
                Some(sm) if sm.built_in().is_none() && d.image.is_none() => p.push(Problem::field(
                    "job.json",
                    "deploy.image",
                    "a model trained with your own image needs the image that serves it",
                )),
                Some(_) => {}
            }
        }
        if let Some(v) = &self.verify {
            for (field, message) in v.problems() {
                p.push(Problem::field("job.json", &format!("verify.{field}"), message));
            }
            if sagemaker.is_none() {
                p.push(Problem::field(
                    "job.json",
                    "verify",
                    "there is no model whose predictions to verify: add training.sagemaker",
                ));
            }
        }
        p
    }

    /// The fields of `other` that differ from this spec, besides the budget:
    /// a live job's HITs were posted with them, so only its budget may change.
    pub fn changes_besides_budget(&self, other: &JobSpec) -> Vec<String> {
        fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
            match (a, b) {
                (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                    let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                    for k in keys {
                        let null = serde_json::Value::Null;
                        let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                        walk(&sub, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
                    }
                }
                _ if a != b => out.push(path.to_string()),
                _ => {}
            }
        }
        let mut a = serde_json::to_value(self).unwrap_or_default();
        let mut b = serde_json::to_value(other).unwrap_or_default();
        for v in [&mut a, &mut b] {
            if let Some(o) = v.as_object_mut() {
                o.remove("budget_usd");
            }
        }
        let mut out = Vec::new();
        walk("", &a, &b, &mut out);
        out
    }

    /// What one approved assignment costs, fees included.
    pub fn assignment_cost(&self, max_assignments: u32) -> Usd {
        let masters = self.task.qualification_requirements.iter().any(|q| {
            q.qualification_type_id == "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH"
                || q.qualification_type_id == "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6"
        });
        crate::money::fees::assignment_cost(self.task.reward, i64::from(max_assignments), masters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_reproduce_the_blog_task() {
        let spec = JobSpec::parse(r#"{"labels": ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]}"#).unwrap();
        assert_eq!(spec.task.reward.to_string(), "0.05");
        assert_eq!(spec.task.lifetime_seconds, 14_400);
        assert_eq!(spec.task.assignment_duration_seconds, 300);
        assert_eq!(spec.consensus, ConsensusSpec::default());
        assert_eq!(spec.consensus.max_assignments(), 9);
        assert_eq!(spec.assignment_cost(2).to_string(), "0.06");
        assert_eq!(spec.template, "template.html");
    }

    #[test]
    fn reports_every_problem() {
        let err = JobSpec::parse(
            r#"{"labels": ["a"], "task": {"reward": "0.00", "lifetime_seconds": 5},
                "consensus": {"initial_assignments": 2, "agreement": 3, "max_assignments": 12}}"#,
        )
        .unwrap_err();
        let fields: Vec<_> = err.iter().filter_map(|p| p.field.clone()).collect();
        for f in ["labels", "task.reward", "task.lifetime_seconds", "consensus.max_assignments"] {
            assert!(fields.contains(&f.to_string()), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn the_iris_example_is_a_valid_job() {
        let spec = JobSpec::parse(include_str!("../../examples/iris/job.json")).unwrap();
        let training = spec.training.unwrap();
        assert_eq!(training.seed, 7);
        assert_eq!(training.sagemaker.unwrap().hyperparameters(3, 4)["num_round"], "50");
    }

    #[test]
    fn deploy_and_verify_need_a_model() {
        let fields = |json: &str| -> Vec<String> {
            JobSpec::parse(json).err().unwrap_or_default().into_iter().filter_map(|p| p.field).collect()
        };
        assert_eq!(fields(r#"{"labels": ["a", "b"], "deploy": {}, "verify": {"below": 0.7}}"#), ["deploy", "verify"]);
        let trained = r#""training": {"sagemaker": {}}"#;
        assert!(fields(&format!(r#"{{"labels": ["a", "b"], {trained}, "deploy": {{}}, "verify": {{"below": 0.7}}}}"#))
            .is_empty());
        let own = r#""training": {"sagemaker": {"image": "1.dkr.ecr.eu-west-1.amazonaws.com/mine:1"}}"#;
        assert_eq!(fields(&format!(r#"{{"labels": ["a", "b"], {own}, "deploy": {{}}}}"#)), ["deploy.image"]);
        assert_eq!(
            fields(&format!(r#"{{"labels": ["a", "b"], {trained}, "deploy": {{"serverless": {{"memory_mb": 7}}}}}}"#)),
            ["deploy.serverless.memory_mb"]
        );
        let spec = JobSpec::parse(&format!(r#"{{"labels": ["a", "b"], {trained}, "deploy": {{}}}}"#)).unwrap();
        assert_eq!(
            spec.deploy.unwrap().serving(),
            crate::deploy::Serving::Serverless { memory_mb: 2048, max_concurrency: 5 }
        );
    }

    #[test]
    fn the_gold_settings() {
        let spec = JobSpec::parse(r#"{"labels": ["a", "b"], "gold": {"share": 0.1, "block_below": 0.6}}"#).unwrap();
        assert_eq!((spec.gold.share, spec.gold.blocks(), spec.gold.min_answers()), (Some(0.1), true, 4));
        let plain = JobSpec::parse(r#"{"labels": ["a", "b"]}"#).unwrap();
        assert!(!plain.gold.blocks(), "nobody is blocked unless the job says so");
        let fields = |json: &str| -> Vec<String> {
            JobSpec::parse(json).unwrap_err().into_iter().filter_map(|p| p.field).collect()
        };
        assert_eq!(fields(r#"{"labels": ["a", "b"], "gold": {"share": 0.7}}"#), vec!["gold.share"]);
        assert_eq!(fields(r#"{"labels": ["a", "b"], "gold": {"block_below": 1}}"#), vec!["gold.block_below"]);
        assert_eq!(fields(r#"{"labels": ["a", "b"], "gold": {"min_answers": 3}}"#), vec!["gold.min_answers"]);
        assert!(JobSpec::parse(r#"{"labels": ["a", "b"], "gold": {"rate": 0.1}}"#).is_err());
    }

    #[test]
    fn the_consensus_method_and_its_settings() {
        let spec = JobSpec::parse(r#"{"labels": ["a", "b"], "consensus": {"method": "confidence"}}"#).unwrap();
        assert_eq!(spec.consensus.method, ConsensusMethod::Confidence);
        assert_eq!((spec.consensus.target(), spec.consensus.max_assignments()), (0.75, 6));
        assert_eq!(spec.consensus.block_guessers(), Some(0.5), "a confidence job blocks guessers by default");
        assert_eq!(ConsensusSpec::default().block_guessers(), None, "the agreement rule has no model to judge by");
        let off = r#"{"labels": ["a", "b"], "consensus": {"method": "confidence", "block_guessers": 0}}"#;
        assert_eq!(JobSpec::parse(off).unwrap().consensus.block_guessers(), None);
        let fields = |json: &str| -> Vec<String> {
            JobSpec::parse(json).unwrap_err().into_iter().filter_map(|p| p.field).collect()
        };
        assert_eq!(
            fields(r#"{"labels": ["a", "b"], "consensus": {"method": "confidence", "target": 1.0}}"#),
            vec!["consensus.target"]
        );
        assert_eq!(fields(r#"{"labels": ["a", "b"], "consensus": {"target": 0.9}}"#), vec!["consensus.target"]);
        assert_eq!(
            fields(r#"{"labels": ["a", "b"], "consensus": {"block_guessers": 0.5}}"#),
            vec!["consensus.block_guessers"]
        );
        assert_eq!(
            fields(r#"{"labels": ["a", "b"], "consensus": {"method": "confidence", "block_guessers": 1}}"#),
            vec!["consensus.block_guessers"]
        );
        assert!(JobSpec::parse(r#"{"labels": ["a", "b"], "consensus": {"method": "vote"}}"#).is_err());
        // The agreement field does not bind a confidence job's cap.
        let spec = JobSpec::parse(
            r#"{"labels": ["a", "b"], "consensus": {"method": "confidence", "agreement": 5, "max_assignments": 3}}"#,
        );
        assert!(spec.is_ok(), "{spec:?}");
    }

    #[test]
    fn only_the_budget_may_change_on_a_live_job() {
        let text = include_str!("../../examples/iris/job.json");
        let a = JobSpec::parse(text).unwrap();
        let mut b = a.clone();
        b.budget_usd = Some(Usd::from_cents(12_345));
        assert!(a.changes_besides_budget(&b).is_empty());
        b.task.reward = Usd::from_cents(7);
        b.consensus.agreement = 3;
        b.labels.push("Iris-other".into());
        assert_eq!(a.changes_besides_budget(&b), vec!["consensus.agreement", "labels", "task.reward"]);
    }

    #[test]
    fn unknown_fields_and_bad_json_name_their_line() {
        let err = JobSpec::parse("{\"labels\": [\"a\", \"b\"],\n \"colour\": 1}").unwrap_err();
        assert_eq!(err[0].line, Some(2));
        assert!(err[0].message.contains("colour"), "{}", err[0].message);
        assert!(JobSpec::parse("not json").is_err());
    }
}
