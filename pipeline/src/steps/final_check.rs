//! A confidence job's final check (see `hitloop_core::records::FinalCheck`):
//! once every item is decided, each labeled item is looked at again under
//! the model its label will come from (Dawid-Skene fitted on every answer
//! that counts: each worker's confusion from the whole job, not from the
//! incremental estimates of when the item was decided), and one that model
//! would buy more for is reopened and bought on (within its cap and the
//! job's budget). Then the job records the check, which is what lets it
//! complete. sweep runs it right after refitting the job's model; it walks
//! the job's items and fits them once, once per job.

use hitloop_core::error::Result;
use hitloop_core::plan::reconcile::Outcome;
use hitloop_core::records::{ItemStatus, Job};

use hitloop_core::quality::{fit_counted, gold_of};

use crate::ports::all_items;
use crate::steps::reconcile::{check_item, completion, CollectDeps};

/// What the check did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Labeled items looked at.
    pub items: usize,
    /// Of those, reopened and bought on.
    pub bought: usize,
    /// True when the check was recorded (false: an item could not be looked
    /// at yet, or another pass recorded it first).
    pub recorded: bool,
}

/// Checks `job`'s labels once more, records the check and completes the
/// job if nothing was reopened.
pub async fn final_check(deps: &CollectDeps, job: &Job) -> Result<Checked> {
    let mut done = Checked::default();
    let items = all_items(deps.store.as_ref(), &job.job_id).await?;
    // The labels will come from the fit over every answer that counts: the
    // check asks that model, not the incremental estimates.
    let standings = deps.store.all_standings(&job.job_id).await?;
    let fitted = fit_counted(&job.spec, &items, &standings).confusions;
    for item in items {
        // Gold is never bought on (its first assignments only).
        if item.hit_id.is_none() || item.status != ItemStatus::Labeled || gold_of(&job.spec, &item).is_some() {
            continue;
        }
        let item_id = item.item_id.clone();
        done.items += 1;
        match check_item(deps, item, &fitted).await {
            Ok(Outcome::Bought(_)) => done.bought += 1,
            Ok(_) => {}
            // Looked at again on the next pass (the check is not recorded).
            Err(e) if e.is_retryable() => return Err(e),
            // Nothing can be done for this one (its HIT is gone): it keeps
            // its label rather than hold the job up forever.
            Err(e) => tracing::warn!(job_id = %job.job_id, %item_id, error = %e, "a label could not be checked again"),
        }
    }
    done.recorded = deps.store.record_final_check(&job.job_id).await?;
    if done.bought > 0 {
        tracing::info!(job_id = %job.job_id, reopened = done.bought, "final check: labels the model now doubts bought on");
    }
    // What was reopened completes the job when it is decided again.
    if done.bought == 0 {
        completion(deps).complete_if_done(&job.job_id).await?;
    }
    Ok(done)
}
