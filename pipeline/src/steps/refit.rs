//! refit: brings a confidence job's worker model up to date with the
//! answers recorded since its last refit (sweep runs it for every labeling
//! confidence job). Reads only the items marked for it, the estimates of
//! their workers and the job's model; applies each round in one conditional
//! write (`hitloop_core::plan::refit`), so two refits never count the same
//! answers twice and a lost race is simply read again. A blocked worker's
//! answers are left out (their standings are read with the page's
//! estimates, for a job that blocks anyone): a block marks the items the model counted them on, and the
//! refit takes them out of every estimate.

use std::collections::BTreeMap;

use hitloop_core::error::Result;
use hitloop_core::job::JobSpec;
use hitloop_core::plan::refit::refit;
use hitloop_core::quality::CROWD;
use hitloop_core::records::{now_ms, Item, WorkerEstimate};
use serde::Serialize;

use crate::ports::{blocked_among, Standings, WorkerModels};

/// Items read per round.
const PAGE: usize = 100;
/// Writes in one round: DynamoDB's limit for a transaction.
const MAX_WRITES: usize = 100;
/// Lost races (a collect writing an item meanwhile) tolerated per call.
const CONFLICTS: usize = 3;

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct RefitReport {
    /// Items whose answers the model now counts.
    pub items: usize,
    /// Estimates written (workers and the crowd's).
    pub estimates: usize,
    /// Rounds applied.
    pub rounds: usize,
    /// Rounds lost to a concurrent write and read again.
    pub conflicts: usize,
    /// The estimates written, each worker's latest and the crowd's: who the
    /// model may judge anew, without reading them back.
    #[serde(skip)]
    pub moved: BTreeMap<String, WorkerEstimate>,
}

/// Refits `job_id` on at most `max_items` marked items.
pub async fn refit_job<S: WorkerModels + Standings + ?Sized>(
    store: &S,
    job_id: &str,
    spec: &JobSpec,
    max_items: usize,
) -> Result<RefitReport> {
    let mut report = RefitReport::default();
    'pages: while report.items < max_items {
        let page = store.items_to_refit(job_id, PAGE.min(max_items - report.items)).await?;
        if page.is_empty() {
            break;
        }
        // One read of the page's workers and of the model, then as many rounds
        // as the page takes: each round's writes are what the next one reads.
        let mut model = store.job_model(job_id).await?;
        let workers = workers_of(&page);
        let mut estimates = store.estimates(job_id, &workers).await?;
        let blocked = blocked_among(store, spec, job_id, &workers).await?;
        let mut rest: &[Item] = &page;
        while !rest.is_empty() {
            let Some(r) = refit(spec, &model, &estimates, &blocked, rest, MAX_WRITES, now_ms()) else { break };
            if !store.apply_refit(&r).await? {
                // A collect wrote one of the items meanwhile: read the page again.
                report.conflicts += 1;
                if report.conflicts >= CONFLICTS {
                    break 'pages;
                }
                continue 'pages;
            }
            report.items += r.items.len();
            report.estimates += r.estimates.len();
            report.moved.extend(r.estimates.iter().map(|e| (e.worker_id.clone(), e.clone())));
            report.rounds += 1;
            rest = &rest[r.items.len()..];
            model = r.model;
            estimates.extend(r.estimates.into_iter().map(|e| (e.worker_id.clone(), e)));
        }
    }
    Ok(report)
}

/// Everyone who answered the items or was counted on them, and the crowd.
fn workers_of(items: &[Item]) -> Vec<String> {
    let mut workers: Vec<String> = items
        .iter()
        .flat_map(|i| {
            let counted = i.model.iter().flat_map(|m| m.counted.iter().map(|(w, _)| w.clone()));
            i.answers.iter().map(|a| a.worker_id.clone()).chain(counted)
        })
        .collect();
    workers.push(CROWD.to_string());
    workers.sort();
    workers.dedup();
    workers
}
