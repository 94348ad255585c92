//! Majority vote: an item's posterior is the share of its answers for each
//! label (gold items pinned to their label); every worker counts alike.

use super::{Fitted, Gold, Skill, Votes, WorkerModel};

pub struct MajorityVote;

/// Each item's share of answers per label (uniform for an item without
/// answers), gold pinned.
pub(crate) fn vote_shares(votes: &Votes, gold: &Gold) -> Vec<Vec<f64>> {
    let k = votes.classes.len().max(1);
    let mut counts = vec![vec![0.0; k]; votes.items.len()];
    for a in &votes.answers {
        counts[a.item][a.class] += 1.0;
    }
    for (i, row) in counts.iter_mut().enumerate() {
        if let Some(g) = gold.get(&i) {
            row.iter_mut().enumerate().for_each(|(c, v)| *v = if c == *g { 1.0 } else { 0.0 });
            continue;
        }
        let total: f64 = row.iter().sum();
        if total > 0.0 {
            row.iter_mut().for_each(|v| *v /= total);
        } else {
            row.iter_mut().for_each(|v| *v = 1.0 / k as f64);
        }
    }
    counts
}

impl WorkerModel for MajorityVote {
    fn name(&self) -> &'static str {
        "majority vote"
    }

    fn fit(&self, votes: &Votes, gold: &Gold) -> Fitted {
        let k = votes.classes.len().max(1);
        Fitted {
            posteriors: vote_shares(votes, gold),
            skills: vec![Skill::Coin(1.0 - 1.0 / (k as f64 + 1.0)); votes.workers.len()],
            priors: vec![1.0 / k as f64; k],
            iterations: 0,
        }
    }
}
