//! Confidence-based stopping: buy one more answer until the item's top label
//! reaches a target probability under what is known of the workers who
//! answered (their fitted skills; the crowd's default for a worker not yet
//! fitted), or the cap is reached. The decision rule behind
//! `consensus.method: "confidence"`.

use crate::decision::{undecided, Action, Decision, DecisionRule, Evidence};
use crate::job::GUESSER_MIN_ANSWERS;
use crate::records::WorkerEstimate;

use super::{best, posterior, Skill, CROWD};

#[derive(Debug, Clone, PartialEq)]
pub struct ConfidenceRule {
    /// The job's labels, in order.
    pub labels: Vec<String>,
    /// The probability the top label must reach.
    pub target: f64,
    /// Valid answers needed before any label is taken.
    pub min_answers: u32,
    /// Assignments bought per item at most.
    pub max_assignments: u32,
    /// The accuracy assumed of a worker the model has not fitted yet.
    pub default_accuracy: f64,
}

impl ConfidenceRule {
    /// What is known of a worker: their confusion matrix when it fits the
    /// job's labels, else their accuracy, else the default.
    fn skill_of(&self, estimate: Option<&WorkerEstimate>) -> Skill {
        let k = self.labels.len();
        match estimate {
            Some(e) if e.confusion.len() == k && e.confusion.iter().all(|row| row.len() == k) => {
                Skill::Confusion(e.confusion.clone())
            }
            Some(e) => Skill::Coin(e.accuracy),
            None => Skill::Coin(self.default_accuracy),
        }
    }
}

impl ConfidenceRule {
    /// The labels' prior: from the crowd's counts when the job's model has
    /// them (how often each label was the truth, one pseudo-count each),
    /// else uniform.
    fn priors(&self, e: &Evidence<'_>) -> Vec<f64> {
        let k = self.labels.len().max(1);
        let counts = e.workers.get(CROWD).map(|c| &c.counts).filter(|c| c.len() == k);
        let mass: Vec<f64> = match counts {
            Some(c) => c.iter().map(|row| 1.0 + row.iter().sum::<f64>().max(0.0)).collect(),
            None => vec![1.0; k],
        };
        let total: f64 = mass.iter().sum();
        mass.into_iter().map(|m| m / total).collect()
    }
}

impl DecisionRule for ConfidenceRule {
    fn decide(&self, e: &Evidence<'_>) -> Decision {
        let mut given = Vec::new();
        let mut measured = false;
        for a in e.answers {
            let Some(class) = a.label.as_deref().and_then(|l| self.labels.iter().position(|x| x == l)) else {
                continue;
            };
            let own = e.workers.get(&a.worker_id);
            measured |= own.is_some_and(|w| w.answers >= GUESSER_MIN_ANSWERS);
            given.push((self.skill_of(own.or_else(|| e.workers.get(CROWD))), class));
        }
        let valid = given.len() as u32;
        // One answer settles an item only from a worker the model has
        // measured (counted as many of their answers as it needs to judge a
        // guesser). A newcomer is taken at the crowd's skill, and a spammer
        // whose every item closed on their lone answer would never be
        // compared with anyone: never measured, never blocked. At the cap
        // nothing more can be bought, so the lone answer stands.
        let checked = valid > 1 || measured || e.bought >= self.max_assignments;
        let pairs: Vec<(&Skill, usize)> = given.iter().map(|(s, c)| (s, *c)).collect();
        let p = posterior(&self.priors(e), &pairs);
        let (top, probability) = best(&p);
        let confidence = (valid > 0).then_some(probability);
        if valid >= self.min_answers.max(1) && probability >= self.target && checked {
            let agreed = given.iter().filter(|(_, c)| *c == top).count() as u32;
            let label = self.labels.get(top).cloned().unwrap_or_default();
            return Decision { action: Action::Label { label, agreed }, confidence };
        }
        let action = undecided(e, self.min_answers.saturating_sub(valid), self.max_assignments);
        Decision { action, confidence }
    }

