//! The service's records: what MTurk keeps about HIT types, HITs, assignments,
//! qualifications, blocks and notification settings.

use std::collections::BTreeMap;

use hitloop_core::money::Usd;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HitStatus {
    Assignable,
    Unassignable,
    Reviewable,
    Reviewing,
    Disposed,
}

impl HitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HitStatus::Assignable => "Assignable",
            HitStatus::Unassignable => "Unassignable",
            HitStatus::Reviewable => "Reviewable",
            HitStatus::Reviewing => "Reviewing",
            HitStatus::Disposed => "Disposed",
        }
    }
}

/// An assignment's status. Only the last three are visible through the API;
/// the others are kept so the service can account for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AssignmentStatus {
    Accepted,
    Returned,
    Abandoned,
    Submitted,
    Approved,
    Rejected,
}

impl AssignmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentStatus::Accepted => "Accepted",
            AssignmentStatus::Returned => "Returned",
            AssignmentStatus::Abandoned => "Abandoned",
            AssignmentStatus::Submitted => "Submitted",
            AssignmentStatus::Approved => "Approved",
            AssignmentStatus::Rejected => "Rejected",
        }
    }

    pub fn is_visible(self) -> bool {
        matches!(self, AssignmentStatus::Submitted | AssignmentStatus::Approved | AssignmentStatus::Rejected)
    }

    pub fn parse_visible(s: &str) -> Option<Self> {
        match s {
            "Submitted" => Some(AssignmentStatus::Submitted),
            "Approved" => Some(AssignmentStatus::Approved),
            "Rejected" => Some(AssignmentStatus::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Locale {
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<String>,
}

/// A QualificationRequirement exactly as the API carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct QualificationRequirement {
    pub qualification_type_id: String,
    pub comparator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integer_values: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locale_values: Vec<Locale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_to_preview: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_guarded: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotificationSpec {
    pub destination: String,
    pub transport: String,
    pub version: String,
    pub event_types: Vec<String>,
}

/// The attributes that make two HIT types the same type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HitTypeKey {
    pub title: String,
    pub description: String,
    pub keywords: Option<String>,
    pub reward_cents: i64,
    pub assignment_duration_s: i64,
    pub auto_approval_delay_s: i64,
    /// Requirements serialised canonically, so the key can be hashed.
    pub qualification_requirements: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HitType {
    pub id: String,
    pub group_id: String,
    pub key: HitTypeKey,
    pub reward: Usd,
    pub qualification_requirements: Vec<QualificationRequirement>,
    pub notification: Option<NotificationSpec>,
    pub notification_active: bool,
}

impl HitType {
    /// Does this type require the Masters qualification (a 5 % surcharge)?
    pub fn requires_masters(&self) -> bool {
        self.qualification_requirements.iter().any(|q| crate::quals::is_masters(&q.qualification_type_id))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hit {
    pub id: String,
    /// Bumped by every write: a write holds only on the version it read.
    #[serde(default)]
    pub version: u64,
    pub hit_type_id: String,
    pub created_ms: i64,
    /// Orders HITs one process created in the same millisecond (a counter
    /// of the process, not a stored one: no global counter).
    #[serde(default)]
    pub created_tiebreak: u64,
    pub expiration_ms: i64,
    /// The expiration for which HITExpired has been handled, so that a timer
    /// firing twice (or late) does not emit it twice.
    pub expiry_handled_ms: Option<i64>,
    pub question: String,
    pub requester_annotation: Option<String>,
    pub max_assignments: i64,
    pub status: HitStatus,
    /// The deadline of each accepted assignment not yet submitted, returned
    /// or abandoned (assignment id -> ms). One whose deadline has passed
    /// holds no slot from that moment on, before anything records the
    /// abandonment: counts and status read at any time follow from these.
    #[serde(default)]
    pub pending_until: BTreeMap<String, i64>,
    pub submitted: i64,
    pub approved: i64,
    pub rejected: i64,
    /// What this HIT could still cost: its share of OnHoldBalance.
    pub liability: Usd,
    pub disposed_ms: Option<i64>,
}

impl Hit {
    pub fn is_expired(&self, now_ms: i64) -> bool {
        now_ms >= self.expiration_ms
    }

    /// Assignments being worked on at `now_ms`: accepted, and their time not
    /// yet up.
    pub fn pending_at(&self, now_ms: i64) -> i64 {
        self.pending_until.values().filter(|deadline| now_ms < **deadline).count() as i64
    }

    /// Accepted assignments whose time is up at `now_ms` and whose
    /// abandonment is not yet recorded: (deadline, assignment id), earliest
    /// first.
    pub fn overdue(&self, now_ms: i64) -> Vec<(i64, String)> {
        let mut due: Vec<(i64, String)> =
            self.pending_until.iter().filter(|(_, d)| now_ms >= **d).map(|(id, d)| (*d, id.clone())).collect();
        due.sort();
        due
    }

    pub fn used_slots(&self, now_ms: i64) -> i64 {
        self.pending_at(now_ms) + self.submitted + self.approved + self.rejected
    }

    /// Slots a worker could still accept now.
    pub fn available(&self, now_ms: i64) -> i64 {
        if self.status == HitStatus::Disposed || self.is_expired(now_ms) {
            0
        } else {
            (self.max_assignments - self.used_slots(now_ms)).max(0)
        }
    }

    /// The status at `now_ms`: what the record says, brought up to what
    /// fell due since (its expiry, its assignments' deadlines). The rule
    /// every change settles a HIT with, so a read between the pass's runs
    /// already shows what the pass will record.
    pub fn status_at(&self, now_ms: i64) -> HitStatus {
        if self.status == HitStatus::Disposed {
            HitStatus::Disposed
        } else if self.available(now_ms) > 0 {
            HitStatus::Assignable
        } else if self.pending_at(now_ms) > 0 {
            HitStatus::Unassignable
        } else if self.status == HitStatus::Reviewing {
            HitStatus::Reviewing
        } else {
            HitStatus::Reviewable
        }
    }
}

impl Assignment {
    /// Is it approved by now without having been reviewed: submitted, and
    /// its auto-approval time come?
    pub fn auto_approved_by(&self, now_ms: i64) -> bool {
        self.status == AssignmentStatus::Submitted && self.auto_approval_ms.is_some_and(|t| now_ms >= t)
    }

    /// The status at `now_ms`: a submitted assignment whose auto-approval
    /// time has come reads Approved (at that time) before the pass records
    /// the approval and its payment.
    pub fn status_at(&self, now_ms: i64) -> AssignmentStatus {
        if self.auto_approved_by(now_ms) {
            AssignmentStatus::Approved
        } else {
            self.status
        }
    }

    pub fn approval_ms_at(&self, now_ms: i64) -> Option<i64> {
        if self.auto_approved_by(now_ms) {
            self.auto_approval_ms
        } else {
            self.approval_ms
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Assignment {
    pub id: String,
    /// Bumped by every write: a write holds only on the version it read.
    #[serde(default)]
    pub version: u64,
    /// Its place among its HIT's assignments: the HIT's version when it was
    /// accepted (each acceptance writes the HIT on the version it read, so no
    /// two share one).
    #[serde(default)]
    pub order_in_hit: u64,
    pub hit_id: String,
    pub worker_id: String,
    pub status: AssignmentStatus,
    pub accept_ms: i64,
    pub deadline_ms: i64,
    pub submit_ms: Option<i64>,
    pub auto_approval_ms: Option<i64>,
    pub approval_ms: Option<i64>,
    pub rejection_ms: Option<i64>,
    pub answer: Option<String>,
    pub requester_feedback: Option<String>,
    /// The HIT's reward when it was accepted (what approval pays the
    /// worker), so a worker's figures need no read of the HIT and its type.
    /// None on records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<Usd>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QualificationType {
    pub id: String,
    pub created_ms: i64,
    pub name: String,
    pub description: String,
    pub keywords: Option<String>,
    pub status: String,
    pub retry_delay_s: Option<i64>,
    pub test: Option<String>,
    pub test_duration_s: Option<i64>,
    pub answer_key: Option<String>,
    pub auto_granted: bool,
    pub auto_granted_value: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Qualification {
    pub qualification_type_id: String,
    pub worker_id: String,
    pub granted_ms: i64,
    pub integer_value: i64,
    pub granted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bonus {
    /// Orders bonuses paid in the same millisecond (ListBonusPayments pages).
    #[serde(default)]
    pub id: String,
    pub worker_id: String,
    pub assignment_id: String,
    pub amount: Usd,
    pub reason: String,
    pub granted_ms: i64,
}

/// A message the requester sent a worker (NotifyWorkers), shown on the
/// worker's "My work" page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerMessage {
    pub id: String,
    pub worker_id: String,
    pub sent_ms: i64,
    pub subject: String,
    pub text: String,
}

/// The requester's money: prepaid funds, what has been paid out, and what is
/// held for outstanding work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub funds: Usd,
    pub spent: Usd,
    pub on_hold: Usd,
}

impl Account {
    /// What can still be committed: funds less payments less liability.
    pub fn available(&self) -> Usd {
        self.funds - self.spent - self.on_hold
    }
}
