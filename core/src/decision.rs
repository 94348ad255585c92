//! Deciding an item from its answers. A rule is built from the job's
//! settings ([`rule_for`]); it gets the item's answers, what is known of the
//! workers who gave them, and how many assignments were bought and may still
//! come back, and returns an action with its confidence. Pure: the same
//! evidence always gets the same decision. The seed's "`agreement` valid
//! answers agree" ([`AgreementRule`]), and confidence-based stopping under a
//! worker model ([`ConfidenceRule`]).

use std::collections::BTreeMap;

use crate::job::{ConsensusMethod, JobSpec};
use crate::quality::ConfidenceRule;
use crate::records::{AnswerRecord, WorkerEstimate};

/// What is known about an item when deciding.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// Answers in the order they were submitted (invalid ones too: they are
    /// kept but never count).
    pub answers: &'a [AnswerRecord],
    /// What the job's worker model knows of the workers who answered (empty
    /// until a model is fitted).
    pub workers: &'a BTreeMap<String, WorkerEstimate>,
    /// Assignments bought so far for this item.
    pub bought: u32,
    /// Assignments bought that may still bring an answer (accepted or open).
    pub outstanding: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Enough agreement: the item is labeled.
    Label { label: String, agreed: u32 },
    /// Answers may still come: do nothing yet.
    Wait,
    /// Buy this many more assignments.
    Buy(u32),
    /// No agreement and no more assignments allowed.
    Unresolved,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: Action,
    /// How sure the rule is of the label (of the best label, for an
    /// unresolved item): a probability for a model, the agreeing share of
    /// the answers for the agreement rule. None while there is no answer.
    pub confidence: Option<f64>,
}

pub trait DecisionRule: Send + Sync {
    fn decide(&self, evidence: &Evidence<'_>) -> Decision;

    /// Whether `Evidence::workers` matters to this rule (if not, nobody
    /// reads the estimates for it).
    fn uses_worker_estimates(&self) -> bool {
        false
    }
}

/// The rule a job's settings ask for.
pub fn rule_for(spec: &JobSpec) -> Box<dyn DecisionRule> {
    let c = &spec.consensus;
    match c.method {
        ConsensusMethod::Agreement => {
            Box::new(AgreementRule { agreement: c.agreement, max_assignments: c.max_assignments() })
        }
        ConsensusMethod::Confidence => Box::new(ConfidenceRule {
            labels: spec.labels.clone(),
            target: c.target(),
            min_answers: c.initial_assignments,
            max_assignments: c.max_assignments(),
            default_accuracy: DEFAULT_ACCURACY,
        }),
    }
}

/// What a worker nobody has measured yet is assumed to get right, before the
/// job's first refit says what its crowd gets right.
pub const DEFAULT_ACCURACY: f64 = 0.7;

/// What an item not decided yet needs: to wait for work still out, else
/// `missing` more answers (at least one) up to the cap, else nothing more:
/// it is unresolved.
pub fn undecided(e: &Evidence<'_>, missing: u32, max_assignments: u32) -> Action {
    if e.outstanding > 0 {
        Action::Wait
    } else if e.bought < max_assignments {
        Action::Buy(missing.max(1).min(max_assignments - e.bought))
    } else {
        Action::Unresolved
    }
}

/// "Add an assignment until `agreement` workers agree", at most
/// `max_assignments` per item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgreementRule {
    pub agreement: u32,
    pub max_assignments: u32,
}