    fn uses_worker_estimates(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::records::AnswerRecord;

    fn rule() -> ConfidenceRule {
        ConfidenceRule {
            labels: vec!["a".into(), "b".into()],
            target: 0.95,
            min_answers: 1,
            max_assignments: 5,
            default_accuracy: 0.7,
        }
    }

    fn answers(given: &[(&str, &str)]) -> Vec<AnswerRecord> {
        crate::records::answers_given("A", given)
    }

    fn estimate(worker: &str, accuracy: f64) -> (String, WorkerEstimate) {
        let e = WorkerEstimate {
            worker_id: worker.into(),
            answers: 50,
            accuracy,
            confusion: vec![],
            counts: vec![],
            updated_at: 0,
        };
        (worker.to_string(), e)
    }

    fn decide(
        r: &ConfidenceRule,
        given: &[(&str, &str)],
        workers: &BTreeMap<String, WorkerEstimate>,
        bought: u32,
        outstanding: u32,
    ) -> Decision {
        let a = answers(given);
        r.decide(&Evidence { answers: &a, workers, bought, outstanding })
    }

    #[test]
    fn one_answer_from_a_reliable_worker_can_be_enough() {
        let workers: BTreeMap<_, _> = [estimate("ace", 0.98), estimate("new", 0.7)].into_iter().collect();
        let d = decide(&rule(), &[("ace", "b")], &workers, 1, 0);
        assert_eq!(d.action, Action::Label { label: "b".into(), agreed: 1 });
        assert!((d.confidence.unwrap() - 0.98).abs() < 1e-9);
        // As sure, but from a worker the model has counted too few answers
        // of to judge: checked with another answer first.
        let mut barely = estimate("ace", 0.98);
        barely.1.answers = GUESSER_MIN_ANSWERS - 1;
        let unmeasured = BTreeMap::from([barely]);
        let d = decide(&rule(), &[("ace", "b")], &unmeasured, 1, 0);
        assert_eq!(d.action, Action::Buy(1));
        assert!((d.confidence.unwrap() - 0.98).abs() < 1e-9, "as sure, not yet trusted alone");
        let at_cap = ConfidenceRule { max_assignments: 1, ..rule() };
        let d = decide(&at_cap, &[("ace", "b")], &unmeasured, 1, 0);
        assert_eq!(d.action, Action::Label { label: "b".into(), agreed: 1 }, "nothing more can be bought");
        let d = decide(&rule(), &[("ace", "b"), ("ace2", "b")], &unmeasured, 2, 0);
        assert_eq!(d.action, Action::Label { label: "b".into(), agreed: 2 }, "two answers are compared");
        // Two workers the model has not seen (70 %) agreeing: .7²/(.7²+.3²) = .845.
        let d = decide(&rule(), &[("x", "a"), ("y", "a")], &BTreeMap::new(), 2, 0);
        assert_eq!(d.action, Action::Buy(1));
        assert!((d.confidence.unwrap() - 0.49 / 0.58).abs() < 1e-9);
    }

    #[test]
    fn a_spammers_answer_moves_nothing() {
        let workers: BTreeMap<_, _> = [estimate("coin", 0.5), estimate("ace", 0.97)].into_iter().collect();
        let d = decide(&rule(), &[("coin", "a"), ("coin2", "b")], &workers, 2, 0);
        assert!((d.confidence.unwrap() - 0.7).abs() < 1e-9, "only coin2 (default 70 %) says anything");
        let d = decide(&rule(), &[("coin", "a"), ("ace", "b")], &workers, 2, 0);
        assert_eq!(d.action, Action::Label { label: "b".into(), agreed: 1 });
    }

    #[test]
    fn it_waits_then_buys_then_gives_up_at_the_cap() {
        let none = BTreeMap::new();
        assert_eq!(decide(&rule(), &[("x", "a"), ("y", "b")], &none, 3, 1).action, Action::Wait);
        assert_eq!(decide(&rule(), &[], &none, 0, 0).action, Action::Buy(1));
        let min3 = ConfidenceRule { min_answers: 3, ..rule() };
        let workers: BTreeMap<_, _> = [estimate("ace", 0.99)].into_iter().collect();
        assert_eq!(decide(&min3, &[("ace", "a")], &workers, 1, 0).action, Action::Buy(2), "up to the least answers");
        let split = decide(&rule(), &[("x", "a"), ("y", "b"), ("z", "a"), ("v", "b"), ("w", "a")], &none, 5, 0);
        assert_eq!(split.action, Action::Unresolved);
        assert!((split.confidence.unwrap() - 0.7).abs() < 1e-9, "the best label's probability");
    }

    #[test]
    fn a_confusion_matrix_is_used_when_it_fits_the_labels() {
        // Says "a" whatever the truth: their "a" is worth nothing.
        let mut stuck = estimate("stuck", 0.5).1;
        stuck.confusion = vec![vec![1.0, 0.0], vec![1.0, 0.0]];
        let workers = BTreeMap::from([("stuck".to_string(), stuck)]);
        let d = decide(&rule(), &[("stuck", "a")], &workers, 1, 0);
        assert!((d.confidence.unwrap() - 0.5).abs() < 1e-9, "{d:?}");
    }
}
