//! Dawid-Skene and one-coin, fitted by EM. Start from majority vote; then
//! alternately estimate each worker's skill from the items' posteriors
//! (M-step) and each item's posterior from its workers' skills (E-step),
//! until no posterior moves by more than `TOLERANCE`. Gold items keep their
//! label throughout, so they teach the model what each worker gets right.
//!
//! The prior: a worker's counts are topped up with `prior_strength`
//! pseudo-answers per label that follow the crowd's pooled confusion (or
//! pooled accuracy), so a worker seen on two items stays near the crowd
//! and one seen on two hundred is judged on their own. Without it, EM gives
//! a worker who agreed twice a perfect score and lets them outvote others.

use super::majority::vote_shares;
use super::{probabilities, Fitted, Gold, Skill, Votes, WorkerModel};

/// Stop when no posterior moves by more than this.
const TOLERANCE: f64 = 1e-5;
const MAX_ITERATIONS: u32 = 500;
/// Keeps probabilities off zero and one (a log of zero is -infinity).
const FLOOR: f64 = 1e-10;

/// A confusion matrix per worker.
#[derive(Debug, Clone, Copy)]
pub struct DawidSkene {
    pub prior_strength: f64,
}

/// One accuracy per worker.
#[derive(Debug, Clone, Copy)]
pub struct OneCoin {
    pub prior_strength: f64,
}

impl Default for DawidSkene {
    fn default() -> Self {
        DawidSkene { prior_strength: 2.0 }
    }
}

impl Default for OneCoin {
    fn default() -> Self {
        OneCoin { prior_strength: 2.0 }
    }
}

/// The pseudo-answers per label a worker's counts are topped up with:
/// `strength` over the answers per item. Where items have many answers each
/// worker is measured against many others and needs little pulling to the
/// crowd; where they have two or three, a worker's few disagreements are
/// weak evidence and the pull must be stronger. Chosen with the replay
/// benchmark (docs/quality.md): a fixed strength was either too weak for
/// sparse jobs or too strong for web's 5 grades.
fn pseudo_answers(strength: f64, votes: &Votes) -> f64 {
    let items = votes.by_item().iter().filter(|a| !a.is_empty()).count().max(1);
    let per_item = votes.answers.len() as f64 / items as f64;
    strength / per_item.max(1.0)
}

/// The labels' prior from the posteriors (with one pseudo-item per label).
fn class_priors(posteriors: &[Vec<f64>], k: usize) -> Vec<f64> {
    let mut p = vec![1.0; k];
    for row in posteriors {
        for (c, v) in row.iter().enumerate() {
            p[c] += v;
        }
    }
    let total: f64 = p.iter().sum();
    p.into_iter().map(|v| v / total).collect()
}

/// Soft counts `counts[worker][truth][given]` and the crowd's pooled ones.
fn soft_counts(votes: &Votes, posteriors: &[Vec<f64>], k: usize) -> (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>) {
    let mut per_worker = vec![vec![vec![0.0; k]; k]; votes.workers.len()];
    let mut pooled = vec![vec![0.0; k]; k];
    for a in &votes.answers {
        for (t, p) in posteriors[a.item].iter().enumerate() {
            per_worker[a.worker][t][a.class] += p;
            pooled[t][a.class] += p;
        }
    }
    (per_worker, pooled)
}

/// `log P(given | truth)` of each worker, `[worker][truth][given]`: made
/// once per iteration, so the E-step adds instead of taking a logarithm per
/// answer and label (what makes a fit of 25,000 answers take milliseconds).
fn log_tables(skills: &[Skill], k: usize) -> Vec<Vec<Vec<f64>>> {
    skills
        .iter()
        .map(|s| (0..k).map(|t| (0..k).map(|g| s.likelihood(t, g, k).max(FLOOR).ln()).collect()).collect())
        .collect()
}

