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
    Reserve(Box<ItemWrite>),
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
                Step::Reserve(Box::new(w))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::JobStatus;

    fn job(status: JobStatus, budget: &str) -> Job {
        let spec = JobSpec::parse(&format!(r#"{{"labels": ["a", "b"]{budget}}}"#)).unwrap();
        Job::new("j", status, spec, "<p>${text}</p>".into(), "k", "e", 1)
    }

    fn item(rounds: u32) -> Item {
        let mut i = Item::pending("j", "i-1", 2, [("text".to_string(), "<b>hi</b>".to_string())].into(), 0);
        i.rounds = rounds;
        i.bought = 2 * rounds;
        i
    }

    fn next_of(job: &Job, item: &Item, balance: Option<Usd>, refused: Option<&Refusal>) -> Step {
        next(&Snapshot { job, item, balance, refused, now: 9 }).unwrap()
    }

    #[test]
    fn an_inactive_job_or_a_posted_item_posts_nothing() {
        let paused = job(JobStatus::Paused, "");
        assert_eq!(next_of(&paused, &item(0), None, None), Step::Done(Outcome::Skipped("paused".into())));
        let mut posted = item(1);
        posted.status = ItemStatus::Published;
        assert_eq!(next_of(&job(JobStatus::Labeling, ""), &posted, None, None), Step::Done(Outcome::AlreadyPublished));
    }

    #[test]
    fn the_first_round_is_reserved_first() {
        let j = job(JobStatus::Labeling, r#", "budget_usd": "1.00""#);
        let Step::Reserve(w) = next_of(&j, &item(0), None, None) else { panic!() };
        let cost = j.spec.assignment_cost(2).times(2);
        let r = w.reserve.unwrap();
        assert_eq!((r.round, r.assignments, r.cost, r.budget), (1, 2, cost, j.spec.budget_usd));
        assert_eq!((w.job.reserved, w.job.bought, w.version, w.now), (cost, 2, 0, 9));
        assert!(w.record.is_empty() && w.decide.is_none());
    }

    #[test]
    fn a_refused_reservation_skips_or_pauses() {
        let j = job(JobStatus::Labeling, "");
        let inactive = Refusal::JobInactive;
        assert_eq!(next_of(&j, &item(0), None, Some(&inactive)), Step::Done(Outcome::Skipped("inactive".into())));
        let over = Refusal::OverBudget { reserved: Usd::from_cents(96), budget: Some(Usd::from_cents(100)) };
        let Step::Pause(reason) = next_of(&j, &item(0), None, Some(&over)) else { panic!() };
        assert!(reason.contains("$0.96 reserved of $1.00") && reason.contains("raise budget_usd"), "{reason}");
    }

    #[test]
    fn the_balance_is_checked_before_posting() {
        let j = job(JobStatus::Labeling, "");
        assert_eq!(next_of(&j, &item(1), None, None), Step::CheckBalance);
        let Step::Pause(reason) = next_of(&j, &item(1), Some(Usd::from_cents(5)), None) else { panic!() };
        assert!(reason.starts_with("balance: the MTurk account has $0.05, an item needs $0.12"), "{reason}");
    }

    #[test]
    fn the_hit_is_created_with_the_items_token_and_escaped_values() {
        let j = job(JobStatus::Publishing, "");
        let Step::Create(r) = next_of(&j, &item(1), Some(Usd::from_cents(1000)), None) else { panic!() };
        assert_eq!((r.assignments, r.lifetime_s), (2, 14_400));
        assert_eq!(r.token, crate::ids::request_token("j", "i-1", 1));
        assert_eq!(r.annotation, "hitloop:j/i-1");
        assert!(r.question.contains("&lt;b&gt;hi&lt;/b&gt;"), "{}", r.question);
        let mut broken = j.clone();
        broken.template = "${missing}".into();
        assert!(next(&Snapshot {
            job: &broken,
            item: &item(1),
            balance: Some(Usd::from_cents(1000)),
            refused: None,
            now: 0
        })
        .is_err());
    }

    #[test]
    fn what_create_hit_answered() {
        let i = item(1);
        assert_eq!(created(&i, Ok("H1".into())), Ok(Created::Record("H1".into())));
        assert_eq!(
            created(&i, Err(CreateHitError::AlreadyExists(Some("H1".into())))),
            Ok(Created::Record("H1".into()))
        );
        assert!(created(&i, Err(CreateHitError::AlreadyExists(None))).is_err());
        let Ok(Created::Pause(r)) = created(&i, Err(CreateHitError::InsufficientFunds("none".into()))) else {
            panic!()
        };
        assert!(r.starts_with("balance: none"));
        let Ok(Created::Pause(r)) = created(&i, Err(CreateHitError::Other("bad".into()))) else { panic!() };
        assert!(r.contains("item i-1 (line 2): bad"), "{r}");
    }
}
