//! What the steps keep, split by aggregate: jobs, items (with their
//! answers), training and deployment claims and worker estimates. `hitloop-dynamodb`
//! implements them on one DynamoDB table, [`crate::memory::MemoryStore`] in
//! memory for tests; both pass the same contract suite.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use hitloop_core::error::Result;
use hitloop_core::job::JobSpec;
use hitloop_core::money::Usd;
use hitloop_core::plan::deploy::DeployTransition;
use hitloop_core::plan::refit::Refit;
use hitloop_core::plan::train::Transition;
use hitloop_core::plan::write::{ItemWrite, WriteOutcome};
use hitloop_core::records::{
    BatchStatus, Item, Job, JobModel, JobProgress, JobStatus, PredictionBatch, WorkerEstimate, WorkerStanding,
};

#[async_trait]
pub trait Jobs: Send + Sync {
    async fn job(&self, job_id: &str) -> Result<Option<Job>>;
    /// The job's status and counts, without its spec and template.
    async fn progress(&self, job_id: &str) -> Result<Option<JobProgress>>;
    /// Creates the job, or replaces a job that failed validation. False if a
    /// live job with this id exists.
    async fn create_job(&self, job: &Job) -> Result<bool>;
    /// Writes a job that failed validation (Invalid if a live one exists).
    async fn put_failed_job(&self, job: &Job) -> Result<()>;
    /// Moves a job between states; false if it was not in one of `from`.
    async fn transition(&self, job_id: &str, from: &[JobStatus], to: JobStatus, reason: Option<&str>) -> Result<bool>;
    async fn set_hit_type(&self, job_id: &str, hit_type_id: &str) -> Result<()>;
    /// Sets a live job's budget to `new` if it is still `old`; false
    /// otherwise (changed meanwhile, or the job is no longer live).
    async fn amend_budget(&self, job_id: &str, old: Option<Usd>, new: Option<Usd>) -> Result<bool>;
    /// labeling -> complete, only when every item is decided, every block
    /// accounted for and the final check (if the job has one) made.
    async fn complete_if_done(&self, job_id: &str) -> Result<bool>;
    /// Records that the job's final check was made; false if it was not due.
    async fn record_final_check(&self, job_id: &str) -> Result<bool>;
    async fn set_completion_sent(&self, job_id: &str) -> Result<()>;
    /// Records when the job's outputs were written.
    async fn record_outputs(&self, job_id: &str, at: i64) -> Result<()>;
    async fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>>;
}

