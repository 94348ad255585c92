//! What hitloop sees of the crowd marketplace (MTurk, or a compatible
//! service): a HIT's counts and an assignment's answer, as the plans read
//! them. The `Crowd` port returns these; nothing here talks to anyone.

/// A HIT as GetHIT (or GetAssignment) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitState {
    pub hit_id: String,
    pub status: String,
    pub max_assignments: u32,
    /// Accepted, not yet submitted.
    pub pending: u32,
    /// Still open to accept (0 once the HIT expired).
    pub available: u32,
    /// Epoch milliseconds.
    pub expiration: i64,
    pub annotation: Option<String>,
}

impl HitState {
    /// Assignments that may still bring an answer.
    pub fn outstanding(&self) -> u32 {
        self.pending + self.available
    }

    /// Assignments submitted, approved or rejected: exact while the HIT is
    /// open; once it expired, unfilled slots count here too (so a view
    /// checked against it asks for the full list, never misses an answer).
    pub fn done(&self) -> u32 {
        self.max_assignments.saturating_sub(self.outstanding())
    }
}

/// A submitted (or approved) assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentView {
    pub assignment_id: String,
    pub worker_id: String,
    /// Submitted, Approved or Rejected.
    pub status: String,
    /// The Answer XML, untrusted.
    pub answer: String,
    /// Epoch milliseconds.
    pub submit_time: i64,
}

/// Why the marketplace refused to create a HIT or more assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateHitError {
    /// The UniqueRequestToken was used: the HIT exists (its id if known).
    AlreadyExists(Option<String>),
    InsufficientFunds(String),
    Other(String),
}
