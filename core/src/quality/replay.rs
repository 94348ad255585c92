//! Replaying recorded answers as if they were being bought: what a policy
//! would have spent and got on a dataset whose true labels are known, before
//! any money is spent. What `hitloop replay` runs.
//!
//! One run is a live job: items in a random order, each posted with the
//! policy's first assignments, every bought assignment served in turn
//! (first bought, first answered) by one of the item's recorded answers,
//! drawn at random without replacement. After each answer the item is
//! decided by the very rule collect runs ([`DecisionRule`]), knowing only
//! what a live job would: the answers so far and the worker estimates as
//! last refitted by the online model (refitted every `refit_every` answers).
//! A share of the items with a known label is gold: its label is known to
//! the model, its answers (the policy's first assignments, as a live job
//! buys them) are paid like any other, and it is not scored. An item whose
//! recorded answers run out is at its cap. When every item is decided, a
//! confidence policy makes the final check as sweep does: the model
//! refitted, each label it now doubts bought on (see
//! [`FinalCheck`](crate::records::FinalCheck)).
//!
//! Scored on the items that are not gold and have a true label: the
//! agreement rule's labels are its own (an unresolved item's: the label most
//! answers gave); the other policies' come from Dawid-Skene over every answer
//! bought, gold pinned, as a finished job's do.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::formats::Recorded;
use super::{
    best, guesser_verdict, DawidSkene, Gold, ItemCounts, JobCounts, OnlineDawidSkene, Votes, WorkerCounts, WorkerModel,
    CROWD,
};
use crate::decision::{Action, AgreementRule, Decision, DecisionRule, Evidence};
use crate::job::ConsensusSpec;
use crate::records::{AnswerRecord, WorkerEstimate};

use super::ConfidenceRule;

/// Recorded answers with each item's true label, if known.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub votes: Votes,
    pub truth: Vec<Option<usize>>,
}

impl Dataset {
    /// Items are the ones with answers; a true label no answer gave is
    /// added to the labels.
    pub fn new(recorded: &Recorded) -> Dataset {
        let mut votes =
            Votes::from_answers(recorded.answers.iter().map(|(i, w, l)| (i.as_str(), w.as_str(), l.as_str())), None);
        let mut truth = vec![None; votes.items.len()];
        for (n, item) in votes.items.iter().enumerate() {
            let Some(label) = recorded.truth.get(item) else { continue };
            let class = match votes.classes.iter().position(|c| c == label) {
                Some(c) => c,
                None => {
                    votes.classes.push(label.clone());
                    votes.classes.len() - 1
                }
            };
            truth[n] = Some(class);
        }
        Dataset { votes, truth }
    }

    /// Items with a true label.
    pub fn known(&self) -> usize {
        self.truth.iter().filter(|t| t.is_some()).count()
    }
}

/// How answers are bought.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// The seed's rule: `initial` answers, one more until `agreement` of
    /// them agree, at most `most`.
    Agreement { initial: u32, agreement: u32, most: u32 },
    /// `k` answers per item, whatever they say.
    FixedK { k: u32 },
    /// Confidence stopping: at least `least` answers, one more until the top
    /// label's probability reaches `target`, at most `most`; `gold_share` of
    /// the items are gold; the model blocks workers below `block_guessers`
    /// of the way from guessing to the crowd (0: nobody).
    Confidence { target: f64, least: u32, most: u32, gold_share: f64, block_guessers: f64 },
}

/// How the replay runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Runs (orders) averaged.
    pub runs: u32,
    pub seed: u64,
    /// Answers between refits of the worker estimates.
    pub refit_every: usize,
}

impl Settings {
    /// Refits about twenty times per pass over the items.
    pub fn for_dataset(data: &Dataset, runs: u32, seed: u64) -> Settings {
        Settings { runs, seed, refit_every: (data.votes.items.len() / 20).max(10) }
    }
}

/// A policy's figures, averaged over the runs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    /// Answers bought (gold's too) per item scored as output.
    pub labels_per_item: f64,
    /// Share of the scored items whose final label is the true one.
    pub accuracy: f64,
    /// Share of the output items left unresolved.
    pub unresolved: f64,
    /// Share of the output items the final check reopened and bought on.
    pub reopened: f64,
}

