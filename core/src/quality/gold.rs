//! Gold items: manifest rows whose label is known, marked by a `gold`
//! column holding one of the job's labels. The worker model pins them to
//! that label, so they teach it what each worker gets right; they get the
//! job's first assignments and no more, and are left out of its outputs.

use std::collections::BTreeMap;

use crate::decision::{Action, Decision, DecisionRule, Evidence};
use crate::job::{GoldSpec, JobSpec};
use crate::records::{AnswerRecord, Item, WorkerStanding};

/// The manifest column that marks an item as gold: its known label.
pub const GOLD_COLUMN: &str = "gold";

/// The item's gold label's index, if its manifest row gives one of the
/// job's labels.
pub fn gold_of(spec: &JobSpec, item: &Item) -> Option<usize> {
    gold_label(spec, &item.values)
}

/// The gold label's index of a manifest row's values.
pub fn gold_label(spec: &JobSpec, values: &BTreeMap<String, String>) -> Option<usize> {
    let g = values.get(GOLD_COLUMN)?.trim();
    spec.labels.iter().position(|l| l == g)
}

/// Which gold rows become items when `gold.share` caps them: at most
/// `share` of the job's items are gold, chosen evenly through the manifest
/// (so where the rows sit does not matter), the same every time the
/// manifest is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoldMix {
    /// The gold rows used.
    pub quota: u64,
    gold_rows: u64,
    seen: u64,
}

impl GoldMix {
    /// For a manifest of `gold_rows` gold rows and `ordinary_rows` others.
    pub fn new(spec: &GoldSpec, gold_rows: u64, ordinary_rows: u64) -> GoldMix {
        let quota = match spec.share {
            // gold / (gold + ordinary) <= share
            Some(share) => gold_rows.min((share * ordinary_rows as f64 / (1.0 - share)).floor() as u64),
            None => gold_rows,
        };
        GoldMix { quota, gold_rows, seen: 0 }
    }

    /// Every gold row, however many (a job with no share).
    pub fn every() -> GoldMix {
        GoldMix { quota: 1, gold_rows: 1, seen: 0 }
    }

    /// Whether the next gold row, in manifest order, is used.
    pub fn admit(&mut self) -> bool {
        let k = self.seen;
        self.seen += 1;
        if self.quota == self.gold_rows {
            return true;
        }
        self.gold_rows > 0 && (k + 1) * self.quota / self.gold_rows > k * self.quota / self.gold_rows
    }
}

/// What a gold item's new answers add to each worker's gold record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldTally {
    pub worker_id: String,
    pub answers: u32,
    pub correct: u32,
}

/// The tallies of `record` (new answers to a gold item labeled `gold`);
/// an invalid answer counts as wrong.
pub fn tallies(gold: &str, record: &[AnswerRecord]) -> Vec<GoldTally> {
    let mut out: Vec<GoldTally> = Vec::new();
    for a in record {
        let correct = u32::from(a.label.as_deref() == Some(gold));
        match out.iter_mut().find(|t| t.worker_id == a.worker_id) {
            Some(t) => {
                t.answers += 1;
                t.correct += correct;
            }
            None => out.push(GoldTally { worker_id: a.worker_id.clone(), answers: 1, correct }),
        }
    }
    out
}

/// How sure the job must be that a worker is below `block_below` to block them.
pub const BLOCK_CERTAINTY: f64 = 0.95;

/// Why the worker should be blocked, if they should: at least
/// `min_answers` gold answers, and the probability that their accuracy is
/// below `block_below` at least [`BLOCK_CERTAINTY`] (a uniform prior on
/// the accuracy: a few unlucky answers do not block a good worker).
pub fn verdict(spec: &GoldSpec, standing: &WorkerStanding) -> Option<String> {
    let threshold = spec.block_below?;
    let (n, c) = (standing.gold_answers, standing.gold_correct.min(standing.gold_answers));
    if n < spec.min_answers() || standing.blocked.is_some() {
        return None;
    }
    let below = beta_cdf(threshold, c + 1, n - c + 1);
    (below >= BLOCK_CERTAINTY).then(|| {
        format!(
            "{c} of {n} answers right on items whose label is known ({:.0} %): the job is {:.0} % sure the worker is right less than {:.0} % of the time",
            100.0 * f64::from(c) / f64::from(n),
            100.0 * below,
            100.0 * threshold
        )
    })
}

/// P(X <= x) for X ~ Beta(a, b) with whole a, b: the chance that
/// Binomial(a + b - 1, x) reaches a. The binomial terms are summed in log
/// space: (1 - x)^n underflows to zero for a worker with a thousand gold
/// answers, and a sum started from zero would stay there.
fn beta_cdf(x: f64, a: u32, b: u32) -> f64 {
    let n = a + b - 1;
    let (ln_x, ln_rest) = (x.ln(), (1.0 - x).ln());
    // ln P(Binomial = k) for k < a, each from the one before.
    let mut ln_terms = Vec::with_capacity(a as usize);
    let mut ln_term = f64::from(n) * ln_rest;
    for k in 0..a {
        ln_terms.push(ln_term);
        ln_term += (f64::from(n - k) / f64::from(k + 1)).ln() + ln_x - ln_rest;
    }
    let top = ln_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let below = top.exp() * ln_terms.iter().map(|t| (t - top).exp()).sum::<f64>();
    (1.0 - below).clamp(0.0, 1.0)
}

/// How a gold item is decided: its label is known, so its answers are
/// bought only to measure the workers who give them (the job's first
/// assignments, never more); once they are in, it takes the known label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldRule {
    pub label: String,
}

