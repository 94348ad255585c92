//! The ports: what the pipeline needs from the world, named for the domain.
//! Adapters in `adapters/` implement them over the AWS SDKs.

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::error::Result;
use crate::money::Usd;
use crate::records::*;

/// The outcome of reserving money for an item's assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// This round was reserved before (a retry): go on with it.
    AlreadyReserved,
    /// The job's budget cannot cover it.
    OverBudget,
    /// The job is not active (paused, failed, complete).
    JobInactive,
    /// The item was decided meanwhile: buy nothing for it.
    ItemDone,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    async fn job(&self, job_id: &str) -> Result<Option<Job>>;
    /// Creates the job, or replaces a job that failed validation. False if a
    /// live job with this id exists.
    async fn create_job(&self, job: &Job) -> Result<bool>;
    /// Writes a job that failed validation (no items exist).
    async fn put_failed_job(&self, job: &Job) -> Result<()>;
    /// Moves a job between states; false if it was not in one of `from`.
    async fn transition(&self, job_id: &str, from: &[JobStatus], to: JobStatus, reason: Option<&str>) -> Result<bool>;
    async fn set_hit_type(&self, job_id: &str, hit_type_id: &str) -> Result<()>;

    /// Writes items that do not exist yet; returns how many were new.
    async fn put_new_items(&self, items: &[Item]) -> Result<usize>;
    async fn item(&self, job_id: &str, item_id: &str) -> Result<Option<Item>>;
    /// Items of a job, a page at a time (`after`: the last item id seen).
    async fn items(&self, job_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>>;
    /// Reserves `cost` of the job's budget for round `round` of an item,
    /// recording `assignments` more bought, exactly once per round. The
    /// ceiling is the budget stored with the job when the write happens, so
    /// reservations racing each other or a budget change never overspend.
    async fn reserve(&self, job: &Job, item: &Item, round: u32, assignments: u32, cost: Usd) -> Result<Reservation>;
    /// Replaces a live job's spec with `spec`, which differs from it at most
    /// in its budget, if the stored budget is still `old`; false otherwise
    /// (changed meanwhile, or the job is no longer live).
    async fn amend_budget(&self, job_id: &str, old: Option<Usd>, spec: &crate::job::JobSpec) -> Result<bool>;
    /// Records the item's HIT (pending -> published) and the HIT -> item map.
    async fn mark_published(&self, job_id: &str, item_id: &str, hit_id: &str) -> Result<()>;
    async fn hit_owner(&self, hit_id: &str) -> Result<Option<HitOwner>>;

    /// Records an answer once (keyed by assignment); true if it is new.
    async fn record_answer(&self, answer: &AnswerRecord) -> Result<bool>;
    async fn answers(&self, job_id: &str, item_id: &str) -> Result<Vec<AnswerRecord>>;
    /// Marks an approved answer paid and adds its cost to the job, once.
    async fn mark_paid(&self, answer: &AnswerRecord, cost: Usd) -> Result<bool>;
    /// Decides an item (published -> labeled/unresolved), counts it on the
    /// job and gives `release` of its reservation back to the budget, all in
    /// one write; false if it was decided already. (The item's answer count
    /// is record_answer's: it counts every answer exactly once.)
    async fn decide(&self, job_id: &str, item_id: &str, label: Option<&str>, agreed: u32, release: Usd)
        -> Result<bool>;
    /// labeling -> complete, only when every item is decided.
    async fn complete_if_done(&self, job_id: &str) -> Result<bool>;
    async fn set_completion_sent(&self, job_id: &str) -> Result<()>;
    /// Records when the job's outputs were written.
    async fn record_outputs(&self, job_id: &str, at: i64) -> Result<()>;
    /// Takes the right to start the job's training job until `until` (epoch
    /// ms): false if the job is not `complete` or another invocation holds it.
    async fn claim_training(&self, job_id: &str, now: i64, until: i64) -> Result<bool>;
    async fn release_training(&self, job_id: &str) -> Result<()>;
    /// Moves the job from one of `from` to `to`, recording its training job
    /// (and releasing the claim); false if it was in none of `from`.
    async fn record_training(
        &self,
        job_id: &str,
        from: &[JobStatus],
        to: JobStatus,
        training: &TrainingRecord,
        reason: Option<&str>,
    ) -> Result<bool>;

    /// Items not yet decided, across all jobs (for sweep), a page at a time.
    async fn open_items(&self, shard: u32, after: Option<String>, limit: usize) -> Result<(Vec<Item>, Option<String>)>;
    async fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>>;

    async fn event_seen(&self, event_doc_id: &str) -> Result<bool>;
    async fn mark_event(&self, event_doc_id: &str) -> Result<()>;
}