/// Replays `policy` on `data`.
pub fn replay(data: &Dataset, policy: &Policy, settings: &Settings) -> Outcome {
    let runs = settings.runs.max(1);
    let mut sum = Outcome::default();
    for run in 0..runs {
        let o = Job::new(data, policy, settings, settings.seed.wrapping_add(u64::from(run))).run();
        sum.labels_per_item += o.labels_per_item;
        sum.accuracy += o.accuracy;
        sum.unresolved += o.unresolved;
        sum.reopened += o.reopened;
    }
    let n = f64::from(runs);
    Outcome {
        labels_per_item: sum.labels_per_item / n,
        accuracy: sum.accuracy / n,
        unresolved: sum.unresolved / n,
        reopened: sum.reopened / n,
    }
}

/// One simulated job.
struct Job<'a> {
    data: &'a Dataset,
    policy: &'a Policy,
    settings: &'a Settings,
    rng: ChaCha8Rng,
    /// Each item's recorded answers (indexes into `votes.answers`), shuffled.
    pools: Vec<Vec<usize>>,
    gold: BTreeSet<usize>,
    bought: Vec<u32>,
    drawn: Vec<u32>,
    answers: Vec<Vec<AnswerRecord>>,
    /// Each decided item's label (None: unresolved).
    decided: Vec<Option<Option<usize>>>,
    /// Items the final check reopened.
    reopened: usize,
    model: Model,
    /// Workers the model blocked: they take no more assignments, and their
    /// answers count nowhere: not in decisions, not in the online estimates
    /// (taken out at the next refit), not in the final fit.
    blocked: BTreeSet<String>,
}

/// The online model and what collect would read of it.
struct Model {
    online: OnlineDawidSkene,
    job: JobCounts,
    workers: BTreeMap<String, WorkerCounts>,
    items: Vec<ItemCounts>,
    touched: BTreeSet<usize>,
    since_refit: usize,
    estimates: BTreeMap<String, WorkerEstimate>,
}

impl Model {
    fn refit(&mut self) {
        let ids: Vec<usize> = std::mem::take(&mut self.touched).into_iter().collect();
        let mut batch: Vec<ItemCounts> = ids.iter().map(|i| std::mem::take(&mut self.items[*i])).collect();
        self.online.refit(&mut self.job, &mut self.workers, &mut batch);
        let mut changed = BTreeSet::new();
        for (i, item) in ids.iter().zip(batch) {
            changed.extend(item.answers.iter().map(|(w, _)| w.clone()));
            self.items[*i] = item;
        }
        for w in changed {
            let e = self.online.estimate(&w, self.workers.get(&w), &self.job, 0);
            self.estimates.insert(w, e);
        }
        self.estimates.insert(CROWD.into(), self.online.crowd_estimate(&self.job, 0));
        self.since_refit = 0;
    }
}

impl<'a> Job<'a> {
    fn new(data: &'a Dataset, policy: &'a Policy, settings: &'a Settings, seed: u64) -> Job<'a> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = data.votes.items.len();
        let mut pools = data.votes.by_item();
        for p in &mut pools {
            p.shuffle(&mut rng);
        }
        let mut gold = BTreeSet::new();
        if let Policy::Confidence { gold_share, .. } = policy {
            let mut known: Vec<usize> = (0..n).filter(|i| data.truth[*i].is_some()).collect();
            known.shuffle(&mut rng);
            let wanted = (gold_share.clamp(0.0, 1.0) * n as f64).round() as usize;
            gold.extend(known.into_iter().take(wanted));
        }
        let mut items = vec![ItemCounts::default(); n];
        for g in &gold {
            items[*g].gold = data.truth[*g];
        }
        let model = Model {
            online: OnlineDawidSkene::new(data.votes.classes.len()),
            job: JobCounts::default(),
            workers: BTreeMap::new(),
            items,
            touched: BTreeSet::new(),
            since_refit: 0,
            estimates: BTreeMap::new(),
        };
        Job {
            data,
            policy,
            settings,
            rng,
            pools,
            gold,
            bought: vec![0; n],
            drawn: vec![0; n],
            answers: vec![Vec::new(); n],
            decided: vec![None; n],
            reopened: 0,
            model,
            blocked: BTreeSet::new(),
        }
    }

    fn rule(&self) -> Option<Box<dyn DecisionRule>> {
        match *self.policy {
            Policy::Agreement { agreement, most, .. } => {
                Some(Box::new(AgreementRule { agreement, max_assignments: most }))
            }
            Policy::FixedK { .. } => None,
            Policy::Confidence { target, least, most, .. } => Some(Box::new(ConfidenceRule {
                labels: self.data.votes.classes.clone(),
                target,
                min_answers: least,
                max_assignments: most,
                default_accuracy: crate::decision::DEFAULT_ACCURACY,
            })),
        }
    }

