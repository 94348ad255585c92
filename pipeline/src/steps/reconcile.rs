//! Bringing one item up to date from its HIT: collect does it on a
//! notification, sweep on what no notification brought. It reads a snapshot
//! (the item with its answers, the marketplace's view, the job when the plan
//! asks), lets `hitloop_core::plan::reconcile` decide, and carries the plan
//! out: approve, one conditional write on the item (with the job's counters),
//! then the marketplace calls. A write that lost a race, or a reservation the
//! budget refused, makes it read again and plan again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hitloop_core::decision::{rule_for, DecisionRule};
use hitloop_core::error::{Error, Result};
use hitloop_core::ids::{owner_of, request_token};
use hitloop_core::job::JobSpec;
use hitloop_core::marketplace::{AssignmentView, HitState};
use hitloop_core::plan::reconcile::{plan, refused_purchase, Effect, Need, Outcome, Plan, Snapshot};
use hitloop_core::plan::write::{Refusal, WriteOutcome};
use hitloop_core::quality::{guesser_verdict, verdict, CROWD};
use hitloop_core::records::{now_ms, Item, JobStatus, WorkerEstimate};

use crate::ports::{blocked_among, Crowd, Items, Jobs, Queue, Standings, WorkerModels};
use crate::steps::jobs::{pause, Completion};
use crate::steps::specs::SpecCache;

/// What collect (and sweep, for its reconciling) needs.
pub trait CollectStore: Jobs + Items + WorkerModels + Standings {}
impl<T: Jobs + Items + WorkerModels + Standings + ?Sized> CollectStore for T {}

#[derive(Clone)]
pub struct CollectDeps {
    pub store: Arc<dyn CollectStore>,
    pub crowd: Arc<dyn Crowd>,
    pub queue: Arc<dyn Queue>,
    pub training_queue_url: String,
    pub specs: Arc<SpecCache>,
}

/// How many times one call reads again after a lost race or a refusal.
const ROUNDS: usize = 6;

/// What the marketplace shows.
struct View {
    hit: Option<HitState>,
    assignments: Vec<AssignmentView>,
    full_list: bool,
}

/// A notification about `hit_id` (naming `assignment_id` when it is about
/// a submitted assignment): find the HIT's item and bring it up to date.
pub async fn on_notification(deps: &CollectDeps, hit_id: &str, assignment_id: Option<&str>) -> Result<Outcome> {
    Ok(notification(deps, hit_id, assignment_id).await?.0)
}

/// As [`on_notification`], with the job of the HIT's item (None: not ours).
pub async fn notification(
    deps: &CollectDeps,
    hit_id: &str,
    assignment_id: Option<&str>,
) -> Result<(Outcome, Option<String>)> {
    let fetched = match assignment_id {
        // One call for the answer and its HIT; a refused lookup (an id the
        // marketplace does not take) falls back to the HIT.
        Some(a) => match deps.crowd.assignment(a).await {
            Ok(found) => found.filter(|(_, hit)| hit.hit_id == hit_id),
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                tracing::info!(hit_id, assignment_id = a, error = %e, "the notification's assignment cannot be read");
                None
            }
        },
        None => None,
    };
    let view = match fetched {
        Some((assignment, hit)) => View { hit: Some(hit), assignments: vec![assignment], full_list: false },
        None => View { hit: deps.crowd.hit(hit_id).await?, assignments: Vec::new(), full_list: false },
    };
    let Some(owner) = view.hit.as_ref().and_then(|h| h.annotation.as_deref()).and_then(owner_of) else {
        tracing::info!(hit_id, "notification about a HIT hitloop did not create; ignored");
        return Ok((Outcome::NotOurs, None));
    };
    let Some(item) = deps.store.item(&owner.job_id, &owner.item_id).await? else {
        tracing::info!(hit_id, job_id = %owner.job_id, item_id = %owner.item_id, "no such item; ignored");
        return Ok((Outcome::NotOurs, None));
    };
    Ok((reconcile(deps, item, hit_id, view, None).await?, Some(owner.job_id)))
}

/// sweep: an item with a HIT, read from the open-items index.
pub async fn reconcile_item(deps: &CollectDeps, item: Item) -> Result<Outcome> {
    from_marketplace(deps, item, None).await
}

/// Each worker's confusion matrix as the model fitted on every answer of
/// the job has it (the job's labels in order).
pub type Confusions = BTreeMap<String, Vec<Vec<f64>>>;

/// The final check of a confidence job's labeled item: brought up to date
/// like any other, and reopened if the model the job's labels will come
/// from (`fitted`: the fit over every answer) would buy more for it.
pub async fn check_item(deps: &CollectDeps, item: Item, fitted: &Confusions) -> Result<Outcome> {
    from_marketplace(deps, item, Some(fitted)).await
}

