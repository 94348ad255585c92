//! What a worker did and is owed, computed from their assignments and
//! bonuses as they read at a moment (an overdue assignment is abandoned, a
//! due auto-approval is approved, before any pass records either). Pure: the
//! engine reads the records, this counts them.

use hitloop_core::money::Usd;
use serde::Serialize;

use crate::model::{Assignment, AssignmentStatus, Bonus};

/// A span of time, `from_ms` included, `to_ms` not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    /// All of time.
    pub const ALL: Window = Window { from_ms: i64::MIN, to_ms: i64::MAX };

    pub fn holds(&self, at_ms: i64) -> bool {
        self.from_ms <= at_ms && at_ms < self.to_ms
    }

    fn holds_some(&self, at_ms: Option<i64>) -> bool {
        at_ms.is_some_and(|t| self.holds(t))
    }
}

/// One worker's figures. Each assignment counts where it stands now, at the
/// moment that put it there (in a window, only if that moment is in it):
/// submitted work at its SubmitTime, an approval at its ApprovalTime (and its
/// reward with it), a rejection at its RejectionTime, an abandonment at its
/// deadline, a return at its AcceptTime (the moment of the return is not
/// kept), a bonus at its GrantTime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkerFigures {
    pub worker_id: String,
    /// Assignments submitted, whatever became of them.
    pub submitted: u32,
    /// Of those: approved, rejected, and still awaiting review.
    pub approved: u32,
    pub rejected: u32,
    pub awaiting_review: u32,
    pub returned: u32,
    pub abandoned: u32,
    /// Accepted and still being worked on.
    pub working: u32,
    /// Accept to submit, summed over submitted assignments, and the median.
    pub active_ms: i64,
    pub median_active_ms: Option<i64>,
    /// Rewards of approved assignments, and bonuses paid.
    pub rewards: Usd,
    pub bonuses: Usd,
    /// The last time they accepted or submitted anything.
    pub last_seen_ms: Option<i64>,
}

impl WorkerFigures {
    /// What they earned: rewards approved and bonuses.
    pub fn earnings(&self) -> Usd {
        self.rewards + self.bonuses
    }

    /// Did anything happen in the window?
    pub fn is_empty(&self) -> bool {
        self.submitted + self.returned + self.abandoned + self.working == 0 && self.bonuses == Usd::ZERO
    }
}

