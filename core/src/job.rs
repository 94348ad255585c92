//! `job.json`: what a labeling job asks for. Users write it next to the
//! manifest; `examples/iris/job.json` is a commented example. Every field has
//! a default that reproduces the AWS blog's task except the label set.

use serde::{Deserialize, Serialize};

use crate::money::Usd;
use crate::problems::Problem;
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
    /// The most this job may spend, rewards and fees included (USD).
    #[serde(default)]
    pub budget_usd: Option<Usd>,
    /// How the labeled data is split and trained on when labeling is
    /// complete (see `training.rs`); none: the outputs are written and the
    /// job ends `complete`.
    #[serde(default)]
    pub training: Option<TrainingSpec>,
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
            budget_usd: None,
            training: None,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusSpec {
    /// Assignments bought when the HIT is created.
    pub initial_assignments: u32,
    /// How many valid answers must agree for a label.
    pub agreement: u32,
    /// The most assignments an item may get; then it is `unresolved`.
    pub max_assignments: u32,
}

impl Default for ConsensusSpec {
    fn default() -> Self {
        ConsensusSpec { initial_assignments: 2, agreement: 2, max_assignments: 9 }
    }
}

/// MTurk's limits (Requester API reference, CreateHIT).
const MAX_SECONDS: i64 = 31_536_000;

impl JobSpec {
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
        if c.max_assignments < c.initial_assignments || c.max_assignments < c.agreement {
            bad("consensus.max_assignments", "must be at least initial_assignments and agreement".into());
        }
        if c.initial_assignments < 10 && c.max_assignments >= 10 {
            bad(
                "consensus.max_assignments",
                "a HIT created with fewer than 10 assignments can never reach 10 (MTurk's rule): use at most 9, or start with 10 or more".into(),
            );
        }
        if c.max_assignments > 100 {
            bad("consensus.max_assignments", "at most 100 assignments per item".into());
        }
        if let Some(b) = self.budget_usd {
            if b.cents() <= 0 {
                bad("budget_usd", "must be more than 0".into());
            }
        }
        if let Some(t) = &self.training {
            p.extend(t.problems());
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
        assert_eq!(spec.consensus, ConsensusSpec { initial_assignments: 2, agreement: 2, max_assignments: 9 });
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
