//! Dawid-Skene refitted as answers arrive, at a cost that grows with the
//! answers new since the last refit, not with the job: what a live job's
//! refit step runs, and what `hitloop replay` simulates.
//!
//! The state is what batch EM keeps implicitly: each worker's soft counts
//! (`counts[truth][given]`, summed over the items they answered, each item
//! weighted by its posterior), the crowd's pooled counts and the labels'
//! mass. A refit takes the items touched since the last one, recomputes
//! their posteriors from the workers' current skills (a partial E-step),
//! and swaps each item's old contribution to the counts for its new one
//! (the M-step is then implicit: a skill is read off its counts). Items
//! not touched keep their last posterior: incremental EM in the sense of
//! Neal and Hinton (1998), which still climbs the likelihood.
//!
//! An item with one answer says nothing about the worker who gave it (its
//! posterior is that worker's own say), so it counts only once it has two
//! answers, or when it is gold.

use std::collections::BTreeMap;

use super::{normalized_exp, probabilities, Skill};
use crate::records::WorkerEstimate;

/// Keeps probabilities off zero and one.
const FLOOR: f64 = 1e-6;

/// One worker's soft counts, `counts[truth][given]`, and answers counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerCounts {
    pub counts: Vec<Vec<f64>>,
    pub answers: u32,
}

/// The job's side of the counts: every worker's summed, and each label's
/// mass over the items counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobCounts {
    pub pooled: Vec<Vec<f64>>,
    pub label_mass: Vec<f64>,
}

/// An item as a refit sees it: its valid answers (worker, label index), its
/// known label if it is gold, and what it added to the counts last time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemCounts {
    pub answers: Vec<(String, usize)>,
    pub gold: Option<usize>,
    pub counted: Option<Counted>,
}

/// What an item added to the counts: its posterior, spread over these
/// answers. Kept with the item, so the next refit takes exactly that out
/// (answers may arrive out of order: not a prefix of the current ones).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counted {
    pub posterior: Vec<f64>,
    pub answers: Vec<(String, usize)>,
}

/// The model's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnlineDawidSkene {
    /// The job's number of labels.
    pub labels: usize,
    /// Pseudo-answers per label following the crowd, added to each worker's counts.
    pub prior_strength: f64,
    /// What the crowd is assumed to get right before any item counted.
    pub default_accuracy: f64,
}

impl OnlineDawidSkene {
    pub fn new(labels: usize) -> OnlineDawidSkene {
        OnlineDawidSkene { labels: labels.max(1), prior_strength: 2.0, default_accuracy: 0.7 }
    }

    fn zero(&self) -> Vec<Vec<f64>> {
        vec![vec![0.0; self.labels]; self.labels]
    }

    /// The crowd's confusion: the pooled counts plus one pseudo-answer per
    /// label at the default accuracy (what a job starts from).
    pub fn crowd(&self, job: &JobCounts) -> Vec<Vec<f64>> {
        let k = self.labels;
        let wrong = (1.0 - self.default_accuracy) / (k.max(2) - 1) as f64;
        (0..k)
            .map(|t| {
                let row: Vec<f64> = (0..k)
                    .map(|g| {
                        let counted = job.pooled.get(t).and_then(|r| r.get(g)).copied().unwrap_or(0.0);
                        counted + if t == g { self.default_accuracy } else { wrong }
                    })
                    .collect();
                probabilities(&row, FLOOR)
            })
            .collect()
    }

    /// The labels' prior: their mass, plus one per label.
    pub fn priors(&self, job: &JobCounts) -> Vec<f64> {
        let row: Vec<f64> = (0..self.labels).map(|c| 1.0 + job.label_mass.get(c).copied().unwrap_or(0.0)).collect();
        let total: f64 = row.iter().sum();
        row.into_iter().map(|v| v / total).collect()
    }

    /// A worker's confusion: their counts topped up with `prior_strength`
    /// pseudo-answers per label following the crowd.
    pub fn skill(&self, worker: Option<&WorkerCounts>, crowd: &[Vec<f64>]) -> Skill {
        let rows = crowd
            .iter()
            .enumerate()
            .map(|(t, prior)| {
                let own = worker.and_then(|w| w.counts.get(t));
                let topped: Vec<f64> = prior
                    .iter()
                    .enumerate()
                    .map(|(g, p)| own.and_then(|r| r.get(g)).copied().unwrap_or(0.0) + self.prior_strength * p)
                    .collect();
                probabilities(&topped, FLOOR)
            })
            .collect();
        Skill::Confusion(rows)
    }

