//! A function that dies half-way: the real DynamoDB store and MTurk client,
//! wrapped so that chosen calls fail as if the invocation had been killed
//! right before (the call never happens) or right after (it happened, the
//! function never learnt it). The queue then redelivers the message, or
//! sweep finds the work, as in production.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};
use hitloop_core::job::JobSpec;
use hitloop_core::marketplace::{AssignmentView, CreateHitError, HitState};
use hitloop_core::money::Usd;
use hitloop_core::plan::deploy::DeployTransition;
use hitloop_core::plan::publish::HitRequest;
use hitloop_core::plan::refit::Refit;
use hitloop_core::plan::train::Transition;
use hitloop_core::plan::write::{ItemWrite, WriteOutcome};
use hitloop_core::records::{
    BatchStatus, Item, Job, JobModel, JobProgress, JobStatus, PredictionBatch, WorkerEstimate, WorkerStanding,
};
use hitloop_dynamodb::DynamoStore;
use hitloop_pipeline::ports::{Batches, Crowd, Deployments, Items, Jobs, Standings, TrainingClaims, WorkerModels};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum When {
    Before,
    After,
}

#[derive(Debug)]
struct Point {
    every: u32,
    left: u32,
    calls: u32,
}

/// Which calls die: `every`-th call of an operation, `times` times in all.
#[derive(Debug, Default)]
pub struct Crashes {
    points: Mutex<HashMap<(&'static str, When), Point>>,
    fired: Mutex<HashMap<&'static str, u32>>,
}

impl Crashes {
    pub fn at(self, op: &'static str, when: When, every: u32, times: u32) -> Self {
        self.points.lock().unwrap().insert((op, when), Point { every, left: times, calls: 0 });
        self
    }

    /// How many times `op` was made to crash.
    pub fn fired(&self, op: &str) -> u32 {
        self.fired.lock().unwrap().get(op).copied().unwrap_or(0)
    }

    fn roll(&self, op: &'static str, when: When) -> Result<()> {
        let mut points = self.points.lock().unwrap();
        let Some(p) = points.get_mut(&(op, when)) else { return Ok(()) };
        p.calls += 1;
        if p.left > 0 && p.calls % p.every == 0 {
            p.left -= 1;
            *self.fired.lock().unwrap().entry(op).or_default() += 1;
            return Err(Error::Retryable(format!("injected crash {when:?} {op}")));
        }
        Ok(())
    }

    async fn around<T, F>(&self, op: &'static str, call: F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        self.roll(op, When::Before)?;
        let out = call.await?;
        self.roll(op, When::After)?;
        Ok(out)
    }
}

pub struct CrashingStore {
    pub inner: Arc<DynamoStore>,
    pub crashes: Arc<Crashes>,
}

pub struct CrashingCrowd {
    pub inner: Arc<dyn Crowd>,
    pub crashes: Arc<Crashes>,
}

/// The name a write crashes under: what it does.
fn write_op(w: &ItemWrite) -> &'static str {
    if w.decide.is_some() {
        "decide"
    } else if w.reserve.is_some() {
        "reserve"
    } else {
        "record_answer"
    }
}

#[async_trait]
impl Jobs for CrashingStore {
    async fn job(&self, job_id: &str) -> Result<Option<Job>> {
        self.inner.job(job_id).await
    }
    async fn progress(&self, job_id: &str) -> Result<Option<JobProgress>> {
        self.inner.progress(job_id).await
    }
    async fn create_job(&self, job: &Job) -> Result<bool> {
        self.crashes.around("create_job", self.inner.create_job(job)).await
    }
    async fn put_failed_job(&self, job: &Job) -> Result<()> {
        self.inner.put_failed_job(job).await
    }
    async fn transition(&self, job_id: &str, from: &[JobStatus], to: JobStatus, reason: Option<&str>) -> Result<bool> {
        self.crashes.around("transition", self.inner.transition(job_id, from, to, reason)).await
    }
    async fn set_hit_type(&self, job_id: &str, hit_type_id: &str) -> Result<()> {
        self.inner.set_hit_type(job_id, hit_type_id).await
    }
    async fn amend_budget(&self, job_id: &str, old: Option<Usd>, new: Option<Usd>) -> Result<bool> {
        self.inner.amend_budget(job_id, old, new).await
    }
    async fn complete_if_done(&self, job_id: &str) -> Result<bool> {
        self.crashes.around("complete_if_done", self.inner.complete_if_done(job_id)).await
    }
    async fn record_final_check(&self, job_id: &str) -> Result<bool> {
        self.crashes.around("record_final_check", self.inner.record_final_check(job_id)).await
    }
    async fn set_completion_sent(&self, job_id: &str) -> Result<()> {
        self.inner.set_completion_sent(job_id).await
    }
    async fn record_outputs(&self, job_id: &str, at: i64) -> Result<()> {
        self.inner.record_outputs(job_id, at).await
    }
    async fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>> {
        self.inner.jobs_with_status(status).await
    }
}

