//! Where the service keeps its state, behind one async, fallible trait, so
//! the engine runs unchanged on the memory store (the local stack) and on a
//! durable store (DynamoDB, `hitloop-workforce-dynamodb`).
//!
//! Concurrency is settled by the store, never by a lock the engine holds: an
//! operation reads what it needs (a snapshot), decides, and hands the store
//! every change it decided as one [`Changes`], which the store applies
//! atomically if, and only if, nothing it was decided from has changed since
//! (each record's version, a marker that must not exist yet, the account's
//! balance that must not go below zero). Otherwise the commit is refused with
//! [`CommitError::Conflict`] and the engine reads again and decides again.
//!
//! Time lives in the records, not in a process: when a HIT expires or is
//! disposed of, when an assignment is abandoned or approved automatically
//! follows from the record itself (`due_of_hit`, `due_of_assignment`), and a
//! store keeps those moments as an index (`next_due_after`). Nothing is
//! scheduled; a record that changes changes what is due.

mod memory;

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use hitloop_core::money::Usd;

use crate::error::ApiError;
use crate::model::*;

pub use memory::MemoryStore;

/// HITs are disposed of automatically this long after they expire.
pub const AUTO_DISPOSE_AFTER_MS: i64 = 120 * 24 * 3600 * 1000;

/// Something the engine must do at a moment a record names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Due {
    HitExpiry(String),
    AssignmentDeadline(String),
    AutoApprove(String),
    AutoDispose(String),
}

/// A due entry's place in the index: its moment, then a tie-break the store
/// chooses (the memory store: the order entries became due in).
pub type DueKey = (i64, String);

/// What a HIT has due: its expiry (until handled) and its disposal, unless
/// it is disposed of already.
pub fn due_of_hit(h: &Hit) -> Vec<(i64, Due)> {
    if h.status == HitStatus::Disposed {
        return vec![];
    }
    let mut due = Vec::with_capacity(2);
    if h.expiry_handled_ms != Some(h.expiration_ms) {
        due.push((h.expiration_ms, Due::HitExpiry(h.id.clone())));
    }
    due.push((h.expiration_ms + AUTO_DISPOSE_AFTER_MS, Due::AutoDispose(h.id.clone())));
    due
}

/// What an assignment has due: its deadline while accepted, its automatic
/// approval while submitted.
pub fn due_of_assignment(a: &Assignment) -> Vec<(i64, Due)> {
    match (a.status, a.auto_approval_ms) {
        (AssignmentStatus::Accepted, _) => vec![(a.deadline_ms, Due::AssignmentDeadline(a.id.clone()))],
        (AssignmentStatus::Submitted, Some(at)) => vec![(at, Due::AutoApprove(a.id.clone()))],
        _ => vec![],
    }
}

/// One stored use of a UniqueRequestToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub used_ms: i64,
    /// The HIT the first request created or touched.
    pub hit_id: Option<String>,
    pub request_id: String,
}

/// A record written with the version it was read at: the write holds only
/// if the stored record is still that one (`prior` None: only if there is
/// none). `record.version` is the new version.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub record: T,
    pub prior: Option<T>,
}

/// One change of a commit, with the condition it holds under.
#[derive(Debug, Clone)]
pub enum Write {
    /// A new HIT type (none with its id or its key yet), or new
    /// notification settings for one (last writer wins, as on MTurk).
    HitType {
        record: HitType,
        new: bool,
    },
    Hit(Versioned<Hit>),
    Assignment(Versioned<Assignment>),
    /// The one assignment a worker may have of a HIT: must not exist yet.
    /// It also lists the worker (`workers`) and finds their assignments
    /// (`assignments_of_worker`).
    WorkerHit {
        worker_id: String,
        hit_id: String,
        assignment_id: String,
    },
    /// A UniqueRequestToken's use: unused, or last used before `free_before_ms`.
    Token {
        scope: String,
        token: String,
        used: TokenUse,
        free_before_ms: i64,
    },
    /// A block (Some reason) or its removal (None).
    Block {
        worker_id: String,
        reason: Option<String>,
    },
    /// A new qualification type: no other with its name.
    QualificationType(QualificationType),
    Qualification(Qualification),
    Bonus(Bonus),
    /// A message to a worker (kept for `MESSAGE_KEPT_MS`).
    Message(WorkerMessage),
}

