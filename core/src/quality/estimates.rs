//! What a fit knows of each worker, in the shape the pipeline stores per job
//! and worker and the confidence rule reads: each worker's accuracy and
//! confusion matrix, and the crowd's (under [`CROWD`]) for a worker the
//! model has not seen yet.

use std::collections::BTreeMap;

use crate::records::WorkerEstimate;

use super::{Fitted, Skill, Votes};

/// The estimate standing for the crowd as a whole: the answers-weighted
/// average of the workers' confusion matrices. Not a worker id MTurk could
/// issue (those are letters and digits).
pub const CROWD: &str = "*";

/// Every worker's estimate from `fit` (of `votes`), and the crowd's.
pub fn estimates(votes: &Votes, fit: &Fitted, updated_at: i64) -> BTreeMap<String, WorkerEstimate> {
    let k = votes.classes.len();
    let mut answers = vec![0u32; votes.workers.len()];
    for a in &votes.answers {
        answers[a.worker] += 1;
    }
    let mut out = BTreeMap::new();
    let mut pooled = vec![vec![0.0; k]; k];
    let mut total = 0u32;
    for ((worker, skill), n) in votes.workers.iter().zip(&fit.skills).zip(&answers) {
        let confusion = confusion_of(skill, k);
        for (row, add) in pooled.iter_mut().zip(&confusion) {
            row.iter_mut().zip(add).for_each(|(p, v)| *p += v * f64::from(*n));
        }
        total += n;
        let accuracy = skill.accuracy(&fit.priors);
        let estimate = WorkerEstimate {
            worker_id: worker.clone(),
            answers: *n,
            accuracy,
            confusion,
            counts: Vec::new(),
            updated_at,
        };
        out.insert(worker.clone(), estimate);
    }
    if total > 0 {
        for row in &mut pooled {
            row.iter_mut().for_each(|v| *v /= f64::from(total));
        }
        let accuracy = Skill::Confusion(pooled.clone()).accuracy(&fit.priors);
        let crowd = WorkerEstimate {
            worker_id: CROWD.into(),
            answers: total,
            accuracy,
            confusion: pooled,
            counts: Vec::new(),
            updated_at,
        };
        out.insert(CROWD.into(), crowd);
    }
    out
}

/// A skill as a confusion matrix over `k` labels.
fn confusion_of(skill: &Skill, k: usize) -> Vec<Vec<f64>> {
    (0..k).map(|t| (0..k).map(|g| skill.likelihood(t, g, k)).collect()).collect()
}
