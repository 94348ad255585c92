//! Posting one item as a HIT, exactly once, within the budget. The step
//! asks [`next`] what to do, does it, and asks again with what it learnt:
//! reserve the item's first round, check the account can pay, create the
//! HIT with a token derived from the item (a retry can never post a second
//! one), record it.

use crate::ids::{annotation, request_token};
use crate::marketplace::CreateHitError;
use crate::money::Usd;
use crate::plan::write::{budget_reason, ItemWrite, Refusal, Reserve, TOP_UP};
use crate::records::{Item, ItemStatus, Job};
use crate::template;

#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    pub job: &'a Job,
    pub item: &'a Item,
    /// The marketplace account's balance, once asked for.
    pub balance: Option<Usd>,
    /// Why reserving the item's first round was refused.
    pub refused: Option<&'a Refusal>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Done(Outcome),
    /// Reserve the first round (a conditional write on item and job).
    Reserve(ItemWrite),
    /// Ask the marketplace for the account's balance.
    CheckBalance,
    Pause(String),
    Create(HitRequest),
}

/// CreateHITWithHITType's arguments (the HIT type is the job's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitRequest {
    pub question: String,
    pub assignments: u32,
    pub lifetime_s: i64,
    pub annotation: String,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published(String),
    AlreadyPublished,
    /// The job is paused, failed or done: nothing posted.
    Skipped(String),
    /// Money ran short, or the marketplace refused: the job is paused.
    Paused(String),
}

/// What to do next; Err: the item can never be posted (a permanent problem).
pub fn next(s: &Snapshot<'_>) -> Result<Step, String> {
    let (job, item) = (s.job, s.item);
    if !job.status.is_active() {
        return Ok(Step::Done(Outcome::Skipped(job.status.as_str().into())));
    }
    if item.status != ItemStatus::Pending {
        return Ok(Step::Done(Outcome::AlreadyPublished));
    }
    let n = job.spec.consensus.initial_assignments;
    let cost = job.spec.assignment_cost(n).times(i64::from(n));
    if item.rounds == 0 {
        return Ok(match s.refused {
            Some(Refusal::JobInactive) => Step::Done(Outcome::Skipped("inactive".into())),
            Some(Refusal::OverBudget { reserved, budget }) => Step::Pause(budget_reason(*reserved, *budget)),
            None => {
                let mut w = ItemWrite::on(item, s.now);
                w.reserve = Some(Reserve { round: 1, assignments: n, cost, budget: job.spec.budget_usd });
                w.job.reserved = cost;
                w.job.bought = u64::from(n);
                Step::Reserve(w)
            }
        });
    }
    let Some(balance) = s.balance else { return Ok(Step::CheckBalance) };
    if balance < cost {
        return Ok(Step::Pause(format!("balance: the MTurk account has ${balance}, an item needs ${cost}; {TOP_UP}")));
    }
    let page = template::render(&job.template, &item.values)?;
    Ok(Step::Create(HitRequest {
        question: template::html_question(&page, job.spec.task.frame_height),
        assignments: n,
        lifetime_s: job.spec.task.lifetime_seconds,
        annotation: annotation(&job.job_id, &item.item_id),
        token: request_token(&job.job_id, &item.item_id, 1),
    }))
}

/// What CreateHIT's answer means: the HIT to record, or why the job pauses;
/// Err: a permanent problem.
pub fn created(item: &Item, result: Result<String, CreateHitError>) -> Result<Created, String> {
    match result {
        Ok(hit) | Err(CreateHitError::AlreadyExists(Some(hit))) => Ok(Created::Record(hit)),
        Err(CreateHitError::AlreadyExists(None)) => {
            Err(format!("item {} was posted before but MTurk did not say which HIT it is", item.item_id))
        }
        Err(CreateHitError::InsufficientFunds(m)) => Ok(Created::Pause(format!("balance: {m}; {TOP_UP}"))),
        Err(CreateHitError::Other(m)) => {
            Ok(Created::Pause(format!("MTurk refused the HIT for item {} (line {}): {m}", item.item_id, item.line)))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Record(String),
    Pause(String),
}
