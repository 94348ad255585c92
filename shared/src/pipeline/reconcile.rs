//! Bringing one item up to date from its HIT: record new answers, approve
//! them, pay for them on the job, and decide: label, buy more, wait, or give
//! up. collect runs it on a notification, sweep on anything a notification
//! never brought; running it twice, or both at once, does nothing twice.

use std::collections::HashSet;

use crate::answers::{self, Answer};
use crate::consensus::{Decision, ItemState, Vote, WorkerKnowledge};
use crate::error::{Error, Result};
use crate::pipeline::publish::{budget_reason, pause};
use crate::pipeline::{request_token, JobMessage};
use crate::ports::{CreateHitError, Reservation};
use crate::records::*;
use crate::wiring::Deps;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A HIT hitloop did not create.
    NotOurs,
    Labeled(String),
    Unresolved,
    Bought(u32),
    Waiting,
    AlreadyDecided,
    Paused(String),
}

pub async fn reconcile_hit(deps: &Deps, hit_id: &str) -> Result<Outcome> {
    let Some(owner) = deps.store.hit_owner(hit_id).await? else {
        tracing::info!(hit_id, "notification about a HIT hitloop did not create; ignored");
        return Ok(Outcome::NotOurs);
    };
    let Some(job) = deps.store.job(&owner.job_id).await? else { return Ok(Outcome::NotOurs) };
    let Some(item) = deps.store.item(&owner.job_id, &owner.item_id).await? else { return Ok(Outcome::NotOurs) };
    let spec = &job.spec;
    let hit = deps.crowd.hit(hit_id).await?;
    let assignments = deps.crowd.assignments(hit_id).await?;

    // 1. record what is new
    let mut answers = deps.store.answers(&job.job_id, &item.item_id).await?;
    let recorded: HashSet<String> = answers.iter().map(|a| a.assignment_id.clone()).collect();
    for a in assignments.iter().filter(|a| !recorded.contains(&a.assignment_id)) {
        let (label, invalid) = match answers::label(&a.answer, &spec.answer, &spec.labels) {
            Answer::Label(l) => (Some(l), None),
            Answer::Invalid(why) => {
                tracing::warn!(job_id = %job.job_id, item_id = %item.item_id, assignment_id = %a.assignment_id, reason = %why, "invalid answer recorded; it does not count");
                (None, Some(why))
            }
        };
        let record = AnswerRecord {
            job_id: job.job_id.clone(),
            item_id: item.item_id.clone(),
            assignment_id: a.assignment_id.clone(),
            worker_id: a.worker_id.clone(),
            label,
            invalid_reason: invalid,
            paid: false,
            submitted_at: a.submit_time,
        };
        // Recorded here or by a racing call: either way it is an answer now
        // (unpaid as far as this call knows; mark_paid pays it once).
        deps.store.record_answer(&record).await?;
        answers.push(record);
    }
    answers.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.assignment_id.cmp(&b.assignment_id)));

    // 2. approve at once (never leave work to auto-approve unseen) and count
    //    what was paid on the job, once per assignment
    for a in assignments.iter().filter(|a| a.status == "Submitted") {
        deps.crowd.approve(&a.assignment_id).await?;
    }
    let unit = spec.assignment_cost(spec.consensus.initial_assignments);
    let listed: HashSet<&str> = assignments.iter().map(|a| a.assignment_id.as_str()).collect();
    for a in answers.iter().filter(|a| !a.paid && listed.contains(a.assignment_id.as_str())) {
        deps.store.mark_paid(a, unit).await?;
    }

    if item.status.is_decided() {
        return Ok(Outcome::AlreadyDecided);
    }
    if item.status == ItemStatus::Pending {
        // The HIT exists but its record was not written (a crash in publish).
        deps.store.mark_published(&job.job_id, &item.item_id, hit_id).await?;
    }

    // 3. repair a purchase that was reserved but never reached MTurk
    if let Some(h) = &hit {
        if item.bought > h.max_assignments && item.rounds > 1 && job.status.is_active() {
            let missing = item.bought - h.max_assignments;
            let token = request_token(&job.job_id, &item.item_id, item.rounds);
            if let Err(e) = deps.crowd.add_assignments(hit_id, missing, &token).await? {
                return stopped(deps, &job, e).await;
            }
            return Ok(Outcome::Bought(missing));
        }
    }

    // 4. decide
    let votes: Vec<Vote> =
        answers.iter().map(|a| Vote { worker_id: a.worker_id.clone(), label: a.label.clone() }).collect();
    let outstanding = hit.as_ref().map_or(0, |h| h.pending + h.available);
    let state = ItemState {
        votes: &votes,
        bought: item.bought.max(hit.as_ref().map_or(0, |h| h.max_assignments)),
        outstanding,
    };
    let decision = deps.rule(spec).decide(&state, &WorkerKnowledge::default());
    let received = answers.len() as u32;
    match decision {
        Decision::Labeled { label, agreed } => {
            let release = unneeded(deps, &item, hit_id, hit.as_ref(), assignments.len(), unit).await?;
            if deps.store.decide(&job.job_id, &item.item_id, Some(&label), agreed, release).await? {
                complete_if_done(deps, &job.job_id).await?;
            }
            Ok(Outcome::Labeled(label))
        }
        Decision::Unresolved => {
            let release = unneeded(deps, &item, hit_id, hit.as_ref(), assignments.len(), unit).await?;
            if deps.store.decide(&job.job_id, &item.item_id, None, 0, release).await? {
                complete_if_done(deps, &job.job_id).await?;
            }
            Ok(Outcome::Unresolved)
        }
        Decision::Wait => Ok(Outcome::Waiting),
        Decision::Buy(n) => {
            let Some(h) = hit else {
                return Err(Error::Permanent(format!("HIT {hit_id} of item {} no longer exists", item.item_id)));
            };
            // Slots bought but never filled (abandoned after the HIT expired)
            // need more time, not more money.
            let now = deps.crowd.now_ms();
            if received < h.max_assignments {
                if job.status.is_active() {
                    deps.crowd.extend(hit_id, now + spec.task.lifetime_seconds * 1000).await?;
                }
                return Ok(Outcome::Waiting);
            }
            if !job.status.is_active() {
                return Ok(Outcome::Waiting);
            }
            let round = item.rounds + 1;
            let cost = unit.times(i64::from(n));
            match deps.store.reserve(&job, &item, round, n, cost).await? {
                Reservation::Reserved | Reservation::AlreadyReserved => {}
                Reservation::OverBudget => {
                    let reason = budget_reason(deps, &job).await?;
                    return Ok(Outcome::Paused(pause(deps, &job.job_id, &reason).await?));
                }
                Reservation::JobInactive => return Ok(Outcome::Waiting),
                Reservation::ItemDone => return Ok(Outcome::AlreadyDecided),
            }
            if h.expiration <= now {
                deps.crowd.extend(hit_id, now + spec.task.lifetime_seconds * 1000).await?;
            }
            let token = request_token(&job.job_id, &item.item_id, round);
            if let Err(e) = deps.crowd.add_assignments(hit_id, n, &token).await? {
                return stopped(deps, &job, e).await;
            }
            Ok(Outcome::Bought(n))
        }
    }
}

