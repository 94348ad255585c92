//! sweep: on a schedule, finish what no notification brought (see
//! `hitloop_core::plan::sweep` for what it does with each item and job).

use std::collections::HashMap;
use std::sync::Arc;

use hitloop_core::error::Result;
use hitloop_core::job::ConsensusMethod;
use hitloop_core::messages::{JobMessage, PublishItem};
use hitloop_core::plan::sweep::{
    batch_needs_check, final_check_due, item_action, job_action, ItemAction, JobAction, SweepLimits, SWEPT,
};
use hitloop_core::records::{now_ms, JobStatus};
use serde::Serialize;

use crate::ports::Batches;
use crate::steps::final_check::final_check;
use crate::steps::reconcile::{completion, judge_guessers, reconcile_item, CollectDeps};
use crate::steps::redecide::redecide_job;
use crate::steps::refit::refit_job;

#[derive(Clone)]
pub struct SweepDeps {
    /// sweep reconciles items the way collect does.
    pub collect: CollectDeps,
    pub publish_queue_url: String,
    /// Open prediction batches, for a look past train's patience.
    pub batches: Arc<dyn Batches>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct SweepReport {
    pub items_seen: usize,
    pub reconciled: usize,
    pub republished: usize,
    pub jobs_completed: usize,
    pub completions_resent: usize,
    pub training_checks: usize,
    /// Prediction batches train was asked to look at again.
    pub batch_checks: usize,
    /// Confidence jobs' worker models brought up to date: items counted.
    pub refitted_items: usize,
    /// Workers the job's model blocked after a refit.
    pub guessers_blocked: usize,
    /// Items decided again after their job blocked a worker who answered them.
    pub redecided_items: usize,
    /// Labels looked at again by confidence jobs' final checks, and of
    /// those, reopened and bought on.
    pub checked_labels: usize,
    pub reopened_labels: usize,
    pub errors: usize,
}

pub async fn sweep(deps: &SweepDeps, limits: SweepLimits) -> Result<SweepReport> {
    let c = &deps.collect;
    let mut report = SweepReport::default();
    let now = now_ms();
    let mut republish = Vec::new();
    let mut active: HashMap<String, bool> = HashMap::new();
    let mut cursor = None;
    'pages: loop {
        let (items, next) = c.store.open_items(cursor, 200).await?;
        for item in items {
            if report.items_seen >= limits.max_items {
                break 'pages;
            }
            report.items_seen += 1;
            let job_active = match active.get(&item.job_id) {
                Some(a) => *a,
                None => {
                    let a = c.store.progress(&item.job_id).await?.is_some_and(|p| p.status.is_active());
                    active.insert(item.job_id.clone(), a);
                    a
                }
            };
            match item_action(&item, job_active, now, &limits) {
                ItemAction::Skip => {}
                ItemAction::Republish => republish.push(PublishItem::body_for(&item)?),
                ItemAction::Reconcile(_) => {
                    let (job_id, item_id) = (item.job_id.clone(), item.item_id.clone());
                    match reconcile_item(c, item).await {
                        Ok(_) => report.reconciled += 1,
                        Err(e) => {
                            report.errors += 1;
                            tracing::warn!(%job_id, %item_id, error = %e, "sweep could not bring the item up to date");
                        }
                    }
                }
            }
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    report.republished = republish.len();
    if !republish.is_empty() {
        c.queue.send_all(&deps.publish_queue_url, republish).await?;
    }
    let completion = completion(c);
    let mut checks = Vec::new();
    for status in SWEPT {
        for job in c.store.jobs_with_status(status).await? {
            // Answers come in while a large job is still publishing, too.
            let taking_answers = matches!(job.status, JobStatus::Publishing | JobStatus::Labeling);
            if taking_answers && job.spec.consensus.method == ConsensusMethod::Confidence {
                match refit_job(c.store.as_ref(), &job.job_id, &job.spec, limits.max_items).await {
                    Ok(r) => {
                        report.refitted_items += r.items;
                        match judge_guessers(c, &job.spec, &job.job_id, &r.moved).await {
                            Ok(n) => report.guessers_blocked += n,
                            Err(e) => {
                                report.errors += 1;
                                tracing::warn!(job_id = %job.job_id, error = %e, "sweep could not judge the workers the refit moved");
                            }
                        }
                    }
                    Err(e) => {
                        report.errors += 1;
                        tracing::warn!(job_id = %job.job_id, error = %e, "sweep could not refit the job's worker model");
                    }
                }
            }
            if job.status == JobStatus::Labeling && job.workers_blocked > job.redecided_blocks {
                match redecide_job(c, &job).await {
                    Ok(r) => report.redecided_items += r.items,
                    Err(e) => {
                        report.errors += 1;
                        tracing::warn!(job_id = %job.job_id, error = %e, "sweep could not re-decide the items of blocked workers");
                    }
                }
            }
            // After the refit above: the check reads the estimates it wrote.
            if final_check_due(&job) {
                match final_check(c, &job).await {
                    Ok(r) => {
                        report.checked_labels += r.items;
                        report.reopened_labels += r.bought;
                    }
                    Err(e) => {
                        report.errors += 1;
                        tracing::warn!(job_id = %job.job_id, error = %e, "sweep could not make the job's final check");
                    }
                }
            }
            match job_action(&job, now, &limits) {
                JobAction::Nothing => {}
                JobAction::Complete => {
                    completion.complete(&job.job_id).await?;
                    report.jobs_completed += 1;
                }
                JobAction::SendCompletion => {
                    completion.send(&job.job_id).await?;
                    report.completions_resent += 1;
                }
                JobAction::CheckTraining => checks.push(JobMessage::check_training(&job.job_id).body()?),
                JobAction::CheckDeployment => checks.push(JobMessage::check_deployment(&job.job_id).body()?),
                JobAction::WarnIngest => {
                    tracing::warn!(job_id = %job.job_id, "ingest has not finished for 15 minutes; upload the manifest again to resume it");
                }
            }
        }
    }
    // A job's status is read once however many of its batches are open, and
    // only for the batches whose check depends on it.
    let mut statuses: HashMap<String, Option<JobStatus>> = HashMap::new();
    for batch in deps.batches.open_batches(limits.max_items).await? {
        let job = if batch.waits_for_retrain() { status_of(c, &mut statuses, &batch.job_id).await? } else { None };
        let verification = match batch.verification.as_deref().filter(|_| batch.waits_for_people()) {
            Some(vid) => status_of(c, &mut statuses, vid).await?,
            None => None,
        };
        if batch_needs_check(&batch, job, verification, now, &limits) {
            checks.push(JobMessage::check_batch(&batch.job_id, &batch.batch).body()?);
            report.batch_checks += 1;
        }
    }
    report.training_checks = checks.len() - report.batch_checks;
    if !checks.is_empty() {
        c.queue.send_all(&c.training_queue_url, checks).await?;
    }
    Ok(report)
}

/// A job's status, read once per sweep.
async fn status_of(
    c: &CollectDeps,
    seen: &mut HashMap<String, Option<JobStatus>>,
    job_id: &str,
) -> Result<Option<JobStatus>> {
    if let Some(status) = seen.get(job_id) {
        return Ok(*status);
    }
    let status = c.store.progress(job_id).await?.map(|p| p.status);
    seen.insert(job_id.to_string(), status);
    Ok(status)
}