/// The figures of `worker_id` from their assignments and bonuses at
/// `now_ms`; `reward_of` gives each assignment's reward.
pub fn figures_of(
    worker_id: &str,
    assignments: &[Assignment],
    bonuses: &[Bonus],
    reward_of: impl Fn(&Assignment) -> Usd,
    window: Window,
    now_ms: i64,
) -> WorkerFigures {
    let mut f = WorkerFigures { worker_id: worker_id.to_string(), ..Default::default() };
    let mut active = Vec::new();
    for a in assignments.iter().filter(|a| a.worker_id == worker_id) {
        f.last_seen_ms = f.last_seen_ms.max(Some(a.submit_ms.unwrap_or(a.accept_ms)));
        match a.status_at(now_ms) {
            AssignmentStatus::Accepted if now_ms >= a.deadline_ms => {
                f.abandoned += u32::from(window.holds(a.deadline_ms));
            }
            AssignmentStatus::Accepted => f.working += u32::from(window.holds(a.accept_ms)),
            AssignmentStatus::Abandoned => f.abandoned += u32::from(window.holds(a.deadline_ms)),
            AssignmentStatus::Returned => f.returned += u32::from(window.holds(a.accept_ms)),
            status @ (AssignmentStatus::Submitted | AssignmentStatus::Approved | AssignmentStatus::Rejected) => {
                if let Some(submit) = a.submit_ms.filter(|t| window.holds(*t)) {
                    f.submitted += 1;
                    active.push((submit - a.accept_ms).max(0));
                    f.awaiting_review += u32::from(status == AssignmentStatus::Submitted);
                }
                if status == AssignmentStatus::Approved && window.holds_some(a.approval_ms_at(now_ms)) {
                    f.approved += 1;
                    f.rewards += reward_of(a);
                }
                if status == AssignmentStatus::Rejected && window.holds_some(a.rejection_ms) {
                    f.rejected += 1;
                }
            }
        }
    }
    for b in bonuses.iter().filter(|b| b.worker_id == worker_id && window.holds(b.granted_ms)) {
        f.bonuses += b.amount;
    }
    f.active_ms = active.iter().sum();
    active.sort_unstable();
    f.median_active_ms = (!active.is_empty()).then(|| active[active.len() / 2]);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(id: &str, status: AssignmentStatus, accept: i64, submit: Option<i64>) -> Assignment {
        Assignment {
            id: id.into(),
            hit_id: format!("H{id}"),
            accept_ms: accept,
            deadline_ms: accept + 600_000,
            submit_ms: submit,
            auto_approval_ms: submit.map(|t| t + 3_600_000),
            reward: Some(Usd::from_cents(5)),
            ..crate::store::tests::assignment(status, None)
        }
    }

    fn work() -> (Vec<Assignment>, Vec<Bonus>) {
        let mut approved = assignment("1", AssignmentStatus::Approved, 0, Some(20_000));
        approved.approval_ms = Some(30_000);
        let mut rejected = assignment("2", AssignmentStatus::Rejected, 40_000, Some(50_000));
        rejected.rejection_ms = Some(60_000);
        let awaiting = assignment("3", AssignmentStatus::Submitted, 100_000, Some(130_000));
        let returned = assignment("4", AssignmentStatus::Returned, 140_000, None);
        let overdue = assignment("5", AssignmentStatus::Accepted, 150_000, None);
        let working = assignment("6", AssignmentStatus::Accepted, 1_000_000, None);
        let mut someone_else = assignment("7", AssignmentStatus::Approved, 0, Some(1));
        someone_else.worker_id = "X".into();
        someone_else.approval_ms = Some(2);
        let bonus = |worker: &str, cents, at| Bonus {
            id: String::new(),
            worker_id: worker.into(),
            assignment_id: "1".into(),
            amount: Usd::from_cents(cents),
            reason: "good".into(),
            granted_ms: at,
        };
        (
            vec![approved, rejected, awaiting, returned, overdue, working, someone_else],
            vec![bonus("W", 25, 35_000), bonus("X", 99, 35_000)],
        )
    }

    #[test]
    fn each_assignment_counts_where_it_stands_now() {
        let (a, b) = work();
        let f = figures_of("W", &a, &b, |a| a.reward.unwrap_or_default(), Window::ALL, 1_000_001);
        assert_eq!((f.submitted, f.approved, f.rejected, f.awaiting_review), (3, 1, 1, 1));
        assert_eq!((f.returned, f.abandoned, f.working), (1, 1, 1), "the overdue one reads abandoned");
        assert_eq!(f.active_ms, 20_000 + 10_000 + 30_000);
        assert_eq!(f.median_active_ms, Some(20_000));
        assert_eq!(
            (f.rewards, f.bonuses, f.earnings()),
            (Usd::from_cents(5), Usd::from_cents(25), Usd::from_cents(30))
        );
        assert_eq!(f.last_seen_ms, Some(1_000_000));
    }

    #[test]
    fn a_due_auto_approval_is_approved_and_paid_before_any_pass() {
        let (a, b) = work();
        let later = 130_000 + 3_600_000;
        let f = figures_of("W", &a, &b, |a| a.reward.unwrap_or_default(), Window::ALL, later);
        assert_eq!((f.approved, f.awaiting_review), (2, 0));
        assert_eq!(f.rewards, Usd::from_cents(10));
    }

    #[test]
    fn a_window_counts_what_happened_in_it() {
        let (a, b) = work();
        let f = figures_of("W", &a, &b, |_| Usd::from_cents(5), Window { from_ms: 25_000, to_ms: 55_000 }, 2_000_000);
        // Approved at 30 s (submitted before the window), bonus at 35 s,
        // the second submitted at 50 s but rejected after the window.
        assert_eq!((f.submitted, f.approved, f.rejected), (1, 1, 0));
        assert_eq!((f.rewards, f.bonuses), (Usd::from_cents(5), Usd::from_cents(25)));
        assert!(figures_of("W", &a, &b, |_| Usd::ZERO, Window { from_ms: 5_000_000, to_ms: 6_000_000 }, 7_000_000)
            .is_empty());
    }

    #[test]
    fn nobody_elses_work_counts() {
        let (a, b) = work();
        let f = figures_of("X", &a, &b, |_| Usd::from_cents(5), Window::ALL, 10);
        assert_eq!((f.submitted, f.approved, f.bonuses), (1, 1, Usd::from_cents(99)));
        assert!(figures_of("Y", &a, &b, |_| Usd::ZERO, Window::ALL, 10).is_empty());
    }
}