    /// Buys up to `n` assignments for `item` (no more than it has recorded answers).
    fn buy(&mut self, queue: &mut VecDeque<usize>, item: usize, n: u32) {
        let left = (self.pools[item].len() as u32).saturating_sub(self.bought[item]);
        for _ in 0..n.min(left) {
            queue.push_back(item);
        }
        self.bought[item] += n.min(left);
    }

    fn run(mut self) -> Outcome {
        let n = self.data.votes.items.len();
        let rule = self.rule();
        let initial = match *self.policy {
            Policy::Agreement { initial, .. } => initial,
            Policy::FixedK { k } => k,
            Policy::Confidence { least, .. } => least.max(1),
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.rng);
        let mut queue = VecDeque::new();
        // A gold item gets the job's first assignments, never more.
        for i in order {
            self.buy(&mut queue, i, initial);
        }
        let Some(rule) = rule else {
            while let Some(i) = queue.pop_front() {
                self.answer(i);
            }
            return self.score();
        };
        self.serve(&mut queue, rule.as_ref());
        // The final check, as sweep makes it once every item is decided.
        if rule.uses_worker_estimates() {
            self.model.refit();
            self.judge(&mut queue, rule.as_ref());
            // The check asks what the model the labels will come from (the
            // fit over every answer) makes of each label.
            let fitted = self.fitted_estimates();
            for i in 0..n {
                if self.gold.contains(&i) || !matches!(self.decided[i], Some(Some(_))) {
                    continue;
                }
                if let Action::Buy(more) = self.decide_with(rule.as_ref(), i, &fitted).action {
                    self.decided[i] = None;
                    self.reopened += 1;
                    self.buy(&mut queue, i, more);
                }
            }
            self.serve(&mut queue, rule.as_ref());
        }
        self.score()
    }

    /// Serves the bought assignments in turn, deciding each item after each
    /// answer, until nothing is left to serve.
    fn serve(&mut self, queue: &mut VecDeque<usize>, rule: &dyn DecisionRule) {
        let uses_model = rule.uses_worker_estimates();
        while let Some(i) = queue.pop_front() {
            self.answer(i);
            if uses_model && self.model.since_refit >= self.settings.refit_every {
                self.model.refit();
                self.judge(queue, rule);
            }
            if self.gold.contains(&i) || self.decided[i].is_some() {
                continue;
            }
            let action = self.decide(rule, i).action;
            self.act(queue, i, action);
        }
    }

    fn act(&mut self, queue: &mut VecDeque<usize>, item: usize, action: Action) {
        match action {
            Action::Label { label, .. } => self.decided[item] = Some(self.data.votes.class(&label)),
            Action::Unresolved => self.decided[item] = Some(None),
            Action::Buy(more) => self.buy(queue, item, more),
            Action::Wait => {}
        }
    }

    /// What collect does after a refit: blocks the workers the model now
    /// finds guessing, then re-decides, as sweep does, each decided item
    /// they answered: a label that still stands without their answers is
    /// left alone; another is reopened and decided anew.
    fn judge(&mut self, queue: &mut VecDeque<usize>, rule: &dyn DecisionRule) {
        let Policy::Confidence { block_guessers, .. } = *self.policy else { return };
        if block_guessers <= 0.0 {
            return;
        }
        let Some(crowd) = self.model.estimates.get(CROWD) else { return };
        let labels = self.data.votes.classes.len();
        let newly: BTreeSet<String> = self
            .model
            .estimates
            .iter()
            .filter(|(w, e)| {
                w.as_str() != CROWD
                    && !self.blocked.contains(*w)
                    && guesser_verdict(block_guessers, e, crowd, labels).is_some()
            })
            .map(|(w, _)| w.clone())
            .collect();
        if newly.is_empty() {
            return;
        }
        self.blocked.extend(newly.iter().cloned());
        // Out of the model too: the next refit takes what the items counted
        // of them out of the estimates, as a live job's does.
        for (i, item) in self.model.items.iter_mut().enumerate() {
            let before = item.answers.len();
            item.answers.retain(|(w, _)| !newly.contains(w));
            if item.answers.len() != before {
                self.model.touched.insert(i);
            }
        }
        for i in 0..self.answers.len() {
            let Some(Some(label)) = self.decided[i] else { continue };
            if self.gold.contains(&i) || !self.answers[i].iter().any(|a| newly.contains(&a.worker_id)) {
                continue;
            }
            let action = self.decide(rule, i).action;
            if let Action::Label { label: l, .. } = &action {
                if self.data.votes.class(l) == Some(label) {
                    continue;
                }
            }
            self.decided[i] = None;
            self.act(queue, i, action);
        }
    }