async fn from_marketplace(deps: &CollectDeps, item: Item, final_check: Option<&Confusions>) -> Result<Outcome> {
    let Some(hit_id) = item.hit_id.clone() else { return Ok(Outcome::Waiting) };
    let view = View { hit: deps.crowd.hit(&hit_id).await?, assignments: Vec::new(), full_list: false };
    reconcile(deps, item, &hit_id, view, final_check).await
}

async fn reconcile(
    deps: &CollectDeps,
    mut item: Item,
    hit_id: &str,
    mut view: View,
    final_check: Option<&Confusions>,
) -> Result<Outcome> {
    let Some(spec) = deps.specs.get(deps.store.as_ref(), &item.job_id).await? else {
        return Ok(Outcome::NotOurs);
    };
    let rule = rule_for(&spec);
    let (job_id, item_id) = (item.job_id.clone(), item.item_id.clone());
    let mut job_status: Option<JobStatus> = None;
    let mut refused: Option<Refusal> = None;
    for _ in 0..ROUNDS {
        let mut workers = estimates(deps, rule.as_ref(), &item, &view).await?;
        if let Some(fitted) = final_check {
            with_fitted(&mut workers, fitted, &answering(&item, &view));
        }
        let blocked = blocked(deps, &spec, &item, &view).await?;
        let snapshot = Snapshot {
            spec: &spec,
            item: &item,
            hit_id,
            hit: view.hit.as_ref(),
            assignments: &view.assignments,
            full_list: view.full_list,
            job_status,
            workers: &workers,
            blocked: &blocked,
            market_ms: deps.crowd.now_ms(),
            now: now_ms(),
            refused: refused.as_ref(),
            final_check: final_check.is_some(),
        };
        let actions = match plan(&snapshot, rule.as_ref()) {
            Plan::Need(Need::FullList) => {
                view.assignments = deps.crowd.assignments(hit_id).await?;
                view.full_list = true;
                continue;
            }
            Plan::Need(Need::JobStatus) => {
                job_status = Some(deps.store.progress(&job_id).await?.map_or(JobStatus::Failed, |p| p.status));
                continue;
            }
            Plan::Fail(why) => return Err(Error::Permanent(why)),
            Plan::Act(actions) => actions,
        };
        for assignment_id in &actions.approve {
            deps.crowd.approve(assignment_id).await?;
        }
        if let Some(write) = &actions.write {
            for a in &write.record {
                if let Some(why) = &a.invalid_reason {
                    tracing::warn!(%job_id, %item_id, assignment_id = %a.assignment_id, reason = %why, "invalid answer recorded; it does not count");
                }
            }
            match deps.store.write(write).await? {
                WriteOutcome::Applied => {
                    write.apply_to(&mut item);
                    if !write.gold.is_empty() && spec.gold.blocks() {
                        let judged: Vec<String> = write.gold.iter().map(|t| t.worker_id.clone()).collect();
                        judge(deps, &spec, &job_id, &judged).await?;
                    }
                }
                WriteOutcome::Conflict => {
                    // Changed by a racing call: read it again (what was approved stays approved).
                    let Some(fresh) = deps.store.item(&job_id, &item_id).await? else { return Ok(Outcome::NotOurs) };
                    item = fresh;
                    refused = None;
                    continue;
                }
                WriteOutcome::Refused(r) => {
                    refused = Some(r);
                    continue;
                }
            }
        }
        let mut outcome = actions.outcome;
        for effect in &actions.after {
            match effect {
                Effect::Expire => deps.crowd.expire(hit_id).await?,
                Effect::Extend { until_ms } => deps.crowd.extend(hit_id, *until_ms).await?,
                Effect::AddAssignments { n, round } => {
                    let token = request_token(&job_id, &item_id, *round);
                    if let Err(e) = deps.crowd.add_assignments(hit_id, *n, &token).await? {
                        match refused_purchase(&e) {
                            Some(reason) => {
                                pause(deps.store.as_ref(), &job_id, &reason).await?;
                                outcome = Outcome::Paused(reason);
                            }
                            None => outcome = Outcome::Waiting,
                        }
                    }
                }
                Effect::Pause(reason) => pause(deps.store.as_ref(), &job_id, reason).await?,
                Effect::CompleteIfDone => {
                    completion(deps).complete_if_done(&job_id).await?;
                }
            }
        }
        if !actions.again {
            return Ok(outcome);
        }
        view = View { hit: deps.crowd.hit(hit_id).await?, assignments: Vec::new(), full_list: false };
    }
    Err(Error::Retryable(format!("item {item_id} of job {job_id} kept changing while it was brought up to date")))
}

