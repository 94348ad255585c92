//! sweep: on a schedule, finish what no notification brought. Items with a
//! HIT are reconciled (lost notifications, expiries); items without one are
//! queued for publishing again; jobs whose last item was decided without the
//! job being completed, or whose completion message was lost, are finished.
//! Every step is the same idempotent one collect and publish take.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::pipeline::reconcile::{complete_if_done, reconcile_hit, send_completion};
use crate::pipeline::{JobMessage, PublishItem};
use crate::records::*;
use crate::wiring::Deps;

#[derive(Debug, Clone, Copy)]
pub struct SweepLimits {
    /// Items untouched for less than this are left alone (notifications are
    /// probably on their way).
    pub stale_after_ms: i64,
    /// The most items looked at in one run.
    pub max_items: usize,
    /// How long the train function may take with a complete job, or a
    /// training job may stay silent, before sweep asks train to check.
    pub train_patience_ms: i64,
}

impl Default for SweepLimits {
    fn default() -> Self {
        SweepLimits { stale_after_ms: 2 * 60 * 1000, max_items: 2000, train_patience_ms: 30 * 60 * 1000 }
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct SweepReport {
    pub items_seen: usize,
    pub reconciled: usize,
    pub republished: usize,
    pub jobs_completed: usize,
    pub completions_resent: usize,
    pub training_checks: usize,
    pub errors: usize,
}

pub async fn sweep(deps: &Deps, limits: SweepLimits) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    let now = now_ms();
    let mut republish = Vec::new();
    let mut active_jobs: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    'shards: for shard in 0..crate::adapters::dynamo::OPEN_SHARDS {
        let mut after = None;
        loop {
            let (items, next) = deps.store.open_items(shard, after, 200).await?;
            for item in items {
                if report.items_seen >= limits.max_items {
                    break 'shards;
                }
                report.items_seen += 1;
                if now - item.updated_at < limits.stale_after_ms {
                    continue;
                }
                let active = match active_jobs.get(&item.job_id) {
                    Some(a) => *a,
                    None => {
                        let a = deps.store.job(&item.job_id).await?.is_some_and(|j| j.status.is_active());
                        active_jobs.insert(item.job_id.clone(), a);
                        a
                    }
                };
                match (&item.hit_id, item.status) {
                    (Some(hit), _) => match reconcile_hit(deps, hit).await {
                        Ok(_) => report.reconciled += 1,
                        Err(e) => {
                            report.errors += 1;
                            tracing::warn!(job_id = %item.job_id, item_id = %item.item_id, error = %e, "sweep could not bring the item up to date");
                        }
                    },
                    (None, ItemStatus::Pending) if active => {
                        republish.push(PublishItem::body_for(&item)?);
                    }
                    _ => {}
                }
            }
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    report.republished = republish.len();
    if !republish.is_empty() {
        deps.queue.send_all(&deps.config.publish_queue_url, republish).await?;
    }
    for job in deps.store.jobs_with_status(JobStatus::Labeling).await? {
        if job.decided == job.items {
            complete_if_done(deps, &job.job_id).await?;
            report.jobs_completed += 1;
        }
    }
    // The train function's work: outputs not written or a training job not
    // started long after completion (a message lost to the DLQ), or a state
    // change never received. It asks SageMaker and catches up.
    let mut checks = Vec::new();
    for job in deps.store.jobs_with_status(JobStatus::Complete).await? {
        if !job.completion_sent {
            send_completion(deps, &job.job_id).await?;
            report.completions_resent += 1;
        } else if waits_for_train(&job) && now - job.updated_at >= limits.train_patience_ms {
            checks.push(job.job_id.clone());
        }
    }
    for job in deps.store.jobs_with_status(JobStatus::Training).await? {
        if now - job.updated_at >= limits.train_patience_ms {
            checks.push(job.job_id.clone());
        }
    }
    report.training_checks = checks.len();
    if !checks.is_empty() {
        let bodies = checks
            .iter()
            .map(|id| serde_json::to_string(&JobMessage::check_training(id)).map_err(Error::permanent))
            .collect::<Result<Vec<_>>>()?;
        deps.queue.send_all(&deps.config.training_queue_url, bodies).await?;
    }
    for job in deps.store.jobs_with_status(JobStatus::Publishing).await? {
        if now - job.updated_at > 15 * 60 * 1000 {
            tracing::warn!(job_id = %job.job_id, "ingest has not finished for 15 minutes; upload the manifest again to resume it");
        }
    }
    Ok(report)
}

/// A complete job the train function has not finished with.
fn waits_for_train(job: &Job) -> bool {
    let wants_training = job.spec.training.as_ref().is_some_and(|t| t.sagemaker.is_some());
    job.outputs_at.is_none() || (wants_training && job.training.is_none())
}
