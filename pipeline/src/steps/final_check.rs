//! A confidence job's final check (see `hitloop_core::records::FinalCheck`):
//! once every item is decided, each labeled item is looked at again under
//! the worker estimates as they now stand, and one the model would now buy
//! more for is reopened and bought on (within its cap and the job's budget).
//! Then the job records the check, which is what lets it complete. sweep
//! runs it right after refitting the job's model; it walks the job's items,
//! once per job.

use hitloop_core::error::Result;
use hitloop_core::plan::reconcile::Outcome;
use hitloop_core::records::{ItemStatus, Job};

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
    for item in all_items(deps.store.as_ref(), &job.job_id).await? {
        if item.hit_id.is_none() || item.status != ItemStatus::Labeled {
            continue;
        }
        let item_id = item.item_id.clone();
        done.items += 1;
        match check_item(deps, item).await {
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
