//! The store ports in memory, with DynamoDB's conditions: the contract suite
//! runs the same cases against this and `hitloop-dynamodb` on moto, and the
//! steps' tests run on it with no server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};
use hitloop_core::money::Usd;
use hitloop_core::plan::deploy::DeployTransition;
use hitloop_core::plan::refit::Refit;
use hitloop_core::plan::train::Transition;
use hitloop_core::plan::write::{ItemWrite, Refusal, WriteOutcome};
use hitloop_core::records::{
    now_ms, BatchStatus, FinalCheck, Item, ItemStatus, Job, JobModel, JobProgress, JobStatus, PredictionBatch,
    WorkerEstimate, WorkerStanding,
};

use crate::ports::{Batches, Deployments, Items, Jobs, Standings, TrainingClaims, WorkerModels};

#[derive(Default)]
struct State {
    jobs: HashMap<String, Job>,
    /// job -> training claim lease (epoch ms)
    claims: HashMap<String, i64>,
    /// job -> deployment claim lease (epoch ms)
    deploy_claims: HashMap<String, i64>,
    /// (job, batch) -> prediction batch
    batches: HashMap<(String, String), PredictionBatch>,
    items: BTreeMap<(String, String), Item>,
    estimates: BTreeMap<(String, String), WorkerEstimate>,
    /// Items with answers their job's worker model has not counted.
    refit_due: BTreeSet<(String, String)>,
    models: HashMap<String, JobModel>,
    standings: BTreeMap<(String, String), WorkerStanding>,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    calls: Mutex<BTreeMap<&'static str, u32>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Error::Permanent("the memory store's lock is poisoned".into()))
    }

    /// Counts a call of `op` (one request to a real store).
    fn count(&self, op: &'static str) {
        if let Ok(mut c) = self.calls.lock() {
            *c.entry(op).or_default() += 1;
        }
    }

    /// How many times each operation was called.
    pub fn calls(&self) -> BTreeMap<&'static str, u32> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

const LIVE: [JobStatus; 3] = [JobStatus::Publishing, JobStatus::Labeling, JobStatus::Paused];

#[async_trait]
impl Jobs for MemoryStore {
    async fn job(&self, job_id: &str) -> Result<Option<Job>> {
        self.count("job");
        Ok(self.state()?.jobs.get(job_id).cloned())
    }

    async fn progress(&self, job_id: &str) -> Result<Option<JobProgress>> {
        self.count("progress");
        Ok(self.state()?.jobs.get(job_id).map(Job::progress))
    }

    async fn create_job(&self, job: &Job) -> Result<bool> {
        self.count("create_job");
        let mut s = self.state()?;
        if s.jobs.get(&job.job_id).is_some_and(|j| j.status != JobStatus::Failed) {
            return Ok(false);
        }
        s.claims.remove(&job.job_id);
        s.deploy_claims.remove(&job.job_id);
        s.jobs.insert(job.job_id.clone(), job.clone());
        Ok(true)
    }

    async fn put_failed_job(&self, job: &Job) -> Result<()> {
        self.count("put_failed_job");
        if self.create_job(job).await? {
            Ok(())
        } else {
            Err(Error::Invalid(format!("job {} exists and is not failed", job.job_id)))
        }
    }

    async fn transition(&self, job_id: &str, from: &[JobStatus], to: JobStatus, reason: Option<&str>) -> Result<bool> {
        self.count("transition");
        let mut s = self.state()?;
        let Some(j) = s.jobs.get_mut(job_id).filter(|j| from.contains(&j.status)) else { return Ok(false) };
        j.status = to;
        j.reason = reason.map(str::to_string);
        j.updated_at = now_ms();
        Ok(true)
    }

    async fn set_hit_type(&self, job_id: &str, hit_type_id: &str) -> Result<()> {
        self.count("set_hit_type");
        if let Some(j) = self.state()?.jobs.get_mut(job_id) {
            j.hit_type_id = Some(hit_type_id.into());
        }
        Ok(())
    }

    async fn amend_budget(&self, job_id: &str, old: Option<Usd>, new: Option<Usd>) -> Result<bool> {
        self.count("amend_budget");
        let mut s = self.state()?;
        let Some(j) = s.jobs.get_mut(job_id).filter(|j| LIVE.contains(&j.status) && j.spec.budget_usd == old) else {
            return Ok(false);
        };
        j.spec.budget_usd = new;
        j.updated_at = now_ms();
        Ok(true)
    }

    async fn complete_if_done(&self, job_id: &str) -> Result<bool> {
        self.count("complete_if_done");
        let mut s = self.state()?;
        let Some(j) = s.jobs.get_mut(job_id).filter(|j| j.progress().done()) else {
            return Ok(false);
        };
        j.status = JobStatus::Complete;
        j.reason = None;
        j.updated_at = now_ms();
        Ok(true)
    }

