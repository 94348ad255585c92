//! Refitting a confidence job's worker model (see `quality::online`): the
//! items with answers the model has not counted yet, the estimates of the
//! workers who gave them and the job's model in; what to write out, as one
//! value the store applies in one conditional write (the job's model at the
//! generation read, each item at the version read).

use std::collections::{BTreeMap, BTreeSet};

use crate::job::JobSpec;
use crate::quality::{gold_of, is_square, Counted, ItemCounts, JobCounts, OnlineDawidSkene, WorkerCounts};
use crate::records::{Item, ItemModel, JobModel, WorkerEstimate};

/// One refit's writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Refit {
    pub job_id: String,
    /// The job's model as read: the write applies only if it is still this
    /// generation.
    pub read_generation: u64,
    /// The job's model after the refit (generation + 1).
    pub model: JobModel,
    /// Each item refitted, at the version read, with what it now counts.
    pub items: Vec<ItemRefit>,
    /// The estimates of the workers the refit moved, and the crowd's.
    pub estimates: Vec<WorkerEstimate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemRefit {
    pub item_id: String,
    pub version: u64,
    pub model: Option<ItemModel>,
}

/// The refit of as many of `items` as fit in `max_writes` writes (each
/// item, each worker it moves, the crowd and the job's model are one write
/// each; at least one item), or None without items. The answers of
/// `blocked` workers are left out: what an item counted of them before
/// their block comes out of the counts (a block marks such items for the
/// refit), so a worker the job blocked pulls no estimate, the crowd's
/// included, the way they would otherwise go on doing.
pub fn refit(
    spec: &JobSpec,
    model: &JobModel,
    estimates: &BTreeMap<String, WorkerEstimate>,
    blocked: &BTreeSet<String>,
    items: &[Item],
    max_writes: usize,
    now: i64,
) -> Option<Refit> {
    let first = items.first()?;
    let k = spec.labels.len();
    let online = OnlineDawidSkene::new(k);
    let mut chosen: Vec<(&Item, ItemCounts)> = Vec::new();
    let mut workers: BTreeSet<String> = BTreeSet::new();
    for item in items {
        let counts = counts_of(spec, item, blocked);
        let mut moved = workers.clone();
        moved.extend(counts.answers.iter().map(|(w, _)| w.clone()));
        moved.extend(counts.counted.iter().flat_map(|c| c.answers.iter().map(|(w, _)| w.clone())));
        if !chosen.is_empty() && chosen.len() + 1 + moved.len() + 2 > max_writes {
            break;
        }
        workers = moved;
        chosen.push((item, counts));
    }
    let mut job = JobCounts { pooled: model.pooled.clone(), label_mass: model.label_mass.clone() };
    let mut counts: BTreeMap<String, WorkerCounts> = workers
        .iter()
        .filter_map(|w| {
            let e = estimates.get(w)?;
            is_square(&e.counts, k).then(|| (w.clone(), WorkerCounts { counts: e.counts.clone(), answers: e.answers }))
        })
        .collect();
    let mut batch: Vec<ItemCounts> = chosen.iter().map(|(_, c)| c.clone()).collect();
    online.refit(&mut job, &mut counts, &mut batch);
    let items = chosen
        .iter()
        .zip(batch)
        .map(|((item, _), c)| ItemRefit {
            item_id: item.item_id.clone(),
            version: item.version,
            model: c.counted.map(|c| ItemModel {
                posterior: c.posterior,
                counted: c.answers.into_iter().map(|(w, l)| (w, l as u32)).collect(),
            }),
        })
        .collect();
    let mut out: Vec<WorkerEstimate> = workers.iter().map(|w| online.estimate(w, counts.get(w), &job, now)).collect();
    out.push(online.crowd_estimate(&job, now));
    Some(Refit {
        job_id: first.job_id.clone(),
        read_generation: model.generation,
        model: JobModel {
            generation: model.generation + 1,
            pooled: job.pooled,
            label_mass: job.label_mass,
            updated_at: now,
        },
        items,
        estimates: out,
    })
}

/// An item as the online model sees it: its valid answers from workers not
/// blocked, gold, and what it counted last.
fn counts_of(spec: &JobSpec, item: &Item, blocked: &BTreeSet<String>) -> ItemCounts {
    let class = |label: &str| spec.labels.iter().position(|l| l == label);
    let answers = item
        .answers
        .iter()
        .filter(|a| !blocked.contains(&a.worker_id))
        .filter_map(|a| Some((a.worker_id.clone(), class(a.label.as_deref()?)?)))
        .collect();
    let counted = item.model.as_ref().map(|m| Counted {
        posterior: m.posterior.clone(),
        answers: m.counted.iter().map(|(w, l)| (w.clone(), *l as usize)).collect(),
    });
    ItemCounts { answers, gold: gold_of(spec, item), counted }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::answers_given;

    fn answered(id: &str, given: &[(&str, &str)]) -> Item {
        let mut item = Item::pending("j", id, 2, BTreeMap::new(), 0);
        item.answers = answers_given(id, given);
        item
    }

    fn pooled_total(model: &JobModel) -> f64 {
        model.pooled.iter().flatten().sum()
    }

    #[test]
    fn a_blocked_workers_counted_answers_come_out_of_every_estimate() {
        let spec = JobSpec::parse(r#"{"labels": ["a", "b"]}"#).unwrap();
        let none = BTreeSet::new();
        let mut items =
            vec![answered("i1", &[("W1", "a"), ("Wbad", "b")]), answered("i2", &[("W1", "b"), ("Wbad", "b")])];
        let first = refit(&spec, &JobModel::default(), &BTreeMap::new(), &none, &items, 100, 1).unwrap();
        assert!((pooled_total(&first.model) - 4.0).abs() < 1e-9, "four answers counted");
        let estimates: BTreeMap<String, WorkerEstimate> =
            first.estimates.iter().map(|e| (e.worker_id.clone(), e.clone())).collect();
        assert_eq!(estimates["Wbad"].answers, 2);
        for (item, r) in items.iter_mut().zip(&first.items) {
            item.model = r.model.clone();
            item.version += 1;
        }
        // Wbad blocked: the items the model counted them on are refitted.
        let blocked: BTreeSet<String> = ["Wbad".to_string()].into();
        let second = refit(&spec, &first.model, &estimates, &blocked, &items, 100, 2).unwrap();
        let after: BTreeMap<&str, &WorkerEstimate> =
            second.estimates.iter().map(|e| (e.worker_id.as_str(), e)).collect();
        assert_eq!(after["Wbad"].answers, 0, "nothing of theirs counted any more");
        assert!(after["Wbad"].counts.iter().flatten().all(|c| c.abs() < 1e-9), "{:?}", after["Wbad"].counts);
        // One answer left on each item: it says nothing of its worker, so
        // nothing is counted at all (the crowd's counts are back to none).
        assert!(pooled_total(&second.model).abs() < 1e-9, "{:?}", second.model.pooled);
        assert!(second.items.iter().all(|i| i.model.is_none()));
    }
}
