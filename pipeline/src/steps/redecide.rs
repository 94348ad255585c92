//! After a job blocks workers: every item they answered is decided again
//! without their answers (a decided item the block undoes is reopened,
//! bought on or decided anew), then the job records that its blocks are
//! accounted for, which is what lets it complete. sweep runs it for a
//! labeling job with blocks not yet accounted for; it walks the job's items,
//! a cost paid once per batch of blocks, not per answer.

use std::collections::BTreeSet;

use hitloop_core::error::Result;
use hitloop_core::records::Job;

use crate::ports::all_items;
use crate::steps::reconcile::{completion, reconcile_item, CollectDeps};

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Redecided {
    /// Items with a blocked worker's answer, brought up to date.
    pub items: usize,
    /// True when every block counted at the start is accounted for.
    pub recorded: bool,
}

/// Re-decides `job`'s items for the blocks its record counts (as read).
pub async fn redecide_job(deps: &CollectDeps, job: &Job) -> Result<Redecided> {
    let through = job.workers_blocked;
    let standings = deps.store.all_standings(&job.job_id).await?;
    let blocked: Vec<(&str, &str)> =
        standings.iter().filter_map(|s| s.blocked.as_deref().map(|why| (s.worker_id.as_str(), why))).collect();
    // Again, harmlessly: a crash between the block and the revocation left
    // the worker able to take HITs.
    if !blocked.is_empty() {
        let access = deps.crowd.access_qualification(&job.job_id).await?;
        for (worker, why) in &blocked {
            deps.crowd.revoke_access(&access, worker, why).await?;
        }
    }
    let blocked: BTreeSet<&str> = blocked.into_iter().map(|(w, _)| w).collect();
    let mut done = Redecided::default();
    for item in all_items(deps.store.as_ref(), &job.job_id).await? {
        if item.hit_id.is_some() && item.answers.iter().any(|a| blocked.contains(a.worker_id.as_str())) {
            let item_id = item.item_id.clone();
            match reconcile_item(deps, item).await {
                Ok(_) => done.items += 1,
                // Try again on the next pass.
                Err(e) if e.is_retryable() => return Err(e),
                // Nothing can be done for this one (its HIT is gone): it
                // keeps its decision rather than hold the job up forever.
                Err(e) => {
                    tracing::warn!(job_id = %job.job_id, %item_id, error = %e, "an item could not be decided again")
                }
            }
        }
    }
    done.recorded = deps.store.record_redecided(&job.job_id, through).await?;
    completion(deps).complete_if_done(&job.job_id).await?;
    Ok(done)
}