    async fn record_final_check(&self, job_id: &str) -> Result<bool> {
        self.count("record_final_check");
        let mut s = self.state()?;
        let Some(j) = s.jobs.get_mut(job_id).filter(|j| j.final_check == FinalCheck::Due) else { return Ok(false) };
        j.final_check = FinalCheck::Done;
        Ok(true)
    }

    async fn set_completion_sent(&self, job_id: &str) -> Result<()> {
        self.count("set_completion_sent");
        if let Some(j) = self.state()?.jobs.get_mut(job_id) {
            j.completion_sent = true;
        }
        Ok(())
    }

    async fn record_outputs(&self, job_id: &str, at: i64) -> Result<()> {
        self.count("record_outputs");
        match self.state()?.jobs.get_mut(job_id) {
            Some(j) => {
                j.outputs_at = Some(at);
                Ok(())
            }
            None => Err(Error::Permanent(format!("there is no job {job_id}"))),
        }
    }

    async fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>> {
        self.count("jobs_with_status");
        let mut jobs: Vec<Job> = self.state()?.jobs.values().filter(|j| j.status == status).cloned().collect();
        jobs.sort_by_key(|j| j.created_at);
        Ok(jobs)
    }
}

#[async_trait]
impl Items for MemoryStore {
    async fn put_new_items(&self, items: &[Item]) -> Result<usize> {
        self.count("put_new_items");
        let mut s = self.state()?;
        let mut written = 0;
        for i in items {
            let key = (i.job_id.clone(), i.item_id.clone());
            if let std::collections::btree_map::Entry::Vacant(slot) = s.items.entry(key) {
                slot.insert(i.clone());
                written += 1;
            }
        }
        Ok(written)
    }

    async fn item(&self, job_id: &str, item_id: &str) -> Result<Option<Item>> {
        self.count("item");
        Ok(self.state()?.items.get(&(job_id.to_string(), item_id.to_string())).cloned())
    }

