//! job.json uploaded again for a live job: raise (or lower) its budget and
//! resume it if it was paused; anything else is refused in
//! `upload-refused.json` (`hitloop_core::plan::amend` decides). Resuming
//! queues the job's unposted items; items waiting to buy more are taken up
//! by the next sweep (ingest has no MTurk permissions, on purpose).

use hitloop_core::error::{Error, Result};
use hitloop_core::job::JobSpec;
use hitloop_core::messages::PublishItem;
use hitloop_core::plan::amend::{before_reading, with_upload, Plan};
use hitloop_core::plan::ingest::MAX_JOB_JSON;
use hitloop_core::problems::Problem;
use hitloop_core::records::{ItemStatus, JobStatus};

use crate::ports::all_items;
use crate::steps::ingest::IngestDeps;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No job yet (job.json comes before the manifest), or a failed one.
    NotLive,
    /// The budget is as it was and the job was not paused.
    Unchanged,
    /// The budget changed; the job goes on.
    Amended,
    /// The job was paused and goes on now (with `queued` items to publish).
    Resumed { queued: usize },
    /// The new job.json cannot apply to this job; nothing changed.
    Refused,
}

pub async fn job_json_uploaded(deps: &IngestDeps, bucket: &str, job_id: &str) -> Result<Outcome> {
    let job = deps.store.job(job_id).await?;
    let prefix = format!("jobs/{job_id}/");
    let plan = match before_reading(job.as_ref()) {
        Plan::Read => match deps.blobs.text(bucket, &format!("{prefix}job.json"), MAX_JOB_JSON).await {
            Ok(Some(text)) => match &job {
                Some(job) => with_upload(job, JobSpec::parse(&text)),
                None => Plan::NotLive,
            },
            Ok(None) => return Ok(Outcome::Unchanged), // deleted since: nothing to apply
            Err(Error::Invalid(m)) => Plan::Refuse(vec![Problem::new("job.json", m)]),
            Err(e) => return Err(e),
        },
        other => other,
    };
    let (job, new, changes) = match (plan, job) {
        (Plan::NotLive, _) | (Plan::Read, _) | (_, None) => return Ok(Outcome::NotLive),
        (Plan::Refuse(problems), _) => {
            refuse(deps, bucket, &prefix, problems).await?;
            return Ok(Outcome::Refused);
        }
        (Plan::Apply { budget, changes }, Some(job)) => (job, budget, changes),
    };
    let mut outcome = Outcome::Unchanged;
    if changes {
        if !deps.store.amend_budget(job_id, job.spec.budget_usd, new).await? {
            // Changed meanwhile (another upload, or the job ended): the retry reads it again.
            return Err(Error::Retryable(format!("job {job_id} changed while its budget was being updated")));
        }
        tracing::info!(job_id, old = ?job.spec.budget_usd.map(|b| b.to_string()), new = ?new.map(|b| b.to_string()), "budget changed");
        outcome = Outcome::Amended;
    }
    let _ = deps.blobs.delete(bucket, &format!("{prefix}upload-refused.json")).await;
    if deps.store.transition(job_id, &[JobStatus::Paused], JobStatus::Labeling, None).await? {
        tracing::info!(job_id, "job resumed");
        // Every unposted item, again: publish skips what was posted meanwhile.
        let pending = all_items(deps.store.as_ref(), job_id)
            .await?
            .iter()
            .filter(|i| i.status == ItemStatus::Pending)
            .map(PublishItem::body_for)
            .collect::<Result<Vec<_>>>()?;
        let queued = pending.len();
        if !pending.is_empty() {
            deps.queue.send_all(&deps.publish_queue_url, pending).await?;
        }
        outcome = Outcome::Resumed { queued };
    }
    Ok(outcome)
}

async fn refuse(deps: &IngestDeps, bucket: &str, prefix: &str, problems: Vec<Problem>) -> Result<()> {
    tracing::warn!(prefix, problems = problems.len(), "job.json refused for a live job: see upload-refused.json");
    let note = serde_json::json!({
        "refused": format!("{prefix}job.json"),
        "reason": "the job goes on with the job.json it started with",
        "errors": problems,
    });
    deps.blobs
        .put(bucket, &format!("{prefix}upload-refused.json"), note.to_string().into_bytes(), "application/json")
        .await
}
