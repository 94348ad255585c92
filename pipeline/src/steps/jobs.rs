//! What several steps do to a job: pause it with a reason, and complete it
//! when its last item is decided (then tell train).

use hitloop_core::error::Result;
use hitloop_core::messages::JobMessage;
use hitloop_core::records::JobStatus;

use crate::ports::{Jobs, Queue};

/// Pauses an active job with a reason the user will read.
pub async fn pause(jobs: &dyn Jobs, job_id: &str, reason: &str) -> Result<()> {
    if jobs.transition(job_id, &[JobStatus::Publishing, JobStatus::Labeling], JobStatus::Paused, Some(reason)).await? {
        tracing::warn!(job_id, reason, "job paused");
    }
    Ok(())
}

/// Where train hears of a complete job.
pub struct Completion<'a> {
    pub jobs: &'a dyn Jobs,
    pub queue: &'a dyn Queue,
    pub training_queue_url: &'a str,
}

impl Completion<'_> {
    /// labeling -> complete once every item is decided, then tell train. The
    /// counts are read first, so the conditional write is made only when it
    /// can succeed (it fails only to a racing call that completed the job).
    pub async fn complete_if_done(&self, job_id: &str) -> Result<bool> {
        let Some(p) = self.jobs.progress(job_id).await? else { return Ok(false) };
        if !p.done() {
            return Ok(false);
        }
        self.complete(job_id).await
    }

    /// The conditional write itself (sweep calls it on a job it read).
    pub async fn complete(&self, job_id: &str) -> Result<bool> {
        if !self.jobs.complete_if_done(job_id).await? {
            return Ok(false);
        }
        tracing::info!(job_id, "labeling complete");
        self.send(job_id).await?;
        Ok(true)
    }

    pub async fn send(&self, job_id: &str) -> Result<()> {
        self.queue.send_all(self.training_queue_url, vec![JobMessage::complete(job_id).body()?]).await?;
        self.jobs.set_completion_sent(job_id).await
    }
}
