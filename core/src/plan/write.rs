//! One change to an item, and what it moves on its job, as a value: the
//! plans build it, the stores carry it out in one conditional write (the
//! item at the version that was read, the job's counters with it), and
//! [`ItemWrite::apply_to`] says what it does to the item, so an in-memory
//! store and a caller that keeps its copy up to date agree with DynamoDB.

use crate::money::Usd;
use crate::quality::GoldTally;
use crate::records::{AnswerRecord, Item, ItemStatus};

/// A change to one item, applied only if the item is still at `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWrite {
    pub job_id: String,
    pub item_id: String,
    /// The version the plan read.
    pub version: u64,
    /// New answers, each approved (and so paid) before the write.
    pub record: Vec<AnswerRecord>,
    /// What `record` costs, fees included.
    pub cost: Usd,
    pub decide: Option<Decided>,
    pub reserve: Option<Reserve>,
    /// What the job's counters move by, in the same write.
    pub job: JobDelta,
    /// Epoch milliseconds, the item's new `updated_at`.
    pub now: i64,
    /// The write brings answers the job's worker model must count (a
    /// confidence job): the store marks the item for the next refit.
    pub refit_due: bool,
    /// What `record` adds to its workers' gold records (a gold item): the
    /// store adds it in the same write, so each answer counts once.
    pub gold: Vec<GoldTally>,
    /// The item was decided and is decided again (a blocked worker's
    /// answers no longer count): its old decision comes off the job's
    /// tally first.
    pub reopen: Option<Reopen>,
}

/// A decision taken back: what it had moved to the job's tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reopen {
    /// Labeled or Unresolved.
    pub was: ItemStatus,
    pub answers: u64,
    pub spent: Usd,
}

/// The item is decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// Labeled or Unresolved.
    pub status: ItemStatus,
    pub label: Option<String>,
    pub agreed: u32,
    pub confidence: Option<f64>,
    /// What of its reservation goes back to the job's budget now (added to
    /// what an earlier decision gave back).
    pub release: Usd,
}

/// Money reserved for `assignments` more (round `round`; round 1 is the
/// HIT itself), within the job's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserve {
    pub round: u32,
    pub assignments: u32,
    pub cost: Usd,
    /// The budget as the caller last read it: a store that needs a figure
    /// to put in its condition starts from it, and checks against the one
    /// it keeps.
    pub budget: Option<Usd>,
}

/// How a write moves the job record. Answers and their cost accumulate on
/// the item while it is open and move to the job in the write that decides
/// it: the job record is written once per decided item, not per answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobDelta {
    pub decided: u64,
    pub labeled: u64,
    pub unresolved: u64,
    pub answers: u64,
    pub spent: Usd,
    /// + a reservation, - a release.
    pub reserved: Usd,
    pub bought: u64,
}

impl JobDelta {
    pub fn is_empty(&self) -> bool {
        *self == JobDelta::default()
    }
}

/// Why a store did not reserve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The job is not publishing or labeling (paused, failed, done).
    JobInactive,
    /// The job's budget cannot cover it (the stored figures).
    OverBudget { reserved: Usd, budget: Option<Usd> },
}

/// What came of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Applied,
    /// The item changed since it was read (or is gone): read it again.
    Conflict,
    /// The reservation was refused; nothing was written.
    Refused(Refusal),
}

impl ItemWrite {
    /// A write that changes nothing but the version (never built by the
    /// plans; the base the others are made from).
    pub fn on(item: &Item, now: i64) -> ItemWrite {
        ItemWrite {
            job_id: item.job_id.clone(),
            item_id: item.item_id.clone(),
            version: item.version,
            record: Vec::new(),
            cost: Usd::ZERO,
            decide: None,
            reserve: None,
            job: JobDelta::default(),
            now,
            refit_due: false,
            gold: Vec::new(),
            reopen: None,
        }
    }

    /// What the write does to the item (the caller checked the version).
    pub fn apply_to(&self, item: &mut Item) {
        item.answers.extend(self.record.iter().cloned());
        item.answers.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.assignment_id.cmp(&b.assignment_id)));
        item.spent += self.cost;
        if self.reopen.is_some() {
            item.status = ItemStatus::Published;
            item.label = None;
            item.agreed = 0;
            item.confidence = None;
        }
        if let Some(d) = &self.decide {
            item.status = d.status;
            item.label = d.label.clone();
            item.agreed = d.agreed;
            item.confidence = d.confidence;
            item.released += d.release;
        }
        if let Some(r) = &self.reserve {
            item.rounds = r.round;
            item.bought += r.assignments;
        }
        item.version += 1;
        item.updated_at = self.now;
    }
}

/// Why a job stopped for its budget, from the stored figures.
pub fn budget_reason(reserved: Usd, budget: Option<Usd>) -> String {
    format!(
        "budget: ${reserved} reserved of ${}, the next purchase does not fit; raise budget_usd in job.json and upload it again to go on",
        budget.unwrap_or_default()
    )
}

/// What a user does when the MTurk account ran dry.
pub const TOP_UP: &str = "add funds to the account, then upload job.json again to go on";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_records_decides_and_bumps_the_version() {
        let mut item = Item::pending("j", "i", 2, Default::default(), 0);
        item.status = ItemStatus::Published;
        let mut w = ItemWrite::on(&item, 5);
        w.record = vec![
            AnswerRecord {
                assignment_id: "B".into(),
                worker_id: "W2".into(),
                label: Some("x".into()),
                invalid_reason: None,
                submitted_at: 2,
            },
            AnswerRecord {
                assignment_id: "A".into(),
                worker_id: "W1".into(),
                label: Some("x".into()),
                invalid_reason: None,
                submitted_at: 1,
            },
        ];
        w.cost = Usd::from_cents(12);
        w.decide = Some(Decided {
            status: ItemStatus::Labeled,
            label: Some("x".into()),
            agreed: 2,
            confidence: Some(1.0),
            release: Usd::ZERO,
        });
        w.apply_to(&mut item);
        assert_eq!(item.answers.iter().map(|a| a.assignment_id.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!((item.status, item.label.as_deref(), item.spent.cents()), (ItemStatus::Labeled, Some("x"), 12));
        assert_eq!((item.version, item.updated_at), (1, 5));
    }

    #[test]
    fn a_reservation_counts_the_round() {
        let mut item = Item::pending("j", "i", 2, Default::default(), 0);
        let mut w = ItemWrite::on(&item, 1);
        w.reserve = Some(Reserve { round: 1, assignments: 2, cost: Usd::from_cents(12), budget: None });
        w.apply_to(&mut item);
        assert_eq!((item.rounds, item.bought, item.version), (1, 2, 1));
    }
}