/// What of a decided item's reservation can never be spent, to give back
/// to the job's budget. Slots still open are closed first (nobody needs the
/// work now); what workers have taken (accepted, submitted or approved) stays
/// reserved, because hitloop approves it when it comes.
async fn unneeded(
    deps: &Deps,
    item: &Item,
    hit_id: &str,
    hit: Option<&crate::ports::HitState>,
    listed: usize,
    unit: crate::money::Usd,
) -> Result<crate::money::Usd> {
    let Some(h) = hit else { return Ok(crate::money::Usd::ZERO) };
    let taken = if h.available + h.pending > 0 {
        if h.expiration > deps.crowd.now_ms() {
            deps.crowd.expire(hit_id).await?;
        }
        // Pending first, then the list: an assignment submitted in between
        // is counted twice (less is given back), never missed.
        let Some(after) = deps.crowd.hit(hit_id).await? else { return Ok(crate::money::Usd::ZERO) };
        after.pending + deps.crowd.assignments(hit_id).await?.len() as u32
    } else {
        listed as u32
    };
    Ok(unit.times(i64::from(item.bought.saturating_sub(taken))))
}

async fn stopped(deps: &Deps, job: &Job, e: CreateHitError) -> Result<Outcome> {
    let reason = match e {
        CreateHitError::InsufficientFunds(m) => format!("balance: {m}; {}", crate::pipeline::publish::TOP_UP),
        CreateHitError::AlreadyExists(_) => return Ok(Outcome::Waiting),
        CreateHitError::Other(m) => format!("MTurk refused more assignments: {m}"),
    };
    Ok(Outcome::Paused(pause(deps, &job.job_id, &reason).await?))
}

/// labeling -> complete once every item is decided, then tell training.
pub async fn complete_if_done(deps: &Deps, job_id: &str) -> Result<()> {
    if deps.store.complete_if_done(job_id).await? {
        tracing::info!(job_id, "labeling complete");
        send_completion(deps, job_id).await?;
    }
    Ok(())
}

pub async fn send_completion(deps: &Deps, job_id: &str) -> Result<()> {
    let body = serde_json::to_string(&JobMessage::complete(job_id)).map_err(Error::permanent)?;
    deps.queue.send_all(&deps.config.training_queue_url, vec![body]).await?;
    deps.store.set_completion_sent(job_id).await
}