    /// Decides `item` on what collect would see of it now: the answers of
    /// workers not blocked (a blocked worker's fill slots but do not use up
    /// the cap); an item whose recorded answers ran out is at its cap.
    fn decide(&self, rule: &dyn DecisionRule, item: usize) -> Decision {
        self.decide_with(rule, item, &self.model.estimates)
    }

    fn decide_with(
        &self,
        rule: &dyn DecisionRule,
        item: usize,
        workers: &BTreeMap<String, WorkerEstimate>,
    ) -> Decision {
        let exhausted = self.bought[item] as usize >= self.pools[item].len();
        let cap = match *self.policy {
            Policy::Agreement { most, .. } | Policy::Confidence { most, .. } => most,
            Policy::FixedK { k } => k,
        };
        let answers: Vec<AnswerRecord> =
            self.answers[item].iter().filter(|a| !self.blocked.contains(&a.worker_id)).cloned().collect();
        let discounted = (self.answers[item].len() - answers.len()) as u32;
        let bought = self.bought[item].saturating_sub(discounted);
        rule.decide(&Evidence {
            answers: &answers,
            workers,
            bought: if exhausted { bought.max(cap) } else { bought },
            outstanding: self.bought[item] - self.drawn[item],
        })
    }

    /// Serves one bought assignment of `item` with its next recorded answer
    /// from a worker not blocked (a blocked worker cannot take it: someone
    /// else does).
    fn answer(&mut self, item: usize) {
        let drawn = self.drawn[item] as usize;
        while let Some(n) = self.pools[item].get(drawn).copied() {
            if !self.blocked.contains(&self.data.votes.workers[self.data.votes.answers[n].worker]) {
                break;
            }
            self.pools[item].remove(drawn);
        }
        // Fewer answers left than bought: the item is at its cap.
        self.bought[item] = self.bought[item].min(self.pools[item].len() as u32);
        let Some(n) = self.pools[item].get(drawn).copied() else { return };
        self.drawn[item] += 1;
        let vote = self.data.votes.answers[n];
        let worker = &self.data.votes.workers[vote.worker];
        self.answers[item].push(AnswerRecord {
            assignment_id: n.to_string(),
            worker_id: worker.clone(),
            label: Some(self.data.votes.classes[vote.class].clone()),
            invalid_reason: None,
            submitted_at: self.drawn[item] as i64,
        });
        self.model.items[item].answers.push((worker.clone(), vote.class));
        self.model.touched.insert(item);
        self.model.since_refit += 1;
    }

    /// The answers bought that count (not a blocked worker's).
    fn counted(&self) -> Votes {
        let votes = &self.data.votes;
        Votes {
            items: votes.items.clone(),
            workers: votes.workers.clone(),
            classes: votes.classes.clone(),
            answers: (0..votes.items.len())
                .flat_map(|i| self.pools[i][..self.drawn[i] as usize].iter().map(|n| votes.answers[*n]))
                .filter(|a| !self.blocked.contains(&votes.workers[a.worker]))
                .collect(),
        }
    }

    fn gold_labels(&self) -> Gold {
        self.gold.iter().filter_map(|g| self.data.truth[*g].map(|t| (*g, t))).collect()
    }

    /// The online estimates with each worker's confusion taken from
    /// Dawid-Skene fitted on every answer that counts, as the final check
    /// reads them.
    fn fitted_estimates(&self) -> BTreeMap<String, WorkerEstimate> {
        let counted = self.counted();
        let fit = DawidSkene::default().fit(&counted, &self.gold_labels());
        let mut out = self.model.estimates.clone();
        for (name, skill) in counted.workers.iter().zip(&fit.skills) {
            if let (Some(e), super::Skill::Confusion(m)) = (out.get_mut(name), skill) {
                e.confusion = m.clone();
            }
        }
        out
    }

