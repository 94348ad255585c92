//! The marketplace's HITs and assignments as the plans read them.

use aws_sdk_mturk::types::{Assignment, Hit};
use hitloop_core::marketplace::{AssignmentView, HitState};

use crate::clock::millis;

pub(crate) fn hit_state(h: &Hit) -> HitState {
    HitState {
        hit_id: h.hit_id().unwrap_or_default().to_string(),
        status: h.hit_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        max_assignments: h.max_assignments().unwrap_or(0).max(0) as u32,
        pending: h.number_of_assignments_pending().unwrap_or(0).max(0) as u32,
        available: h.number_of_assignments_available().unwrap_or(0).max(0) as u32,
        expiration: millis(h.expiration()),
        annotation: h.requester_annotation().map(str::to_string),
    }
}

pub(crate) fn assignment_view(a: &Assignment) -> AssignmentView {
    AssignmentView {
        assignment_id: a.assignment_id().unwrap_or_default().to_string(),
        worker_id: a.worker_id().unwrap_or_default().to_string(),
        status: a.assignment_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        answer: a.answer().unwrap_or_default().to_string(),
        submit_time: millis(a.submit_time()),
    }
}

/// The latest time an assignment shows.
pub(crate) fn latest(a: &Assignment) -> i64 {
    millis(a.submit_time()).max(millis(a.accept_time()))
}