/// The crowd marketplace (MTurk or a compatible service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitState {
    pub hit_id: String,
    pub status: String,
    pub max_assignments: u32,
    pub pending: u32,
    pub available: u32,
    /// Epoch milliseconds.
    pub expiration: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentView {
    pub assignment_id: String,
    pub worker_id: String,
    pub status: String,
    pub answer: String,
    pub submit_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateHitError {
    /// The UniqueRequestToken was used: the HIT exists (its id if known).
    AlreadyExists(Option<String>),
    InsufficientFunds(String),
    Other(String),
}

#[async_trait]
pub trait Crowd: Send + Sync {
    /// The marketplace's clock as far as it has shown it (never earlier than
    /// ours): deadlines sent to it must be in its future, and a simulated
    /// marketplace may run ahead of real time.
    fn now_ms(&self) -> i64;
    async fn balance(&self) -> Result<Usd>;
    async fn create_hit_type(&self, spec: &crate::job::JobSpec) -> Result<String>;
    async fn notify(&self, hit_type_id: &str, destination: &str, transport: &str) -> Result<()>;
    async fn create_hit(
        &self,
        hit_type_id: &str,
        question: &str,
        assignments: u32,
        lifetime_s: i64,
        annotation: &str,
        token: &str,
    ) -> Result<std::result::Result<String, CreateHitError>>;
    async fn hit(&self, hit_id: &str) -> Result<Option<HitState>>;
    /// Submitted and approved assignments.
    async fn assignments(&self, hit_id: &str) -> Result<Vec<AssignmentView>>;
    /// Approves; true if this call approved it, false if it was approved before.
    async fn approve(&self, assignment_id: &str) -> Result<bool>;
    /// Adds assignments; Ok(false) if the token was used (done before).
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

/// What a HEAD request tells of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub etag: String,
    pub size: u64,
}

/// Object storage for manifests, templates and reports.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// A small text object (job.json, a template); None if missing.
    async fn text(&self, bucket: &str, key: &str, max_bytes: usize) -> Result<Option<String>>;
    /// A streaming reader and the object's ETag; None if missing.
    async fn open(&self, bucket: &str, key: &str) -> Result<Option<(Box<dyn AsyncRead + Send + Unpin>, String)>>;
    /// The object's ETag and size without reading it; None if missing.
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectHead>>;
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<()>;
    async fn delete(&self, bucket: &str, key: &str) -> Result<()>;
}

/// Queues between functions.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn send_all(&self, queue_url: &str, bodies: Vec<String>) -> Result<()>;
}

/// What SageMaker says of a training job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingView {
    pub name: String,
    pub arn: Option<String>,
    /// InProgress, Completed, Failed, Stopping or Stopped.
    pub status: String,
    pub failure_reason: Option<String>,
    pub model_artifacts: Option<String>,
}

/// Everything CreateTrainingJob is called with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRequest {
    pub name: String,
    pub image: String,
    pub role_arn: String,
    pub instance_type: String,
    pub instance_count: u32,
    pub volume_size_gb: u32,
    pub max_runtime_seconds: u32,
    pub hyperparameters: std::collections::BTreeMap<String, String>,
    /// s3:// prefix of the train channel.
    pub train_uri: String,
    /// s3:// prefix of the held-out channel, if the job holds items out.
    pub test_uri: Option<String>,
    /// Its channel name: `validation` for XGBoost (the channel it scores),
    /// `test` otherwise.
    pub test_channel: String,
    pub content_type: String,
    /// s3:// prefix SageMaker writes the model under.
    pub output_uri: String,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// A training job of that name exists (SageMaker's ResourceInUse).
    Exists,
    /// SageMaker refused the request (validation, permissions, quotas).
    Refused(String),
}

/// Model training (SageMaker, or the local trainer behind the same API).
#[async_trait]
pub trait Trainer: Send + Sync {
    async fn describe(&self, name: &str) -> Result<Option<TrainingView>>;
    /// Starts a training job; Ok(Ok(arn)) when it was created by this call.
    async fn start(&self, request: &TrainingRequest) -> Result<std::result::Result<String, StartError>>;
}
