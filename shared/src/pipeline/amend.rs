//! job.json uploaded again for a live job: the way a user raises (or lowers)
//! its budget and resumes a paused job. A job's HITs were posted with its
//! task, labels and rules, so the budget is the only thing that may change;
//! any other difference is refused, in `upload-refused.json`, and the job
//! goes on as it was.
//!
//! Resuming puts the job back to labeling and queues its unposted items for
//! publishing. Items that were waiting to buy more assignments are taken up
//! by the next sweep (ingest has no MTurk permissions, on purpose).

use crate::error::{Error, Result};
use crate::job::JobSpec;
use crate::pipeline::ingest::MAX_JOB_JSON;
use crate::pipeline::{all_items, check_job_id, PublishItem};
use crate::problems::Problem;
use crate::records::*;
use crate::wiring::Deps;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No job yet (job.json comes before the manifest), or a failed one
    /// (uploading the manifest again retries it).
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

/// `jobs/<job>/job.json` -> the job id.
pub fn job_json_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("jobs/")?.strip_suffix("/job.json")?;
    check_job_id(rest).ok().map(|()| rest)
}

pub async fn job_json_uploaded(deps: &Deps, bucket: &str, job_id: &str) -> Result<Outcome> {
    let Some(job) = deps.store.job(job_id).await? else { return Ok(Outcome::NotLive) };
    let prefix = format!("jobs/{job_id}/");
    match job.status {
        JobStatus::Failed => return Ok(Outcome::NotLive),
        JobStatus::Publishing | JobStatus::Labeling | JobStatus::Paused => {}
        done => {
            let why = format!("job {job_id} is {done}: labeling is over and job.json changes nothing now");
            refuse(deps, bucket, &prefix, vec![Problem::new("job.json", why)]).await?;
            return Ok(Outcome::Refused);
        }
    }
    let text = match deps.blobs.text(bucket, &format!("{prefix}job.json"), MAX_JOB_JSON).await {
        Ok(Some(t)) => t,
        Ok(None) => return Ok(Outcome::Unchanged), // deleted since: nothing to apply
        Err(Error::Invalid(m)) => {
            refuse(deps, bucket, &prefix, vec![Problem::new("job.json", m)]).await?;
            return Ok(Outcome::Refused);
        }
        Err(e) => return Err(e),
    };
    let spec = match JobSpec::parse(&text) {
        Ok(s) => s,
        Err(problems) => {
            refuse(deps, bucket, &prefix, problems).await?;
            return Ok(Outcome::Refused);
        }
    };
    let changed = job.spec.changes_besides_budget(&spec);
    if !changed.is_empty() {
        let problems = changed
            .iter()
            .map(|f| {
                Problem::field(
                    "job.json",
                    f,
                    format!("{f} differs from the running job's; its HITs were posted with it, so only budget_usd may change (start a new job for a different task)"),
                )
            })
            .collect();
        refuse(deps, bucket, &prefix, problems).await?;
        return Ok(Outcome::Refused);
    }
    let mut outcome = Outcome::Unchanged;
    if spec.budget_usd != job.spec.budget_usd {
        if !deps.store.amend_budget(job_id, job.spec.budget_usd, &spec).await? {
            // Changed meanwhile (another upload, or the job ended): the retry reads it again.
            return Err(Error::Retryable(format!("job {job_id} changed while its budget was being updated")));
        }
        tracing::info!(job_id, old = ?job.spec.budget_usd.map(|b| b.to_string()), new = ?spec.budget_usd.map(|b| b.to_string()), "budget changed");
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
            deps.queue.send_all(&deps.config.publish_queue_url, pending).await?;
        }
        outcome = Outcome::Resumed { queued };
    }
    Ok(outcome)
}

async fn refuse(deps: &Deps, bucket: &str, prefix: &str, problems: Vec<Problem>) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_json_keys() {
        assert_eq!(job_json_key("jobs/iris/job.json"), Some("iris"));
        for other in ["jobs/iris/manifest.csv", "jobs/a/b/job.json", "jobs/bad id/job.json", "job.json"] {
            assert_eq!(job_json_key(other), None, "{other}");
        }
    }
}