/// Each item's posterior from the workers' skills (gold pinned), written
/// over `out` (one row per item, reused across iterations: a fit of 25,000
/// answers would otherwise spend most of its time allocating rows).
fn e_step(votes: &Votes, by_item: &[Vec<usize>], skills: &[Skill], priors: &[f64], gold: &Gold, out: &mut [Vec<f64>]) {
    let k = priors.len();
    let tables = log_tables(skills, k);
    let log_priors: Vec<f64> = priors.iter().map(|p| p.ln()).collect();
    for (i, (answers, row)) in by_item.iter().zip(out.iter_mut()).enumerate() {
        if let Some(g) = gold.get(&i) {
            row.iter_mut().enumerate().for_each(|(c, v)| *v = if c == *g { 1.0 } else { 0.0 });
            continue;
        }
        row.copy_from_slice(&log_priors);
        for n in answers {
            let a = votes.answers[*n];
            let table = &tables[a.worker];
            for (t, l) in row.iter_mut().enumerate() {
                *l += table[t][a.class];
            }
        }
        exp_normalize(row);
    }
}

/// Log-probabilities to probabilities in place (the largest subtracted
/// first, so long products do not underflow).
fn exp_normalize(row: &mut [f64]) {
    let top = row.iter().copied().fold(f64::MIN, f64::max);
    let mut total = 0.0;
    for v in row.iter_mut() {
        *v = (*v - top).exp();
        total += *v;
    }
    row.iter_mut().for_each(|v| *v /= total);
}

/// EM from majority vote with `m_step` estimating the skills.
fn em(votes: &Votes, gold: &Gold, m_step: impl Fn(&[Vec<Vec<f64>>], &[Vec<f64>]) -> Vec<Skill>) -> Fitted {
    let k = votes.classes.len().max(1);
    let by_item = votes.by_item();
    let mut posteriors = vote_shares(votes, gold);
    let mut next = posteriors.clone();
    let mut skills = Vec::new();
    let mut priors = class_priors(&posteriors, k);
    let mut iterations = 0;
    while iterations < MAX_ITERATIONS {
        iterations += 1;
        let (per_worker, pooled) = soft_counts(votes, &posteriors, k);
        skills = m_step(&per_worker, &pooled);
        priors = class_priors(&posteriors, k);
        e_step(votes, &by_item, &skills, &priors, gold, &mut next);
        let moved = next
            .iter()
            .zip(&posteriors)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0, f64::max);
        std::mem::swap(&mut posteriors, &mut next);
        if moved < TOLERANCE {
            break;
        }
    }
    Fitted { posteriors, skills, priors, iterations }
}

impl WorkerModel for DawidSkene {
    fn name(&self) -> &'static str {
        "Dawid-Skene"
    }

    fn fit(&self, votes: &Votes, gold: &Gold) -> Fitted {
        let alpha = pseudo_answers(self.prior_strength, votes);
        em(votes, gold, |per_worker, pooled| {
            let crowd: Vec<Vec<f64>> = pooled.iter().map(|row| probabilities(row, FLOOR)).collect();
            per_worker
                .iter()
                .map(|m| {
                    let rows = m
                        .iter()
                        .zip(&crowd)
                        .map(|(row, prior)| {
                            let topped: Vec<f64> = row.iter().zip(prior).map(|(c, p)| c + alpha * p).collect();
                            probabilities(&topped, FLOOR)
                        })
                        .collect();
                    Skill::Confusion(rows)
                })
                .collect()
        })
    }
}

/// The share of a confusion's mass on its diagonal.
fn diagonal_share(m: &[Vec<f64>]) -> (f64, f64) {
    let right: f64 = m.iter().enumerate().map(|(t, row)| row[t]).sum();
    let all: f64 = m.iter().flatten().sum();
    (right, all)
}

impl WorkerModel for OneCoin {
    fn name(&self) -> &'static str {
        "one-coin"
    }

    fn fit(&self, votes: &Votes, gold: &Gold) -> Fitted {
        let alpha = pseudo_answers(self.prior_strength, votes);
        em(votes, gold, |per_worker, pooled| {
            let (right, all) = diagonal_share(pooled);
            let crowd = if all > 0.0 { right / all } else { 0.5 };
            per_worker
                .iter()
                .map(|m| {
                    let (right, all) = diagonal_share(m);
                    Skill::Coin(((right + alpha * crowd) / (all + alpha)).clamp(FLOOR, 1.0 - FLOOR))
                })
                .collect()
        })
    }
}