    fn score(&self) -> Outcome {
        let votes = &self.data.votes;
        let output: Vec<usize> = (0..votes.items.len()).filter(|i| !self.gold.contains(i)).collect();
        let labels: Vec<Option<usize>> = match self.policy {
            Policy::Agreement { .. } => (0..votes.items.len())
                .map(|i| match self.decided[i] {
                    Some(Some(label)) => Some(label),
                    _ => self.plurality(i),
                })
                .collect(),
            _ => {
                // The final fit leaves out the blocked workers' answers.
                let fit = DawidSkene::default().fit(&self.counted(), &self.gold_labels());
                (0..votes.items.len()).map(|i| Some(fit.label(i).0)).collect()
            }
        };
        let scored: Vec<usize> = output.iter().copied().filter(|i| self.data.truth[*i].is_some()).collect();
        let right = scored.iter().filter(|i| labels[**i].is_some() && labels[**i] == self.data.truth[**i]).count();
        let spent: u32 = self.drawn.iter().sum();
        let unresolved = output.iter().filter(|i| self.decided[**i] == Some(None)).count();
        let per = |x: f64, of: usize| if of == 0 { 0.0 } else { x / of as f64 };
        Outcome {
            labels_per_item: per(f64::from(spent), output.len()),
            accuracy: per(right as f64, scored.len()),
            unresolved: per(unresolved as f64, output.len()),
            reopened: per(self.reopened as f64, output.len()),
        }
    }

    /// The label most of the item's answers gave (the first to get there on a tie).
    fn plurality(&self, item: usize) -> Option<usize> {
        let mut counts = vec![0.0; self.data.votes.classes.len()];
        for a in &self.answers[item] {
            if let Some(c) = a.label.as_deref().and_then(|l| self.data.votes.class(l)) {
                counts[c] += 1.0;
            }
        }
        (!self.answers[item].is_empty()).then(|| best(&counts).0)
    }
}

/// A row of the benchmark: a policy and what to call it.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    /// `seed`, `fixed-k`, `confidence` or `default`.
    pub name: &'static str,
    pub target: Option<f64>,
    pub k: Option<u32>,
    pub policy: Policy,
}

/// The policies `hitloop replay` compares: the seed's rule, 3 and 5 answers
/// each, confidence at each of `targets` (with job.json's least answers and
/// the agreement method's cap of 9), and job.json's confidence defaults.
pub fn standard_policies(targets: &[f64], gold_share: f64) -> Vec<Named> {
    let seed = ConsensusSpec::default();
    let default = ConsensusSpec::confidence();
    let mut out = vec![Named {
        name: "seed",
        target: None,
        k: None,
        policy: Policy::Agreement {
            initial: seed.initial_assignments,
            agreement: seed.agreement,
            most: seed.max_assignments(),
        },
    }];
    for k in [3, 5] {
        out.push(Named { name: "fixed-k", target: None, k: Some(k), policy: Policy::FixedK { k } });
    }
    for t in targets {
        out.push(Named {
            name: "confidence",
            target: Some(*t),
            k: None,
            policy: Policy::Confidence {
                target: *t,
                least: default.initial_assignments,
                most: seed.max_assignments(),
                gold_share,
                block_guessers: default.block_guessers().unwrap_or(0.0),
            },
        });
    }
    out.push(Named {
        name: "default",
        target: Some(default.target()),
        k: None,
        policy: Policy::Confidence {
            target: default.target(),
            least: default.initial_assignments,
            most: default.max_assignments(),
            gold_share,
            block_guessers: default.block_guessers().unwrap_or(0.0),
        },
    });
    out
}

/// Majority vote over every recorded answer: its expected accuracy with
/// ties broken at random (a tie among m labels, the true one among them,
/// counts 1/m), and the answers per item it uses.
pub fn majority_of_all(data: &Dataset) -> (f64, f64) {
    let k = data.votes.classes.len();
    let mut counts = vec![vec![0u32; k]; data.votes.items.len()];
    for a in &data.votes.answers {
        counts[a.item][a.class] += 1;
    }
    let (mut right, mut scored) = (0.0, 0usize);
    for (row, truth) in counts.iter().zip(&data.truth) {
        let Some(t) = truth else { continue };
        scored += 1;
        let top = row.iter().copied().max().unwrap_or(0);
        let tied = row.iter().filter(|c| **c == top).count();
        if row[*t] == top && top > 0 {
            right += 1.0 / tied as f64;
        }
    }
    let per_item = data.votes.answers.len() as f64 / data.votes.items.len().max(1) as f64;
    (if scored == 0 { 0.0 } else { right / scored as f64 }, per_item)
}

/// The share of the items with a true label that `fit` labels right.
pub fn accuracy_of(data: &Dataset, fit: &super::Fitted) -> f64 {
    let (mut right, mut scored) = (0usize, 0usize);
    for (i, truth) in data.truth.iter().enumerate() {
        let Some(t) = truth else { continue };
        scored += 1;
        if fit.label(i).0 == *t {
            right += 1;
        }
    }
    if scored == 0 {
        0.0
    } else {
        right as f64 / scored as f64
    }
}