impl DecisionRule for GoldRule {
    fn decide(&self, e: &Evidence<'_>) -> Decision {
        if e.outstanding > 0 {
            return Decision { action: Action::Wait, confidence: Some(1.0) };
        }
        let agreed = e.answers.iter().filter(|a| a.label.as_deref() == Some(self.label.as_str())).count() as u32;
        Decision { action: Action::Label { label: self.label.clone(), agreed }, confidence: Some(1.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(answers: u32, correct: u32) -> WorkerStanding {
        WorkerStanding { worker_id: "W".into(), gold_answers: answers, gold_correct: correct, ..Default::default() }
    }

    #[test]
    fn the_beta_distribution_adds_up() {
        // Beta(1, 1) is uniform; Beta(2, 1) has P(X <= x) = x^2.
        assert!((beta_cdf(0.3, 1, 1) - 0.3).abs() < 1e-12);
        assert!((beta_cdf(0.6, 2, 1) - 0.36).abs() < 1e-12);
        assert!((beta_cdf(0.6, 2, 5) - 0.959).abs() < 1e-3, "1 right of 5 at 60 %");
        // Thousands of answers: no underflow either way.
        assert!(beta_cdf(0.6, 1901, 101) < 1e-9, "1,900 right of 2,000 is not below 60 %");
        assert!(beta_cdf(0.6, 1001, 1001) > 1.0 - 1e-9, "1,000 right of 2,000 is");
    }

    #[test]
    fn a_worker_is_blocked_only_when_the_job_is_sure_they_are_below_the_bar() {
        let spec = GoldSpec { block_below: Some(0.6), ..GoldSpec::default() };
        assert_eq!(verdict(&spec, &standing(3, 0)), None, "fewer than 4 gold answers: not judged");
        assert_eq!(verdict(&spec, &standing(4, 1)), None, "1 of 4: 91 % sure, not enough");
        let why = verdict(&spec, &standing(5, 1)).expect("1 of 5: 96 % sure");
        assert!(why.starts_with("1 of 5 answers right"), "{why}");
        assert_eq!(verdict(&spec, &standing(20, 11)), None, "55 % on 20: could well be 60 %");
        assert!(verdict(&spec, &standing(40, 16)).is_some(), "40 % on 40: surely below");
        assert_eq!(verdict(&spec, &standing(2000, 1900)), None, "a good worker with many gold answers");
        assert_eq!(verdict(&spec, &standing(4, 4)), None);
        let mut blocked = standing(10, 0);
        blocked.blocked = Some("before".into());
        assert_eq!(verdict(&spec, &blocked), None, "blocked once");
        assert_eq!(verdict(&GoldSpec::default(), &standing(10, 0)), None, "the job blocks nobody");
    }

    #[test]
    fn tallies_count_each_workers_right_and_wrong_answers() {
        let a = |w: &str, l: Option<&str>| AnswerRecord {
            assignment_id: format!("A{w}{l:?}"),
            worker_id: w.into(),
            label: l.map(str::to_string),
            invalid_reason: l.is_none().then(|| "empty".to_string()),
            submitted_at: 0,
        };
        let t = tallies("dog", &[a("W1", Some("dog")), a("W2", Some("cat")), a("W2", None)]);
        assert_eq!(
            t,
            vec![
                GoldTally { worker_id: "W1".into(), answers: 1, correct: 1 },
                GoldTally { worker_id: "W2".into(), answers: 2, correct: 0 }
            ]
        );
    }

    #[test]
    fn the_share_picks_gold_rows_evenly_wherever_they_are() {
        let pick = |share: Option<f64>, gold: u64, ordinary: u64| {
            let mut mix = GoldMix::new(&GoldSpec { share, ..GoldSpec::default() }, gold, ordinary);
            (0..gold).map(|_| mix.admit()).collect::<Vec<bool>>()
        };
        assert_eq!(pick(None, 3, 10), vec![true; 3], "no share: every gold row");
        let used = pick(Some(0.1), 20, 90);
        assert_eq!(used.iter().filter(|u| **u).count(), 10, "10 gold of 100 items");
        assert_eq!(used.iter().step_by(2).filter(|u| **u).count(), 0, "every other one, not the first ten");
        assert_eq!(pick(Some(0.5), 3, 100), vec![true; 3], "fewer gold rows than the share allows: all");
        assert_eq!(pick(Some(0.1), 5, 0), vec![false; 5], "no ordinary rows: no gold");
    }

    #[test]
    fn a_gold_item_takes_its_label_once_its_answers_are_in_and_buys_nothing_more() {
        let spec = JobSpec::parse(r#"{"labels": ["cat", "dog"]}"#).unwrap();
        let mut item = Item::pending("j", "g", 2, [("gold".to_string(), " dog ".to_string())].into(), 0);
        assert_eq!(gold_of(&spec, &item), Some(1));
        item.values.insert("gold".into(), "bird".into());
        assert_eq!(gold_of(&spec, &item), None, "not one of the job's labels: an ordinary item");
        let answers = vec![AnswerRecord {
            assignment_id: "A".into(),
            worker_id: "W".into(),
            label: Some("cat".into()),
            invalid_reason: None,
            submitted_at: 0,
        }];
        let workers = BTreeMap::new();
        let rule = GoldRule { label: "dog".into() };
        let e = |outstanding| Evidence { answers: &answers, workers: &workers, bought: 2, outstanding };
        assert_eq!(rule.decide(&e(1)).action, Action::Wait);
        assert_eq!(rule.decide(&e(0)).action, Action::Label { label: "dog".into(), agreed: 0 }, "the worker was wrong");
    }
}
