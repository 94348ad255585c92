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
/// each; at least one item), or None without items.
pub fn refit(
    spec: &JobSpec,
    model: &JobModel,
    estimates: &BTreeMap<String, WorkerEstimate>,
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
        let counts = counts_of(spec, item);
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

/// An item as the online model sees it: its valid answers, gold, and what
/// it counted last.
fn counts_of(spec: &JobSpec, item: &Item) -> ItemCounts {
    let class = |label: &str| spec.labels.iter().position(|l| l == label);
    let answers =
        item.answers.iter().filter_map(|a| Some((a.worker_id.clone(), class(a.label.as_deref()?)?))).collect();
    let counted = item.model.as_ref().map(|m| Counted {
        posterior: m.posterior.clone(),
        answers: m.counted.iter().map(|(w, l)| (w.clone(), *l as usize)).collect(),
    });
    ItemCounts { answers, gold: gold_of(spec, item), counted }
}