/// How long a worker's messages are kept.
pub const MESSAGE_KEPT_MS: i64 = 90 * 24 * 3600 * 1000;

/// Money moved by a commit. The store keeps the balances from going below
/// zero: a change that lowers what is available (funds less paid less held)
/// or what is unspent (funds less paid) holds only if it stays at or above
/// zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountDelta {
    pub funds: Usd,
    pub spent: Usd,
    pub on_hold: Usd,
}

impl AccountDelta {
    pub fn is_zero(&self) -> bool {
        *self == AccountDelta::default()
    }

    /// The change in what is available.
    pub fn available(&self) -> Usd {
        self.funds - self.spent - self.on_hold
    }

    /// The change in what is unspent.
    pub fn unspent(&self) -> Usd {
        self.funds - self.spent
    }

    pub fn applied_to(&self, a: Account) -> Account {
        Account { funds: a.funds + self.funds, spent: a.spent + self.spent, on_hold: a.on_hold + self.on_hold }
    }

    /// Does `after` (the account with this change applied) break a floor
    /// this change could break?
    pub fn breaks_floor(&self, after: &Account) -> bool {
        (self.available() < Usd::ZERO && after.available() < Usd::ZERO)
            || (self.unspent() < Usd::ZERO && after.funds - after.spent < Usd::ZERO)
    }
}

/// Everything one operation decided, applied all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub writes: Vec<Write>,
    pub account: AccountDelta,
    /// Notifications to send once the commit holds. The store keeps each
    /// (but a test event) as an outbox record in the same commit, until the
    /// dispatcher has handed it over (`outbox_sent`): a crash between the
    /// commit and the send leaves it there for the pass.
    pub outbox: Vec<crate::engine::Delivery>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.account.is_zero() && self.outbox.is_empty()
    }
}