/// What the job's worker model knows of the item's workers, when its rule
/// uses it (the agreement rule does not: no read).
async fn estimates(
    deps: &CollectDeps,
    rule: &dyn DecisionRule,
    item: &Item,
    view: &View,
) -> Result<BTreeMap<String, WorkerEstimate>> {
    if !rule.uses_worker_estimates() {
        return Ok(BTreeMap::new());
    }
    let mut workers = answering(item, view);
    // The crowd's estimate: what a worker the model has not seen yet is taken for.
    workers.push(CROWD.to_string());
    deps.store.estimates(&item.job_id, &workers).await
}

/// `workers`' estimates with the confusion matrices of `fitted` for each of
/// `answering` it has (one the incremental model has not counted yet
/// starts from the crowd's estimate).
fn with_fitted(workers: &mut BTreeMap<String, WorkerEstimate>, fitted: &Confusions, answering: &[String]) {
    let crowd = workers.get(CROWD).cloned().unwrap_or_default();
    for worker_id in answering {
        let Some(m) = fitted.get(worker_id) else { continue };
        let e = workers.entry(worker_id.clone()).or_insert_with(|| WorkerEstimate {
            worker_id: worker_id.clone(),
            answers: 0,
            ..crowd.clone()
        });
        e.confusion = m.clone();
    }
}

/// Everyone who answered the item, recorded or just fetched, once each.
fn answering(item: &Item, view: &View) -> Vec<String> {
    let mut workers: Vec<String> = item.answers.iter().map(|a| a.worker_id.clone()).collect();
    workers.extend(view.assignments.iter().map(|a| a.worker_id.clone()));
    workers.sort();
    workers.dedup();
    workers
}

/// The item's workers the job blocked (none read for a job that blocks
/// nobody).
async fn blocked(deps: &CollectDeps, spec: &JobSpec, item: &Item, view: &View) -> Result<BTreeSet<String>> {
    blocked_among(deps.store.as_ref(), spec, &item.job_id, &answering(item, view)).await
}

/// Judges workers on their gold answers as they now stand: one the job is
/// sure is below its bar is blocked (recorded first, so their answers stop
/// counting at once), then loses access to the job's HITs. The job's items
/// are re-decided for the block by sweep ([`crate::steps::sweep`]), which
/// also revokes again what a crash left unrevoked.
pub async fn judge(deps: &CollectDeps, spec: &JobSpec, job_id: &str, workers: &[String]) -> Result<()> {
    for standing in deps.store.standings(job_id, workers).await?.values() {
        let Some(reason) = verdict(&spec.gold, standing) else { continue };
        block_worker(deps, job_id, &standing.worker_id, &reason).await?;
    }
    Ok(())
}

/// Judges workers by the job's worker model as a refit just left it
/// (`moved`: the estimates it wrote, the crowd's among them): one it finds
/// closer to guessing than `consensus.block_guessers` allows is blocked as
/// gold blocks. Returns how many were blocked.
pub async fn judge_guessers(
    deps: &CollectDeps,
    spec: &JobSpec,
    job_id: &str,
    moved: &BTreeMap<String, WorkerEstimate>,
) -> Result<usize> {
    let Some(share) = spec.consensus.block_guessers() else { return Ok(0) };
    let Some(crowd) = moved.get(CROWD) else { return Ok(0) };
    let mut blocked = 0;
    for (worker_id, estimate) in moved.iter().filter(|(w, _)| w.as_str() != CROWD) {
        let Some(reason) = guesser_verdict(share, estimate, crowd, spec.labels.len()) else { continue };
        blocked += usize::from(block_worker(deps, job_id, worker_id, &reason).await?);
    }
    Ok(blocked)
}

/// Blocks a worker from the job, once: recorded first (so their answers
/// stop counting at once), then their access revoked. The job's items are
/// re-decided for the block by sweep ([`crate::steps::sweep`]), which also
/// revokes again what a crash left unrevoked. True when this call blocked
/// them.
async fn block_worker(deps: &CollectDeps, job_id: &str, worker_id: &str, reason: &str) -> Result<bool> {
    if !deps.store.block(job_id, worker_id, reason, now_ms()).await? {
        return Ok(false);
    }
    tracing::warn!(job_id, worker_id, reason, "worker blocked from the job");
    let access = deps.crowd.access_qualification(job_id).await?;
    deps.crowd.revoke_access(&access, worker_id, reason).await?;
    Ok(true)
}

pub fn completion(deps: &CollectDeps) -> Completion<'_> {
    Completion { jobs: deps.store.as_ref(), queue: deps.queue.as_ref(), training_queue_url: &deps.training_queue_url }
}
