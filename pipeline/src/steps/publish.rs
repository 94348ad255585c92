//! publish: post one item as a HIT, exactly once, within the budget. The
//! plan (`hitloop_core::plan::publish`) says each next step; this carries it
//! out and tells the plan what it learnt.

use std::sync::Arc;

use hitloop_core::error::{Error, Result};
use hitloop_core::messages::PublishItem;
use hitloop_core::plan::publish::{created, next, Created, Outcome, Snapshot, Step};
use hitloop_core::plan::write::{Refusal, WriteOutcome};
use hitloop_core::records::{now_ms, Job};

use crate::ports::{Crowd, Items, Jobs};
use crate::steps::jobs::pause;

pub trait PublishStore: Jobs + Items {}
impl<T: Jobs + Items + ?Sized> PublishStore for T {}

#[derive(Clone)]
pub struct PublishDeps {
    pub store: Arc<dyn PublishStore>,
    pub crowd: Arc<dyn Crowd>,
    /// Where the marketplace sends the job's notifications.
    pub notification_queue_url: String,
}

/// Reads again after a lost race at most this often.
const ROUNDS: usize = 6;

pub async fn publish(deps: &PublishDeps, msg: &PublishItem) -> Result<Outcome> {
    let Some(mut job) = deps.store.job(&msg.job_id).await? else {
        return Err(Error::Permanent(format!("job {} does not exist", msg.job_id)));
    };
    let Some(mut item) = deps.store.item(&msg.job_id, &msg.item_id).await? else {
        return Err(Error::Permanent(format!("item {} of job {} does not exist", msg.item_id, msg.job_id)));
    };
    let mut balance = None;
    let mut refused: Option<Refusal> = None;
    for _ in 0..ROUNDS {
        let snapshot = Snapshot { job: &job, item: &item, balance, refused: refused.as_ref(), now: now_ms() };
        match next(&snapshot).map_err(Error::Permanent)? {
            Step::Done(outcome) => return Ok(outcome),
            Step::Pause(reason) => {
                pause(deps.store.as_ref(), &job.job_id, &reason).await?;
                return Ok(Outcome::Paused(reason));
            }
            Step::Reserve(write) => match deps.store.write(&write).await? {
                WriteOutcome::Applied => write.apply_to(&mut item),
                WriteOutcome::Conflict => {
                    let Some(fresh) = deps.store.item(&msg.job_id, &msg.item_id).await? else {
                        return Err(Error::Permanent(format!("item {} vanished", msg.item_id)));
                    };
                    item = fresh;
                }
                WriteOutcome::Refused(r) => refused = Some(r),
            },
            Step::CheckBalance => balance = Some(deps.crowd.balance().await?),
            Step::Create(request) => {
                let type_id = hit_type(deps, &mut job).await?;
                let result = deps.crowd.create_hit(&type_id, &request).await?;
                return match created(&item, result).map_err(Error::Permanent)? {
                    Created::Record(hit_id) => {
                        deps.store.mark_published(&job.job_id, &item.item_id, &hit_id).await?;
                        Ok(Outcome::Published(hit_id))
                    }
                    Created::Pause(reason) => {
                        pause(deps.store.as_ref(), &job.job_id, &reason).await?;
                        Ok(Outcome::Paused(reason))
                    }
                };
            }
        }
    }
    Err(Error::Retryable(format!("item {} kept changing while it was posted", msg.item_id)))
}

/// The job's HIT type, created (with its notification settings) on first use.
async fn hit_type(deps: &PublishDeps, job: &mut Job) -> Result<String> {
    if let Some(t) = &job.hit_type_id {
        return Ok(t.clone());
    }
    // A job that blocks workers (on gold, or by its worker model) lets in
    // only holders of its access qualification (granted to all who ask,
    // revoked to block).
    let access = match job.spec.blocks_anyone() {
        true => Some(deps.crowd.access_qualification(&job.job_id).await?),
        false => None,
    };
    // Two publishers racing both get the same id: MTurk returns the existing
    // type for identical attributes.
    let t = deps.crowd.create_hit_type(&job.spec, access.as_deref()).await?;
    deps.crowd.notify(&t, &deps.notification_queue_url, "SQS").await?;
    deps.store.set_hit_type(&job.job_id, &t).await?;
    job.hit_type_id = Some(t.clone());
    Ok(t)
}