/// A store that could not answer. Always retryable by the caller: the
/// operation had no effect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored record is not readable: {0}")]
    Corrupt(String),
    #[error("the pagination token is not one this service handed out")]
    BadToken,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadToken => ApiError::validation("The value for NextToken is not valid."),
            other => {
                tracing::error!(error = %other, "store failed");
                ApiError::service_fault()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// Something the changes were decided from has changed: read again.
    #[error("a record changed since it was read")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Items of a listing, each with the cursor a page ending at it hands out.
pub type Listed<T> = Vec<(String, T)>;

#[async_trait]
pub trait Store: Send + Sync {
    async fn hit_type(&self, id: &str) -> StoreResult<Option<HitType>>;
    async fn hit_type_by_key(&self, key: &HitTypeKey) -> StoreResult<Option<String>>;

    async fn hit(&self, id: &str) -> StoreResult<Option<Hit>>;
    /// HITs oldest first after `after` (a cursor this store handed out): of
    /// one status, or (None) every HIT not disposed of, created by `now_ms`.
    async fn hits(
        &self,
        status: Option<HitStatus>,
        after: Option<&str>,
        limit: usize,
        now_ms: i64,
    ) -> StoreResult<Listed<Hit>>;
    async fn hit_count_by_status(&self) -> StoreResult<BTreeMap<HitStatus, usize>>;

    async fn assignment(&self, id: &str) -> StoreResult<Option<Assignment>>;
    /// A HIT's assignments in the order they were accepted.
    async fn assignments_of_hit(&self, hit_id: &str) -> StoreResult<Vec<Assignment>>;
    async fn worker_has_assignment(&self, worker_id: &str, hit_id: &str) -> StoreResult<bool>;
    /// Every HIT this worker has ever had an assignment of (what a worker's
    /// list of open HITs leaves out, in one read).
    async fn hits_of_worker(&self, worker_id: &str) -> StoreResult<HashSet<String>>;
    /// Every assignment this worker has had, in the order they were accepted.
    async fn assignments_of_worker(&self, worker_id: &str) -> StoreResult<Vec<Assignment>>;
    /// Has this worker ever accepted one of the account's HITs?
    async fn has_worked(&self, worker_id: &str) -> StoreResult<bool>;
    /// Every worker who has accepted a HIT, by worker id.
    async fn workers(&self, after: Option<&str>, limit: usize) -> StoreResult<Listed<String>>;
    async fn assignment_count_by_status(&self) -> StoreResult<BTreeMap<&'static str, usize>>;

    async fn token(&self, scope: &str, token: &str) -> StoreResult<Option<TokenUse>>;
    async fn account(&self) -> StoreResult<Account>;

    async fn block(&self, worker_id: &str) -> StoreResult<Option<String>>;
    /// Blocks by worker id, as (worker, reason).
    async fn blocks(&self, after: Option<&str>, limit: usize) -> StoreResult<Listed<(String, String)>>;

    async fn qualification_type(&self, id: &str) -> StoreResult<Option<QualificationType>>;
    async fn qualification_type_by_name(&self, name: &str) -> StoreResult<Option<String>>;
    async fn qualification(&self, type_id: &str, worker_id: &str) -> StoreResult<Option<Qualification>>;
    /// A type's qualifications (granted and revoked) by worker id.
    async fn qualifications_of_type(
        &self,
        type_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Listed<Qualification>>;
    /// The bonuses paid to a worker, oldest first.
    async fn bonuses_of_worker(&self, worker_id: &str) -> StoreResult<Vec<Bonus>>;
    /// A worker's messages sent at or after `since_ms`, newest first.
    async fn messages_of_worker(&self, worker_id: &str, since_ms: i64) -> StoreResult<Vec<WorkerMessage>>;

    /// The first entry due after `after` (everything when None).
    async fn next_due_after(&self, after: Option<&DueKey>) -> StoreResult<Option<(DueKey, Due)>>;
    async fn due_count(&self) -> StoreResult<usize>;

    /// Outbox records decided before `before_ms`, oldest first.
    async fn outbox_before(&self, before_ms: i64, limit: usize) -> StoreResult<Vec<crate::engine::Delivery>>;
    /// Removes outbox records once their deliveries were handed over, as
    /// (decided at, id); one already gone is no error.
    async fn outbox_sent(&self, sent: &[(i64, String)]) -> StoreResult<()>;

    /// Applies every change or none (see the module's documentation).
    async fn commit(&self, changes: &Changes) -> Result<(), CommitError>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hit(id: &str, expiration_ms: i64) -> Hit {
        Hit {
            id: id.into(),
            version: 0,
            hit_type_id: "T".into(),
            created_ms: 0,
            created_tiebreak: 0,
            expiration_ms,
            expiry_handled_ms: None,
            question: String::new(),
            requester_annotation: None,
            max_assignments: 1,
            status: HitStatus::Assignable,
            pending_until: Default::default(),
            submitted: 0,
            approved: 0,
            rejected: 0,
            liability: Usd::ZERO,
            disposed_ms: None,
        }
    }

    pub(crate) fn assignment(status: AssignmentStatus, auto: Option<i64>) -> Assignment {
        Assignment {
            id: "A".into(),
            version: 0,
            order_in_hit: 0,
            hit_id: "H".into(),
            worker_id: "W".into(),
            status,
            accept_ms: 0,
            deadline_ms: 600,
            submit_ms: None,
            auto_approval_ms: auto,
            approval_ms: None,
            rejection_ms: None,
            answer: None,
            requester_feedback: None,
            reward: None,
        }
    }

    #[test]
    fn what_a_record_has_due_follows_from_the_record() {
        let mut h = hit("H", 1_000);
        assert_eq!(
            due_of_hit(&h),
            vec![(1_000, Due::HitExpiry("H".into())), (1_000 + AUTO_DISPOSE_AFTER_MS, Due::AutoDispose("H".into()))]
        );
        h.expiry_handled_ms = Some(1_000);
        assert_eq!(due_of_hit(&h).len(), 1, "only its disposal once its expiry is handled");
        h.status = HitStatus::Disposed;
        assert!(due_of_hit(&h).is_empty());

        assert_eq!(
            due_of_assignment(&assignment(AssignmentStatus::Accepted, None)),
            vec![(600, Due::AssignmentDeadline("A".into()))]
        );
        assert_eq!(
            due_of_assignment(&assignment(AssignmentStatus::Submitted, Some(900))),
            vec![(900, Due::AutoApprove("A".into()))]
        );
        assert!(due_of_assignment(&assignment(AssignmentStatus::Approved, Some(900))).is_empty());
        assert!(due_of_assignment(&assignment(AssignmentStatus::Returned, None)).is_empty());
    }
}