#[async_trait]
pub trait Items: Send + Sync {
    /// Writes the items that do not exist yet, never touching one that does
    /// (a racing ingest may have published it); returns how many were new.
    async fn put_new_items(&self, items: &[Item]) -> Result<usize>;
    async fn item(&self, job_id: &str, item_id: &str) -> Result<Option<Item>>;
    /// Items of a job in id order, a page at a time (`after`: the last id seen).
    async fn items(&self, job_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>>;
    /// Items not yet decided, across all jobs (for sweep), a page at a time:
    /// pass the cursor a page returned to get the next; None at the end.
    /// May lag the items a little (an index): a write names its version.
    async fn open_items(&self, cursor: Option<String>, limit: usize) -> Result<(Vec<Item>, Option<String>)>;
    /// Carries out a write in one step: the item only if it is still at the
    /// version the write names, the job's counters with it, and a
    /// reservation only within the job's budget while the job is active.
    async fn write(&self, write: &ItemWrite) -> Result<WriteOutcome>;
    /// Records the item's HIT (pending -> published); false if it was not
    /// pending.
    async fn mark_published(&self, job_id: &str, item_id: &str, hit_id: &str) -> Result<bool>;
}

#[async_trait]
pub trait TrainingClaims: Send + Sync {
    /// Takes the right to start the job's training job until `until` (epoch
    /// ms): false if the job is not `complete` or another invocation holds it.
    async fn claim_training(&self, job_id: &str, now: i64, until: i64) -> Result<bool>;
    async fn release_training(&self, job_id: &str) -> Result<()>;
    /// Applies the transition (and releases the claim); false if the job was
    /// in none of its `from` states.
    async fn record_training(&self, job_id: &str, transition: &Transition) -> Result<bool>;
}

/// A job's deployment: the right to ask SageMaker for its endpoint (a lease,
/// so that two invocations never both create or move it), and its moves
/// between deployment states.
#[async_trait]
pub trait Deployments: Send + Sync {
    /// Takes the right until `until` (epoch ms): false if the job is not
    /// `deploying` or another invocation holds it.
    async fn claim_deployment(&self, job_id: &str, now: i64, until: i64) -> Result<bool>;
    async fn release_deployment(&self, job_id: &str) -> Result<()>;
    /// Applies the transition (and releases the claim); false if the job was
    /// in none of its `from` states.
    async fn record_deployment(&self, job_id: &str, transition: &DeployTransition) -> Result<bool>;
}

/// A job's prediction batches.
#[async_trait]
pub trait Batches: Send + Sync {
    /// Records a batch just checked; false if it exists and has not failed
    /// (a failed batch is replaced: its fixed upload).
    async fn put_batch(&self, batch: &PredictionBatch) -> Result<bool>;
    async fn batch(&self, job_id: &str, batch: &str) -> Result<Option<PredictionBatch>>;
    /// Replaces the record if its status is one of `from`; false otherwise.
    async fn update_batch(&self, next: &PredictionBatch, from: &[BatchStatus]) -> Result<bool>;
    /// Every batch of a job, in name order.
    async fn job_batches(&self, job_id: &str) -> Result<Vec<PredictionBatch>>;
    /// Up to `limit` batches of any job that are open
    /// (`PredictionBatch::is_open`), for sweep.
    async fn open_batches(&self, limit: usize) -> Result<Vec<PredictionBatch>>;
}

/// Per job and worker, what a worker model knows (see `WorkerEstimate`).
#[async_trait]
pub trait WorkerModels: Send + Sync {
    /// The estimates of these workers; a worker with none is left out.
    async fn estimates(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerEstimate>>;
    async fn put_estimates(&self, job_id: &str, estimates: &[WorkerEstimate]) -> Result<()>;
    /// Up to `limit` of the job's items with answers its worker model has
    /// not counted (marked by the write that recorded them), as they are now.
    async fn items_to_refit(&self, job_id: &str, limit: usize) -> Result<Vec<Item>>;
    /// The job's worker model (empty, generation 0, before its first refit).
    async fn job_model(&self, job_id: &str) -> Result<JobModel>;
    /// Applies a refit in one conditional write: the job's model only at the
    /// generation the refit read, each item only at the version it read and
    /// still marked, the estimates with them. False (nothing written) if
    /// any of that moved meanwhile.
    async fn apply_refit(&self, refit: &Refit) -> Result<bool>;
}

/// Per job and worker, what the gold items showed and whether the job
/// blocked the worker. Gold answers are added by the item writes that
/// record them (`ItemWrite::gold`), so each counts once.
#[async_trait]
pub trait Standings: Send + Sync {
    /// The standings of these workers; a worker with none is left out.
    async fn standings(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerStanding>>;
    /// Every worker with a standing on the job, by worker id.
    async fn all_standings(&self, job_id: &str) -> Result<Vec<WorkerStanding>>;
    /// Blocks the worker, with the reason, and counts the block on the job
    /// (whose items then wait to be re-decided) in one write; false if the
    /// worker was blocked before.
    async fn block(&self, job_id: &str, worker_id: &str, reason: &str, now: i64) -> Result<bool>;
    /// The job's items were re-decided for its first `through` blocks;
    /// false if as many or more were recorded before.
    async fn record_redecided(&self, job_id: &str, through: u64) -> Result<bool>;
}

/// Which of `workers` the job blocked: one read of their standings, none
/// for a job that blocks nobody (`spec`: the job's).
pub async fn blocked_among<S: Standings + ?Sized>(
    store: &S,
    spec: &JobSpec,
    job_id: &str,
    workers: &[String],
) -> Result<BTreeSet<String>> {
    if !spec.blocks_anyone() || workers.is_empty() {
        return Ok(BTreeSet::new());
    }
    let standings = store.standings(job_id, workers).await?;
    Ok(standings.into_values().filter(|s| s.blocked.is_some()).map(|s| s.worker_id).collect())
}

/// Every item of a job, a page at a time. A page may come back short
/// (DynamoDB's 1 MB cap), so it goes on until a page is empty.
pub async fn all_items(store: &dyn Items, job_id: &str) -> Result<Vec<Item>> {
    let mut items: Vec<Item> = Vec::new();
    loop {
        let page = store.items(job_id, items.last().map(|i| i.item_id.as_str()), 500).await?;
        if page.is_empty() {
            return Ok(items);
        }
        items.extend(page);
    }
}