#[async_trait]
impl Items for CrashingStore {
    async fn put_new_items(&self, items: &[Item]) -> Result<usize> {
        self.crashes.around("put_new_items", self.inner.put_new_items(items)).await
    }
    async fn item(&self, job_id: &str, item_id: &str) -> Result<Option<Item>> {
        self.inner.item(job_id, item_id).await
    }
    async fn items(&self, job_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>> {
        self.inner.items(job_id, after, limit).await
    }
    async fn open_items(&self, cursor: Option<String>, limit: usize) -> Result<(Vec<Item>, Option<String>)> {
        self.inner.open_items(cursor, limit).await
    }
    async fn write(&self, write: &ItemWrite) -> Result<WriteOutcome> {
        self.crashes.around(write_op(write), self.inner.write(write)).await
    }
    async fn mark_published(&self, job_id: &str, item_id: &str, hit_id: &str) -> Result<bool> {
        self.crashes.around("mark_published", self.inner.mark_published(job_id, item_id, hit_id)).await
    }
}

#[async_trait]
impl TrainingClaims for CrashingStore {
    async fn claim_training(&self, job_id: &str, now: i64, until: i64) -> Result<bool> {
        self.inner.claim_training(job_id, now, until).await
    }
    async fn release_training(&self, job_id: &str) -> Result<()> {
        self.inner.release_training(job_id).await
    }
    async fn record_training(&self, job_id: &str, transition: &Transition) -> Result<bool> {
        self.inner.record_training(job_id, transition).await
    }
}

#[async_trait]
impl Batches for CrashingStore {
    async fn put_batch(&self, batch: &PredictionBatch) -> Result<bool> {
        self.inner.put_batch(batch).await
    }
    async fn batch(&self, job_id: &str, batch: &str) -> Result<Option<PredictionBatch>> {
        self.inner.batch(job_id, batch).await
    }
    async fn update_batch(&self, next: &PredictionBatch, from: &[BatchStatus]) -> Result<bool> {
        self.inner.update_batch(next, from).await
    }
    async fn job_batches(&self, job_id: &str) -> Result<Vec<PredictionBatch>> {
        self.inner.job_batches(job_id).await
    }
    async fn open_batches(&self, limit: usize) -> Result<Vec<PredictionBatch>> {
        self.inner.open_batches(limit).await
    }
}

#[async_trait]
impl Deployments for CrashingStore {
    async fn claim_deployment(&self, job_id: &str, now: i64, until: i64) -> Result<bool> {
        self.inner.claim_deployment(job_id, now, until).await
    }
    async fn release_deployment(&self, job_id: &str) -> Result<()> {
        self.inner.release_deployment(job_id).await
    }
    async fn record_deployment(&self, job_id: &str, transition: &DeployTransition) -> Result<bool> {
        self.crashes.around("record_deployment", self.inner.record_deployment(job_id, transition)).await
    }
}

#[async_trait]
impl WorkerModels for CrashingStore {
    async fn estimates(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerEstimate>> {
        self.inner.estimates(job_id, workers).await
    }
    async fn put_estimates(&self, job_id: &str, estimates: &[WorkerEstimate]) -> Result<()> {
        self.inner.put_estimates(job_id, estimates).await
    }
    async fn items_to_refit(&self, job_id: &str, limit: usize) -> Result<Vec<Item>> {
        self.inner.items_to_refit(job_id, limit).await
    }
    async fn job_model(&self, job_id: &str) -> Result<JobModel> {
        self.inner.job_model(job_id).await
    }
    async fn apply_refit(&self, refit: &Refit) -> Result<bool> {
        self.crashes.around("apply_refit", self.inner.apply_refit(refit)).await
    }
}

#[async_trait]
impl Standings for CrashingStore {
    async fn standings(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerStanding>> {
        self.inner.standings(job_id, workers).await
    }
    async fn all_standings(&self, job_id: &str) -> Result<Vec<WorkerStanding>> {
        self.inner.all_standings(job_id).await
    }
    async fn block(&self, job_id: &str, worker_id: &str, reason: &str, now: i64) -> Result<bool> {
        self.crashes.around("block", self.inner.block(job_id, worker_id, reason, now)).await
    }
    async fn record_redecided(&self, job_id: &str, through: u64) -> Result<bool> {
        self.crashes.around("record_redecided", self.inner.record_redecided(job_id, through)).await
    }
}

#[async_trait]
impl Crowd for CrashingCrowd {
    fn now_ms(&self) -> i64 {
        self.inner.now_ms()
    }
    async fn balance(&self) -> Result<Usd> {
        self.inner.balance().await
    }
    async fn create_hit_type(&self, spec: &JobSpec, access: Option<&str>) -> Result<String> {
        self.inner.create_hit_type(spec, access).await
    }
    async fn access_qualification(&self, job_id: &str) -> Result<String> {
        self.inner.access_qualification(job_id).await
    }
    async fn revoke_access(&self, qualification_id: &str, worker_id: &str, reason: &str) -> Result<()> {
        self.crashes.around("revoke_access", self.inner.revoke_access(qualification_id, worker_id, reason)).await
    }
    async fn notify(&self, hit_type_id: &str, destination: &str, transport: &str) -> Result<()> {
        self.inner.notify(hit_type_id, destination, transport).await
    }
    async fn create_hit(
        &self,
        hit_type_id: &str,
        request: &HitRequest,
    ) -> Result<std::result::Result<String, CreateHitError>> {
        self.crashes.around("create_hit", self.inner.create_hit(hit_type_id, request)).await
    }
    async fn hit(&self, hit_id: &str) -> Result<Option<HitState>> {
        self.inner.hit(hit_id).await
    }
    async fn assignment(&self, assignment_id: &str) -> Result<Option<(AssignmentView, HitState)>> {
        self.inner.assignment(assignment_id).await
    }
    async fn assignments(&self, hit_id: &str) -> Result<Vec<AssignmentView>> {
        self.inner.assignments(hit_id).await
    }
    async fn approve(&self, assignment_id: &str) -> Result<bool> {
        self.crashes.around("approve", self.inner.approve(assignment_id)).await
    }
    async fn add_assignments(
        &self,
        hit_id: &str,
        n: u32,
        token: &str,
    ) -> Result<std::result::Result<bool, CreateHitError>> {
        self.crashes.around("add_assignments", self.inner.add_assignments(hit_id, n, token)).await
    }
    async fn extend(&self, hit_id: &str, expire_at_ms: i64) -> Result<()> {
        self.crashes.around("extend", self.inner.extend(hit_id, expire_at_ms)).await
    }
}

/// The functions with their store and marketplace dying where `crashes` says.
pub fn wrap(
    functions: &mut hitloop_local::functions::Functions,
    store: Arc<DynamoStore>,
    crowd: Arc<dyn Crowd>,
    crashes: Arc<Crashes>,
) {
    let store = Arc::new(CrashingStore { inner: store, crashes: crashes.clone() });
    let crowd: Arc<dyn Crowd> = Arc::new(CrashingCrowd { inner: crowd, crashes });
    functions.ingest.store = store.clone();
    functions.publish.store = store.clone();
    functions.publish.crowd = crowd.clone();
    functions.collect.store = store.clone();
    functions.collect.crowd = crowd.clone();
    functions.sweep.collect.store = store.clone();
    functions.sweep.collect.crowd = crowd;
    functions.train.store = store;
}
