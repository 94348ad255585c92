//! Worker models for classification: from workers' answers (and items whose
//! label is known, "gold"), each item's posterior over the labels and each
//! worker's skill. Pure and deterministic: the same answers always give the
//! same fit.
//!
//! Models: majority vote (the baseline), one-coin (each worker is right with
//! one probability) and Dawid-Skene (a confusion matrix per worker), both
//! fitted by EM with a prior that keeps a worker who answered few items near
//! the crowd's average. Another task type (multi-label, free text, boxes)
//! gets its own [`WorkerModel`] over its own answers.

mod dawid_skene;
mod final_labels;
pub mod formats;
mod gold;
mod guessers;
mod majority;
mod online;
pub mod replay;
mod stopping;
mod votes;

pub use dawid_skene::{DawidSkene, OneCoin};
pub use final_labels::{fit_counted, fit_job, relabel, JobFit, WorkerQuality};
pub use gold::{gold_label, gold_of, tallies, verdict, GoldMix, GoldRule, GoldTally, GOLD_COLUMN};
pub use guessers::guesser_verdict;
pub use majority::MajorityVote;
pub use online::{is_square, Counted, ItemCounts, JobCounts, OnlineDawidSkene, WorkerCounts};
pub use stopping::ConfidenceRule;
pub use votes::{Gold, Vote, Votes};

/// The estimate standing for the crowd as a whole among a job's worker
/// estimates: what a worker the model has not seen yet is taken for. Not a
/// worker id MTurk could issue (those are letters and digits).
pub const CROWD: &str = "*";

/// What a model knows of one worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Skill {
    /// Right with this probability; a wrong answer is any other label alike.
    Coin(f64),
    /// `confusion[truth][given]`, each row summing to one.
    Confusion(Vec<Vec<f64>>),
}

impl Skill {
    /// P(the worker answers `given` | the label is `truth`) over `classes`.
    pub fn likelihood(&self, truth: usize, given: usize, classes: usize) -> f64 {
        match self {
            Skill::Coin(p) if truth == given => *p,
            Skill::Coin(p) => (1.0 - p) / (classes.max(2) - 1) as f64,
            Skill::Confusion(m) => m.get(truth).and_then(|row| row.get(given)).copied().unwrap_or(0.0),
        }
    }

    /// The probability the worker's answer is right, labels weighted by
    /// `priors`.
    pub fn accuracy(&self, priors: &[f64]) -> f64 {
        match self {
            Skill::Coin(p) => *p,
            Skill::Confusion(m) => priors.iter().enumerate().map(|(k, p)| p * m[k][k]).sum(),
        }
    }
}

/// A model's fit: each item's posterior over the labels, each worker's
/// skill, the labels' prior, and the EM iterations it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub posteriors: Vec<Vec<f64>>,
    pub skills: Vec<Skill>,
    pub priors: Vec<f64>,
    pub iterations: u32,
}

impl Fitted {
    /// The item's most probable label and its probability (the lowest label
    /// index on a tie, so a fit always decides the same way).
    pub fn label(&self, item: usize) -> (usize, f64) {
        best(&self.posteriors[item])
    }
}

/// The index and value of the largest entry (the first on a tie).
pub fn best(p: &[f64]) -> (usize, f64) {
    p.iter().enumerate().fold((0, f64::MIN), |(bi, bv), (i, v)| if *v > bv { (i, *v) } else { (bi, bv) })
}

/// A way to fit answers.
pub trait WorkerModel {
    fn name(&self) -> &'static str;
    fn fit(&self, votes: &Votes, gold: &Gold) -> Fitted;
}

/// The posterior over `classes` labels of one item from its answers, given
/// the labels' prior and what is known of each answering worker: what
/// collect needs to decide one item without refitting anything.
pub fn posterior(priors: &[f64], answers: &[(&Skill, usize)]) -> Vec<f64> {
    let classes = priors.len();
    let mut log: Vec<f64> = priors.iter().map(|p| p.max(1e-300).ln()).collect();
    for (skill, given) in answers {
        for (k, l) in log.iter_mut().enumerate() {
            *l += skill.likelihood(k, *given, classes).max(1e-300).ln();
        }
    }
    normalized_exp(&log)
}

/// `row` scaled to sum to one (negative entries taken as zero; uniform when
/// nothing is left), each entry kept `floor` off zero and one.
pub(crate) fn probabilities(row: &[f64], floor: f64) -> Vec<f64> {
    let total: f64 = row.iter().map(|v| v.max(0.0)).sum();
    if total <= 0.0 {
        return vec![1.0 / row.len().max(1) as f64; row.len()];
    }
    row.iter().map(|v| (v.max(0.0) / total).clamp(floor, 1.0 - floor)).collect()
}

/// exp of log-probabilities, normalised (the largest subtracted first, so
/// long products do not underflow).
pub(crate) fn normalized_exp(log: &[f64]) -> Vec<f64> {
    let top = log.iter().copied().fold(f64::MIN, f64::max);
    let e: Vec<f64> = log.iter().map(|l| (l - top).exp()).collect();
    let total: f64 = e.iter().sum();
    e.into_iter().map(|v| v / total).collect()
}

#[cfg(test)]
mod online_tests;
#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod tests;