    /// Refits on `items` (the ones touched since the last refit, each with
    /// all its answers): their posteriors from the current skills, their
    /// contributions to `workers` and `job` swapped for the new ones.
    /// `workers` must hold every worker who answered them (a worker not
    /// there yet is added).
    pub fn refit(&self, job: &mut JobCounts, workers: &mut BTreeMap<String, WorkerCounts>, items: &mut [ItemCounts]) {
        let k = self.labels;
        if !is_square(&job.pooled, k) {
            job.pooled = self.zero();
        }
        if job.label_mass.len() != k {
            job.label_mass = vec![0.0; k];
        }
        let crowd = self.crowd(job);
        let priors = self.priors(job);
        // Skills as they stand before this refit: the partial E-step reads them.
        let mut skills: BTreeMap<&str, Skill> = BTreeMap::new();
        for item in items.iter() {
            for (w, _) in &item.answers {
                skills.entry(w.as_str()).or_insert_with(|| self.skill(workers.get(w), &crowd));
            }
        }
        let posteriors: Vec<Vec<f64>> = items.iter().map(|item| self.posterior(item, &skills, &priors)).collect();
        for (item, posterior) in items.iter_mut().zip(posteriors) {
            if let Some(old) = item.counted.take() {
                self.add(job, workers, &old.answers, &old.posterior, -1.0);
            }
            if item.gold.is_some() || item.answers.len() >= 2 {
                self.add(job, workers, &item.answers, &posterior, 1.0);
                item.counted = Some(Counted { posterior, answers: item.answers.clone() });
            }
        }
    }

    /// The posterior of an item from the workers' skills (gold: its label).
    fn posterior(&self, item: &ItemCounts, skills: &BTreeMap<&str, Skill>, priors: &[f64]) -> Vec<f64> {
        let k = self.labels;
        if let Some(g) = item.gold {
            return (0..k).map(|c| if c == g { 1.0 } else { 0.0 }).collect();
        }
        let mut log: Vec<f64> = priors.iter().map(|p| p.ln()).collect();
        for (w, given) in item.answers.iter().filter(|(_, g)| *g < k) {
            let Some(skill) = skills.get(w.as_str()) else { continue };
            for (t, l) in log.iter_mut().enumerate() {
                *l += skill.likelihood(t, *given, k).max(FLOOR).ln();
            }
        }
        normalized_exp(&log)
    }

    /// Adds `sign` × an item's contribution (its posterior on each answer).
    fn add(
        &self,
        job: &mut JobCounts,
        workers: &mut BTreeMap<String, WorkerCounts>,
        answers: &[(String, usize)],
        posterior: &[f64],
        sign: f64,
    ) {
        if posterior.len() != self.labels {
            return;
        }
        for (t, p) in posterior.iter().enumerate() {
            job.label_mass[t] += sign * p;
        }
        // A label index the job does not have (a record written for other
        // labels) is skipped, never indexed.
        for (w, given) in answers.iter().filter(|(_, g)| *g < self.labels) {
            let counts = workers.entry(w.clone()).or_default();
            if !is_square(&counts.counts, self.labels) {
                counts.counts = self.zero();
            }
            for (t, p) in posterior.iter().enumerate() {
                counts.counts[t][*given] += sign * p;
                job.pooled[t][*given] += sign * p;
            }
            counts.answers = if sign > 0.0 { counts.answers + 1 } else { counts.answers.saturating_sub(1) };
        }
    }
}

/// Whether `m` is `k` rows of `k` (what stored counts must be to be added to).
pub fn is_square(m: &[Vec<f64>], k: usize) -> bool {
    m.len() == k && m.iter().all(|row| row.len() == k)
}

impl OnlineDawidSkene {
    /// What the confidence rule reads of a worker (and what the next refit
    /// adds to: the counts).
    pub fn estimate(&self, worker_id: &str, worker: Option<&WorkerCounts>, job: &JobCounts, at: i64) -> WorkerEstimate {
        let skill = self.skill(worker, &self.crowd(job));
        let accuracy = skill.accuracy(&self.priors(job));
        let confusion = match skill {
            Skill::Confusion(m) => m,
            Skill::Coin(_) => Vec::new(),
        };
        WorkerEstimate {
            worker_id: worker_id.to_string(),
            answers: worker.map_or(0, |w| w.answers),
            accuracy,
            confusion,
            counts: worker.map(|w| w.counts.clone()).unwrap_or_default(),
            updated_at: at,
        }
    }

    /// The crowd's estimate, under [`CROWD`](super::CROWD): what a worker
    /// not fitted yet is assumed to be.
    pub fn crowd_estimate(&self, job: &JobCounts, at: i64) -> WorkerEstimate {
        let confusion = self.crowd(job);
        let accuracy = Skill::Confusion(confusion.clone()).accuracy(&self.priors(job));
        let answers = job.pooled.iter().flatten().sum::<f64>().round().max(0.0) as u32;
        WorkerEstimate {
            worker_id: super::CROWD.to_string(),
            answers,
            accuracy,
            confusion,
            counts: job.pooled.clone(),
            updated_at: at,
        }
    }
}
