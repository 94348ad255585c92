//! The crowd marketplace: MTurk's Requester API, or a compatible service
//! (`hitloop-mturk-client` implements it; [`crate::memory::MemoryCrowd`] is
//! a small marketplace in memory for tests).

use async_trait::async_trait;
use hitloop_core::error::Result;
use hitloop_core::job::JobSpec;
use hitloop_core::marketplace::{AssignmentView, CreateHitError, HitState};
use hitloop_core::money::Usd;
use hitloop_core::plan::publish::HitRequest;

#[async_trait]
pub trait Crowd: Send + Sync {
    /// The marketplace's clock as far as it has shown it (never earlier than
    /// ours): deadlines sent to it must be in its future, and a simulated
    /// marketplace may run ahead of real time.
    fn now_ms(&self) -> i64;
    async fn balance(&self) -> Result<Usd>;
    /// The job's HIT type; with `access`, a worker must hold that
    /// qualification (granted to anyone who asks, revoked to block them).
    async fn create_hit_type(&self, spec: &JobSpec, access: Option<&str>) -> Result<String>;
    /// The job's access qualification (named [`access_name`]): auto-granted,
    /// created on first use, the same id every time after.
    async fn access_qualification(&self, job_id: &str) -> Result<String>;
    /// Takes a worker's access away, telling them why; doing it again is
    /// harmless.
    async fn revoke_access(&self, qualification_id: &str, worker_id: &str, reason: &str) -> Result<()>;
    async fn notify(&self, hit_type_id: &str, destination: &str, transport: &str) -> Result<()>;
    /// Ok(Err(..)): the marketplace refused (a used token, no funds, ...).
    async fn create_hit(
        &self,
        hit_type_id: &str,
        request: &HitRequest,
    ) -> Result<std::result::Result<String, CreateHitError>>;
    /// None: no such HIT.
    async fn hit(&self, hit_id: &str) -> Result<Option<HitState>>;
    /// One assignment and its HIT (one call: GetAssignment); None: no such
    /// assignment.
    async fn assignment(&self, assignment_id: &str) -> Result<Option<(AssignmentView, HitState)>>;
    /// Every submitted and approved assignment of the HIT.
    async fn assignments(&self, hit_id: &str) -> Result<Vec<AssignmentView>>;
    /// Approves; true if this call approved it, false if it was approved before.
    async fn approve(&self, assignment_id: &str) -> Result<bool>;
    /// Adds assignments; Ok(Ok(false)) if the token was used (done before).
    async fn add_assignments(
        &self,
        hit_id: &str,
        n: u32,
        token: &str,
    ) -> Result<std::result::Result<bool, CreateHitError>>;
    async fn extend(&self, hit_id: &str, expire_at_ms: i64) -> Result<()>;
    /// Closes the HIT to new workers at once (a time in the past expires it);
    /// accepted assignments may still be submitted.
    async fn expire(&self, hit_id: &str) -> Result<()> {
        self.extend(hit_id, 0).await
    }
}

/// The name of a job's access qualification: one per job, so finding it by
/// name finds the one a racing or crashed call created.
pub fn access_name(job_id: &str) -> String {
    format!("hitloop access: job {job_id}")
}