    async fn items(&self, job_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>> {
        self.count("items");
        let s = self.state()?;
        Ok(s.items
            .values()
            .filter(|i| i.job_id == job_id && after.is_none_or(|a| i.item_id.as_str() > a))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn open_items(&self, cursor: Option<String>, limit: usize) -> Result<(Vec<Item>, Option<String>)> {
        self.count("open_items");
        let s = self.state()?;
        let after = cursor.as_deref().and_then(|c| c.split_once('\u{0}'));
        let mut open = s
            .items
            .values()
            .filter(|i| !i.status.is_decided())
            .filter(|i| after.is_none_or(|(j, it)| (i.job_id.as_str(), i.item_id.as_str()) > (j, it)));
        let page: Vec<Item> = open.by_ref().take(limit).cloned().collect();
        let more = open.next().is_some();
        let next = page.last().filter(|_| more).map(|i| format!("{}\u{0}{}", i.job_id, i.item_id));
        Ok((page, next))
    }

    async fn write(&self, w: &ItemWrite) -> Result<WriteOutcome> {
        self.count("write");
        let mut guard = self.state()?;
        let s = &mut *guard;
        let key = (w.job_id.clone(), w.item_id.clone());
        let Some(item) = s.items.get_mut(&key).filter(|i| i.version == w.version) else {
            return Ok(WriteOutcome::Conflict);
        };
        let Some(job) = s.jobs.get_mut(&w.job_id) else {
            return Err(Error::Permanent(format!("item {} has no job {}", w.item_id, w.job_id)));
        };
        if let Some(r) = &w.reserve {
            if !job.status.is_active() {
                return Ok(WriteOutcome::Refused(Refusal::JobInactive));
            }
            if job.spec.budget_usd.is_some_and(|b| job.reserved + r.cost > b) {
                return Ok(WriteOutcome::Refused(Refusal::OverBudget {
                    reserved: job.reserved,
                    budget: job.spec.budget_usd,
                }));
            }
        }
        w.apply_to(item);
        if w.refit_due {
            s.refit_due.insert(key);
        }
        if let Some(r) = &w.reopen {
            job.decided = job.decided.saturating_sub(1);
            match r.was {
                ItemStatus::Labeled => job.labeled = job.labeled.saturating_sub(1),
                _ => job.unresolved = job.unresolved.saturating_sub(1),
            }
            job.answers = job.answers.saturating_sub(r.answers);
            job.spent -= r.spent;
        }
        let d = &w.job;
        job.decided += d.decided;
        job.labeled += d.labeled;
        job.unresolved += d.unresolved;
        job.answers += d.answers;
        job.spent += d.spent;
        job.reserved += d.reserved;
        job.assignments_bought += d.bought;
        if d.decided > 0 {
            job.updated_at = w.now;
        }
        for t in &w.gold {
            let standing = s
                .standings
                .entry((w.job_id.clone(), t.worker_id.clone()))
                .or_insert_with(|| WorkerStanding { worker_id: t.worker_id.clone(), ..WorkerStanding::default() });
            standing.gold_answers += t.answers;
            standing.gold_correct += t.correct;
        }
        Ok(WriteOutcome::Applied)
    }

    async fn mark_published(&self, job_id: &str, item_id: &str, hit_id: &str) -> Result<bool> {
        self.count("mark_published");
        let mut s = self.state()?;
        let key = (job_id.to_string(), item_id.to_string());
        let Some(i) = s.items.get_mut(&key).filter(|i| i.status == ItemStatus::Pending) else { return Ok(false) };
        i.status = ItemStatus::Published;
        i.hit_id = Some(hit_id.into());
        i.version += 1;
        i.updated_at = now_ms();
        Ok(true)
    }
}

#[async_trait]
impl TrainingClaims for MemoryStore {
    async fn claim_training(&self, job_id: &str, now: i64, until: i64) -> Result<bool> {
        self.count("claim_training");
        let mut s = self.state()?;
        if !s.jobs.get(job_id).is_some_and(|j| j.status == JobStatus::Complete) {
            return Ok(false);
        }
        if s.claims.get(job_id).is_some_and(|lease| *lease >= now) {
            return Ok(false);
        }
        s.claims.insert(job_id.into(), until);
        Ok(true)
    }

    async fn release_training(&self, job_id: &str) -> Result<()> {
        self.count("release_training");
        self.state()?.claims.remove(job_id);
        Ok(())
    }

    async fn record_training(&self, job_id: &str, t: &Transition) -> Result<bool> {
        self.count("record_training");
        let mut s = self.state()?;
        let Some(j) = s.jobs.get_mut(job_id).filter(|j| t.from.contains(&j.status)) else { return Ok(false) };
        j.status = t.to;
        j.training = Some(t.record.clone());
        if let Some(d) = &t.deployment {
            j.deployment = Some(d.clone());
        }
        j.reason = t.reason.clone();
        j.updated_at = now_ms();
        s.claims.remove(job_id);
        Ok(true)
    }
}

#[async_trait]
impl Batches for MemoryStore {
    async fn put_batch(&self, batch: &PredictionBatch) -> Result<bool> {
        self.count("put_batch");
        let mut s = self.state()?;
        let key = (batch.job_id.clone(), batch.batch.clone());
        if s.batches.get(&key).is_some_and(|b| b.status != BatchStatus::Failed) {
            return Ok(false);
        }
        s.batches.insert(key, batch.clone());
        Ok(true)
    }

    async fn batch(&self, job_id: &str, batch: &str) -> Result<Option<PredictionBatch>> {
        self.count("batch");
        Ok(self.state()?.batches.get(&(job_id.to_string(), batch.to_string())).cloned())
    }

    async fn update_batch(&self, next: &PredictionBatch, from: &[BatchStatus]) -> Result<bool> {
        self.count("update_batch");
        let mut s = self.state()?;
        let key = (next.job_id.clone(), next.batch.clone());
        let Some(b) = s.batches.get_mut(&key).filter(|b| from.contains(&b.status)) else { return Ok(false) };
        *b = next.clone();
        Ok(true)
    }

    async fn job_batches(&self, job_id: &str) -> Result<Vec<PredictionBatch>> {
        self.count("job_batches");
        let mut batches: Vec<PredictionBatch> =
            self.state()?.batches.values().filter(|b| b.job_id == job_id).cloned().collect();
        batches.sort_by(|a, b| a.batch.cmp(&b.batch));
        Ok(batches)
    }

    async fn open_batches(&self, limit: usize) -> Result<Vec<PredictionBatch>> {
        self.count("open_batches");
        Ok(self.state()?.batches.values().filter(|b| b.is_open()).take(limit).cloned().collect())
    }
}

#[async_trait]
impl Deployments for MemoryStore {
    async fn claim_deployment(&self, job_id: &str, now: i64, until: i64) -> Result<bool> {
        self.count("claim_deployment");
        let mut s = self.state()?;
        if !s.jobs.get(job_id).is_some_and(|j| j.status == JobStatus::Deploying) {
            return Ok(false);
        }
        if s.deploy_claims.get(job_id).is_some_and(|lease| *lease >= now) {
            return Ok(false);
        }
        s.deploy_claims.insert(job_id.into(), until);
        Ok(true)
    }

    async fn release_deployment(&self, job_id: &str) -> Result<()> {
        self.count("release_deployment");
        self.state()?.deploy_claims.remove(job_id);
        Ok(())
    }

    async fn record_deployment(&self, job_id: &str, t: &DeployTransition) -> Result<bool> {
        self.count("record_deployment");
        let mut s = self.state()?;
        let Some(j) = s.jobs.get_mut(job_id).filter(|j| t.from.contains(&j.status)) else { return Ok(false) };
        j.status = t.to;
        j.deployment = Some(t.record.clone());
        j.reason = t.reason.clone();
        j.updated_at = now_ms();
        s.deploy_claims.remove(job_id);
        Ok(true)
    }
}

#[async_trait]
impl Standings for MemoryStore {
    async fn standings(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerStanding>> {
        self.count("standings");
        let s = self.state()?;
        Ok(workers
            .iter()
            .filter_map(|w| s.standings.get(&(job_id.to_string(), w.clone())).map(|st| (w.clone(), st.clone())))
            .collect())
    }

    async fn all_standings(&self, job_id: &str) -> Result<Vec<WorkerStanding>> {
        self.count("all_standings");
        Ok(self.state()?.standings.iter().filter(|((j, _), _)| j == job_id).map(|(_, st)| st.clone()).collect())
    }

    async fn block(&self, job_id: &str, worker_id: &str, reason: &str, now: i64) -> Result<bool> {
        self.count("block");
        let mut guard = self.state()?;
        let s = &mut *guard;
        let Some(job) = s.jobs.get_mut(job_id) else {
            return Err(Error::Permanent(format!("no job {job_id} to block a worker of")));
        };
        let standing = s
            .standings
            .entry((job_id.to_string(), worker_id.to_string()))
            .or_insert_with(|| WorkerStanding { worker_id: worker_id.into(), ..WorkerStanding::default() });
        if standing.blocked.is_some() {
            return Ok(false);
        }
        standing.blocked = Some(reason.into());
        standing.blocked_at = Some(now);
        job.workers_blocked += 1;
        Ok(true)
    }

    async fn record_redecided(&self, job_id: &str, through: u64) -> Result<bool> {
        self.count("record_redecided");
        let mut s = self.state()?;
        let Some(job) = s.jobs.get_mut(job_id).filter(|j| j.redecided_blocks < through) else { return Ok(false) };
        job.redecided_blocks = through;
        Ok(true)
    }
}

#[async_trait]
impl WorkerModels for MemoryStore {
    async fn estimates(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerEstimate>> {
        self.count("estimates");
        let s = self.state()?;
        Ok(workers
            .iter()
            .filter_map(|w| s.estimates.get(&(job_id.to_string(), w.clone())).map(|e| (w.clone(), e.clone())))
            .collect())
    }

    async fn put_estimates(&self, job_id: &str, estimates: &[WorkerEstimate]) -> Result<()> {
        self.count("put_estimates");
        let mut s = self.state()?;
        for e in estimates {
            s.estimates.insert((job_id.to_string(), e.worker_id.clone()), e.clone());
        }
        Ok(())
    }

    async fn items_to_refit(&self, job_id: &str, limit: usize) -> Result<Vec<Item>> {
        self.count("items_to_refit");
        let s = self.state()?;
        Ok(s.refit_due
            .iter()
            .filter(|(j, _)| j == job_id)
            .filter_map(|k| s.items.get(k).cloned())
            .take(limit)
            .collect())
    }

    async fn job_model(&self, job_id: &str) -> Result<JobModel> {
        self.count("job_model");
        Ok(self.state()?.models.get(job_id).cloned().unwrap_or_default())
    }

    async fn apply_refit(&self, r: &Refit) -> Result<bool> {
        self.count("apply_refit");
        let mut guard = self.state()?;
        let s = &mut *guard;
        let generation = s.models.get(&r.job_id).map_or(0, |m| m.generation);
        let key = |item_id: &str| (r.job_id.clone(), item_id.to_string());
        let current = r.items.iter().all(|i| {
            s.refit_due.contains(&key(&i.item_id))
                && s.items.get(&key(&i.item_id)).is_some_and(|x| x.version == i.version)
        });
        if generation != r.read_generation || !current {
            return Ok(false);
        }
        s.models.insert(r.job_id.clone(), r.model.clone());
        for i in &r.items {
            s.refit_due.remove(&key(&i.item_id));
            if let Some(item) = s.items.get_mut(&key(&i.item_id)) {
                item.model = i.model.clone();
            }
        }
        for e in &r.estimates {
            s.estimates.insert((r.job_id.clone(), e.worker_id.clone()), e.clone());
        }
        Ok(true)
    }
}