impl DecisionRule for AgreementRule {
    fn decide(&self, e: &Evidence<'_>) -> Decision {
        let mut counts: Vec<(&str, u32)> = Vec::new();
        let share = |n: u32| (!e.answers.is_empty()).then(|| f64::from(n) / e.answers.len() as f64);
        // The first label to reach the threshold wins (a later tie cannot undo it).
        for a in e.answers {
            let Some(label) = a.label.as_deref() else { continue };
            let n = match counts.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((label, 1));
                    1
                }
            };
            if n >= self.agreement {
                return Decision {
                    action: Action::Label { label: label.to_string(), agreed: n },
                    confidence: share(n),
                };
            }
        }
        let best = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let action = undecided(e, self.agreement.saturating_sub(best), self.max_assignments);
        Decision { action, confidence: share(best) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(labels: &[Option<&str>]) -> Vec<AnswerRecord> {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| AnswerRecord {
                assignment_id: format!("A{i}"),
                worker_id: format!("W{i}"),
                label: l.map(str::to_string),
                invalid_reason: l.is_none().then(|| "bad".to_string()),
                submitted_at: i as i64,
            })
            .collect()
    }

    fn decide(labels: &[Option<&str>], bought: u32, outstanding: u32) -> Decision {
        let a = answers(labels);
        let workers = BTreeMap::new();
        AgreementRule { agreement: 2, max_assignments: 9 }.decide(&Evidence {
            answers: &a,
            workers: &workers,
            bought,
            outstanding,
        })
    }

    #[test]
    fn two_agreeing_answers_label_the_item() {
        let d = decide(&[Some("a"), Some("a")], 2, 0);
        assert_eq!(d.action, Action::Label { label: "a".into(), agreed: 2 });
        assert_eq!(d.confidence, Some(1.0));
        let d = decide(&[Some("a"), Some("b"), Some("b")], 3, 0);
        assert_eq!(d.action, Action::Label { label: "b".into(), agreed: 2 });
        assert_eq!(d.confidence, Some(2.0 / 3.0));
    }

    #[test]
    fn waits_for_outstanding_work_then_buys_one_more() {
        assert_eq!(decide(&[Some("a")], 2, 1).action, Action::Wait);
        assert_eq!(decide(&[Some("a"), Some("b")], 2, 0).action, Action::Buy(1));
        let none = decide(&[], 2, 0);
        assert_eq!(none.action, Action::Buy(2), "nothing came back: buy what agreement needs");
        assert_eq!(none.confidence, None);
    }

    #[test]
    fn invalid_answers_never_count() {
        let d = decide(&[Some("a"), None, None], 3, 0);
        assert_eq!(d.action, Action::Buy(1));
        assert_eq!(d.confidence, Some(1.0 / 3.0), "the share counts every answer");
    }

    #[test]
    fn gives_up_at_the_cap() {
        let all: Vec<_> = ["a", "b", "c", "d", "e", "f", "g", "h", "i"].iter().map(|l| Some(*l)).collect();
        assert_eq!(decide(&all, 9, 0).action, Action::Unresolved);
        assert_eq!(decide(&[Some("a"), Some("b")], 8, 0).action, Action::Buy(1), "never past the cap");
    }

    #[test]
    fn the_job_settings_choose_the_rule() {
        let spec =
            JobSpec::parse(r#"{"labels": ["a", "b"], "consensus": {"agreement": 3, "max_assignments": 5}}"#).unwrap();
        let a = answers(&[Some("a"), Some("a")]);
        let workers = BTreeMap::new();
        let d = rule_for(&spec).decide(&Evidence { answers: &a, workers: &workers, bought: 2, outstanding: 0 });
        assert_eq!(d.action, Action::Buy(1), "agreement 3 needs one more");
    }

    #[test]
    fn a_confidence_job_gets_the_confidence_rule_with_its_settings() {
        let spec = JobSpec::parse(
            r#"{"labels": ["a", "b"], "consensus": {"method": "confidence", "target": 0.9, "initial_assignments": 1}}"#,
        )
        .unwrap();
        let rule = rule_for(&spec);
        assert!(rule.uses_worker_estimates());
        let a = answers(&[Some("a")]);
        let sure = |accuracy: f64| {
            let e = WorkerEstimate {
                worker_id: "W0".into(),
                answers: 40,
                accuracy,
                confusion: vec![],
                counts: vec![],
                updated_at: 0,
            };
            BTreeMap::from([("W0".to_string(), e)])
        };
        let d = rule.decide(&Evidence { answers: &a, workers: &sure(0.95), bought: 1, outstanding: 0 });
        assert_eq!(d.action, Action::Label { label: "a".into(), agreed: 1 }, "one answer of a 95% worker passes 0.9");
        let d = rule.decide(&Evidence { answers: &a, workers: &sure(0.85), bought: 1, outstanding: 0 });
        assert_eq!(d.action, Action::Buy(1));
        let d = rule.decide(&Evidence { answers: &a, workers: &sure(0.85), bought: 6, outstanding: 0 });
        assert_eq!(d.action, Action::Unresolved, "the confidence method's default cap is 6");
    }
}
