//! publish: post one item as a HIT, exactly once, within the budget.

use crate::error::{Error, Result};
use crate::pipeline::{annotation, request_token, PublishItem};
use crate::ports::{CreateHitError, Reservation};
use crate::records::*;
use crate::template;
use crate::wiring::Deps;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published(String),
    AlreadyPublished,
    /// The job is paused, failed or done: nothing posted.
    Skipped(&'static str),
    /// Money ran short: the job is paused with the reason.
    Paused(String),
}

/// The job's HIT type, created (with its notification settings) on first use.
pub async fn hit_type(deps: &Deps, job: &Job) -> Result<String> {
    if let Some(t) = &job.hit_type_id {
        return Ok(t.clone());
    }
    // Two publishers racing both get the same id: MTurk returns the existing
    // type for identical attributes.
    let t = deps.crowd.create_hit_type(&job.spec).await?;
    deps.crowd.notify(&t, &deps.config.notification_queue_url, "SQS").await?;
    deps.store.set_hit_type(&job.job_id, &t).await?;
    Ok(t)
}

/// Pauses an active job with a reason the user will read; returns the reason.
pub async fn pause(deps: &Deps, job_id: &str, reason: &str) -> Result<String> {
    if deps
        .store
        .transition(job_id, &[JobStatus::Publishing, JobStatus::Labeling], JobStatus::Paused, Some(reason))
        .await?
    {
        tracing::warn!(job_id, reason, "job paused");
    }
    Ok(reason.to_string())
}

/// What a user does when the MTurk account ran dry.
pub const TOP_UP: &str = "add funds to the account, then upload job.json again to go on";

/// Why a job ran out of budget, from its stored figures (the caller's copy
/// may be older than a job.json upload).
pub async fn budget_reason(deps: &Deps, job: &Job) -> Result<String> {
    let now = deps.store.job(&job.job_id).await?;
    let job = now.as_ref().unwrap_or(job);
    Ok(format!(
        "budget: ${} reserved of ${}, the next purchase does not fit; raise budget_usd in job.json and upload it again to go on",
        job.reserved,
        job.spec.budget_usd.unwrap_or_default()
    ))
}

pub async fn publish(deps: &Deps, msg: &PublishItem) -> Result<Outcome> {
    let Some(job) = deps.store.job(&msg.job_id).await? else {
        return Err(Error::Permanent(format!("job {} does not exist", msg.job_id)));
    };
    if !job.status.is_active() {
        return Ok(Outcome::Skipped(job.status.as_str()));
    }
    let Some(item) = deps.store.item(&msg.job_id, &msg.item_id).await? else {
        return Err(Error::Permanent(format!("item {} of job {} does not exist", msg.item_id, msg.job_id)));
    };
    if item.status != ItemStatus::Pending {
        return Ok(Outcome::AlreadyPublished);
    }
    let spec = &job.spec;
    let n = spec.consensus.initial_assignments;
    let cost = spec.assignment_cost(n).times(i64::from(n));
    match deps.store.reserve(&job, &item, 1, n, cost).await? {
        Reservation::Reserved | Reservation::AlreadyReserved => {}
        Reservation::OverBudget => {
            return pause(deps, &job.job_id, &budget_reason(deps, &job).await?).await.map(Outcome::Paused);
        }
        Reservation::JobInactive => return Ok(Outcome::Skipped("inactive")),
        Reservation::ItemDone => return Ok(Outcome::AlreadyPublished),
    }
    let balance = deps.crowd.balance().await?;
    if balance < cost {
        return pause(
            deps,
            &job.job_id,
            &format!("balance: the MTurk account has ${balance}, an item needs ${cost}; {TOP_UP}"),
        )
        .await
        .map(Outcome::Paused);
    }
    let type_id = hit_type(deps, &job).await?;
    let page = template::render(&job.template, &item.values).map_err(Error::Permanent)?;
    let question = template::html_question(&page, spec.task.frame_height);
    let token = request_token(&job.job_id, &item.item_id, 1);
    let created = deps
        .crowd
        .create_hit(&type_id, &question, n, spec.task.lifetime_seconds, &annotation(&job.job_id, &item.item_id), &token)
        .await?;
    let hit_id = match created {
        Ok(hit) => hit,
        Err(CreateHitError::AlreadyExists(Some(hit))) => hit,
        Err(CreateHitError::AlreadyExists(None)) => {
            return Err(Error::Permanent(format!(
                "item {} was posted before but MTurk did not say which HIT it is",
                item.item_id
            )))
        }
        Err(CreateHitError::InsufficientFunds(m)) => {
            return pause(deps, &job.job_id, &format!("balance: {m}; {TOP_UP}")).await.map(Outcome::Paused)
        }
        Err(CreateHitError::Other(m)) => {
            return pause(
                deps,
                &job.job_id,
                &format!("MTurk refused the HIT for item {} (line {}): {m}", item.item_id, item.line),
            )
            .await
            .map(Outcome::Paused)
        }
    };
    deps.store.mark_published(&job.job_id, &item.item_id, &hit_id).await?;
    Ok(Outcome::Published(hit_id))
}
