//! A finished job as the worker model sees it: Dawid-Skene over every valid
//! answer of the job (gold pinned), each item's most probable label and its
//! probability, each worker's estimated accuracy and gold record. A
//! confidence job's labels are the model's (`relabel`); every job's
//! workers.csv and report.json carry the estimates.

use std::collections::{BTreeMap, BTreeSet};

use crate::job::JobSpec;
use crate::records::{AnswerRecord, Item, ItemStatus, WorkerStanding};

use super::gold::gold_of;
use super::{DawidSkene, Gold, Votes, WorkerModel};

/// What the model says of one worker.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WorkerQuality {
    /// The probability their answer is right, labels weighted by how often
    /// each is the truth.
    pub estimated_accuracy: f64,
    /// Their answers on gold items, and how many were the known label.
    pub gold_answers: u32,
    pub gold_right: u32,
}

impl WorkerQuality {
    pub fn gold_accuracy(&self) -> Option<f64> {
        (self.gold_answers > 0).then(|| f64::from(self.gold_right) / f64::from(self.gold_answers))
    }
}

/// The model's view of a finished job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFit {
    /// item id -> (its most probable label, that label's probability), for
    /// items with a valid answer.
    pub items: BTreeMap<String, (String, f64)>,
    pub workers: BTreeMap<String, WorkerQuality>,
    /// Each worker's confusion matrix (`[truth][given]`, the job's labels in
    /// order): what the final check weighs their answers by.
    pub confusions: BTreeMap<String, Vec<Vec<f64>>>,
}

impl JobFit {
    /// The model's probability that `label` is the item's true label.
    pub fn probability(&self, item_id: &str, label: &str) -> Option<f64> {
        self.items.get(item_id).map(|(best, p)| if best == label { *p } else { 0.0 })
    }
}

/// Fits every valid answer of `items`.
pub fn fit_job(spec: &JobSpec, items: &[Item]) -> JobFit {
    fit_counted(spec, items, &[])
}

/// Fits every valid answer of `items` but those of the workers the job
/// blocked (`standings`): what a finished job's outputs come from.
pub fn fit_counted(spec: &JobSpec, items: &[Item], standings: &[WorkerStanding]) -> JobFit {
    let blocked: BTreeSet<&str> =
        standings.iter().filter(|s| s.blocked.is_some()).map(|s| s.worker_id.as_str()).collect();
    let counts = |a: &&AnswerRecord| !blocked.contains(a.worker_id.as_str());
    let triples: Vec<(&str, &str, &str)> = items
        .iter()
        .flat_map(|i| {
            i.answers
                .iter()
                .filter(counts)
                .filter_map(|a| Some((i.item_id.as_str(), a.worker_id.as_str(), a.label.as_deref()?)))
        })
        .collect();
    let votes = Votes::from_answers(triples, Some(&spec.labels));
    let mut gold = Gold::new();
    let mut known: BTreeMap<&str, &str> = BTreeMap::new();
    for item in items {
        if let Some(g) = gold_of(spec, item) {
            known.insert(&item.item_id, &spec.labels[g]);
            if let Some(i) = votes.item(&item.item_id) {
                gold.insert(i, g);
            }
        }
    }
    let fit = DawidSkene::default().fit(&votes, &gold);
    let mut out = JobFit::default();
    for (i, name) in votes.items.iter().enumerate() {
        let (class, p) = fit.label(i);
        out.items.insert(name.clone(), (votes.classes[class].clone(), p));
    }
    for (w, name) in votes.workers.iter().enumerate() {
        let q = out.workers.entry(name.clone()).or_default();
        q.estimated_accuracy = fit.skills[w].accuracy(&fit.priors);
        if let super::Skill::Confusion(m) = &fit.skills[w] {
            out.confusions.insert(name.clone(), m.clone());
        }
    }
    for item in items {
        let Some(truth) = known.get(item.item_id.as_str()) else { continue };
        for a in item.answers.iter().filter(counts) {
            let Some(label) = a.label.as_deref() else { continue };
            let q = out.workers.entry(a.worker_id.clone()).or_default();
            q.gold_answers += 1;
            q.gold_right += u32::from(label == *truth);
        }
    }
    out
}

/// A confidence job's final labels: each labeled item takes the model's
/// label over all the job's answers, with its probability as confidence
/// (`agreed` recounted); unresolved items stay unresolved.
pub fn relabel(items: &mut [Item], fit: &JobFit) {
    for item in items.iter_mut().filter(|i| i.status == ItemStatus::Labeled) {
        let Some((label, p)) = fit.items.get(&item.item_id) else { continue };
        item.agreed = item.answers.iter().filter(|a| a.label.as_deref() == Some(label.as_str())).count() as u32;
        item.label = Some(label.clone());
        item.confidence = Some(*p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::answers_given;

    fn item(id: &str, gold: Option<&str>, answers: &[(&str, &str)]) -> Item {
        let values = gold.map(|g| [("gold".to_string(), g.to_string())].into()).unwrap_or_default();
        let mut i = Item::pending("j", id, 2, values, 0);
        i.status = ItemStatus::Labeled;
        i.label = answers.first().map(|(_, l)| l.to_string());
        i.answers = answers_given(id, answers);
        i
    }

    #[test]
    fn the_model_relabels_and_measures_workers_on_gold() {
        let spec = JobSpec::parse(r#"{"labels": ["cat", "dog"]}"#).unwrap();
        // "liar" answers first and always wrong; the gold items show it.
        let mut items = vec![
            item("g1", Some("cat"), &[("liar", "dog"), ("ann", "cat"), ("bob", "cat")]),
            item("g2", Some("dog"), &[("liar", "cat"), ("ann", "dog"), ("bob", "dog")]),
            item("x1", None, &[("liar", "dog"), ("ann", "cat"), ("bob", "cat")]),
            item("x2", None, &[("liar", "cat"), ("ann", "dog")]),
        ];
        let fit = fit_job(&spec, &items);
        let liar = fit.workers["liar"];
        assert_eq!((liar.gold_answers, liar.gold_right, liar.gold_accuracy()), (2, 0, Some(0.0)));
        assert_eq!(fit.workers["ann"].gold_accuracy(), Some(1.0));
        assert!(fit.workers["ann"].estimated_accuracy > fit.workers["liar"].estimated_accuracy + 0.3);
        relabel(&mut items, &fit);
        assert_eq!(items[2].label.as_deref(), Some("cat"), "the first answer was the liar's");
        assert_eq!(items[3].label.as_deref(), Some("dog"), "one careful answer against the liar's");
        assert_eq!(items[2].agreed, 2);
        assert!(items[2].confidence.unwrap() > 0.9);
        assert_eq!(fit.probability("x2", "cat"), Some(0.0));
        // The liar's confusion, in the job's label order: says dog for a cat.
        let liar = &fit.confusions["liar"];
        assert!(liar[0][1] > 0.5 && liar[1][0] > 0.5, "{liar:?}");
    }
}
