//! Assignments as the requester sees them: reading, approving, rejecting,
//! bonuses, and the account balance they draw on.

use hitloop_core::money::fees;
use serde_json::{json, Value};

use super::{Engine, DAY_MS};
use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::params::{encode_token, Params};
use crate::wire;

impl Engine {
    /// An assignment the requester can see: submitted, approved or rejected,
    /// on a HIT that still exists.
    fn visible_assignment(&self, id: &str) -> ApiResult<(Assignment, Hit)> {
        let a = self.store.assignment(id).filter(|a| a.status.is_visible());
        let Some(a) = a else { return Err(ApiError::assignment_does_not_exist(id)) };
        let hit = self.live_hit(&a.hit_id).map_err(|_| ApiError::assignment_does_not_exist(id))?;
        Ok((a, hit))
    }

    pub fn get_assignment(&mut self, p: &Params) -> ApiResult<Value> {
        let (a, hit) = self.visible_assignment(p.entity_id("AssignmentId")?)?;
        let t = self.hit_type_of(&hit)?;
        Ok(json!({ "Assignment": wire::assignment(&a), "HIT": wire::hit(&hit, &t, self.now_ms) }))
    }

    pub fn list_assignments_for_hit(&mut self, p: &Params) -> ApiResult<Value> {
        let hit = self.live_hit(p.entity_id("HITId")?)?;
        let limit = p.max_results()?;
        let after = p.next_token()?;
        let statuses: Vec<AssignmentStatus> = match p.opt_array("AssignmentStatuses")? {
            None => vec![AssignmentStatus::Submitted, AssignmentStatus::Approved, AssignmentStatus::Rejected],
            Some(list) => list
                .iter()
                .map(|v| {
                    v.as_str().and_then(AssignmentStatus::parse_visible).ok_or_else(|| {
                        ApiError::validation(format!(
                            "The value {v} is not valid for the parameter AssignmentStatuses."
                        ))
                    })
                })
                .collect::<ApiResult<_>>()?,
        };
        let mut matching: Vec<Assignment> = self
            .store
            .assignments_of_hit(&hit.id)
            .into_iter()
            .filter(|a| statuses.contains(&a.status))
            .filter(|a| after.is_none_or(|s| a.seq > s))
            .collect();
        matching.sort_by_key(|a| a.seq);
        let more = matching.len() > limit;
        matching.truncate(limit);
        let next = if more { matching.last().map(|a| encode_token(a.seq)) } else { None };
        Ok(wire::page("Assignments", matching.iter().map(wire::assignment).collect(), next))
    }

    pub fn approve_assignment(&mut self, p: &Params) -> ApiResult<Value> {
        let id = p.entity_id("AssignmentId")?;
        let feedback = p.opt_str_len("RequesterFeedback", 0, 1024)?;
        let override_rejection = p.opt_bool("OverrideRejection")?.unwrap_or(false);
        let Some(a) = self.store.assignment(id) else { return Err(ApiError::assignment_does_not_exist(id)) };
        let hit = self.live_hit(&a.hit_id).map_err(|_| ApiError::assignment_does_not_exist(id))?;
        match a.status {
            AssignmentStatus::Submitted => {}
            AssignmentStatus::Rejected if override_rejection => {
                let submitted = a.submit_ms.unwrap_or(a.accept_ms);
                if self.now_ms - submitted > 30 * DAY_MS {
                    return Err(ApiError::invalid_assignment_state("Submitted"));
                }
            }
            AssignmentStatus::Rejected => return Err(ApiError::invalid_assignment_state("Submitted")),
            // Not yet submitted: invisible to the requester, as in the sandbox.
            s if !s.is_visible() => return Err(ApiError::invalid_assignment_state("null")),
            _ => return Err(ApiError::invalid_assignment_state("Submitted")),
        }
        let cost = self.unit_cost(&hit);
        let can_pay =
            if a.status == AssignmentStatus::Rejected { self.store.account().available() } else { self.unspent() };
        if cost > can_pay {
            return Err(ApiError::insufficient_funds(cost, can_pay));
        }
        self.approve(a, hit, feedback.map(str::to_string));
        Ok(json!({}))
    }

    /// Approves and pays (explicitly or by auto-approval).
    pub(super) fn approve(&mut self, mut a: Assignment, mut hit: Hit, feedback: Option<String>) {
        let cost = self.unit_cost(&hit);
        self.charge(cost);
        if a.status == AssignmentStatus::Rejected {
            hit.rejected -= 1;
            a.rejection_ms = None;
        } else {
            hit.submitted -= 1;
        }
        hit.approved += 1;
        a.status = AssignmentStatus::Approved;
        a.approval_ms = Some(self.now_ms);
        if feedback.is_some() {
            a.requester_feedback = feedback;
        }
        self.store.put_assignment(a.clone());
        self.stats.assignments_approved += 1;
        self.settle(&mut hit);
        self.emit("AssignmentApproved", &hit, Some(&a.id));
    }

    pub fn reject_assignment(&mut self, p: &Params) -> ApiResult<Value> {
        let id = p.entity_id("AssignmentId")?;
        let feedback = p.str_len("RequesterFeedback", 1, 1024)?;
        let Some(mut a) = self.store.assignment(id) else { return Err(ApiError::assignment_does_not_exist(id)) };
        let mut hit = self.live_hit(&a.hit_id).map_err(|_| ApiError::assignment_does_not_exist(id))?;
        if a.status != AssignmentStatus::Submitted {
            let shown = if a.status.is_visible() { "Submitted" } else { "null" };
            return Err(ApiError::invalid_assignment_state(shown));
        }
        a.status = AssignmentStatus::Rejected;
        a.rejection_ms = Some(self.now_ms);
        a.requester_feedback = Some(feedback.to_string());
        hit.submitted -= 1;
        hit.rejected += 1;
        self.store.put_assignment(a.clone());
        self.stats.assignments_rejected += 1;
        self.settle(&mut hit);
        self.emit("AssignmentRejected", &hit, Some(&a.id));
        Ok(json!({}))
    }

    pub fn send_bonus(&mut self, p: &Params) -> ApiResult<Value> {
        let worker = p.worker_id("WorkerId")?;
        let amount = p.currency("BonusAmount")?;
        let assignment_id = p.entity_id("AssignmentId")?;
        let reason = p.str_len("Reason", 1, 4096)?;
        let token = p.idempotency_token()?;
        let a = self.store.assignment(assignment_id).filter(|a| a.status.is_visible());
        let Some(a) = a else { return Err(ApiError::assignment_does_not_exist(assignment_id)) };
        if a.worker_id != worker {
            return Err(ApiError::validation(format!(
                "The value \"{worker}\" is not valid for the parameter WorkerId: assignment {assignment_id} belongs to another worker."
            )));
        }
        if a.status == AssignmentStatus::Submitted {
            return Err(ApiError::invalid_assignment_state("Approved, Rejected"));
        }
        if amount.cents() <= 0 {
            return Err(ApiError::validation("The value for BonusAmount must be greater than 0."));
        }
        self.check_token("SendBonus", token)?;
        let cost = fees::bonus_cost(amount);
        let available = self.store.account().available();
        if cost > available {
            return Err(ApiError::insufficient_funds(cost, available));
        }
        self.charge(cost);
        self.remember_token("SendBonus", token, Some(&a.hit_id));
        self.store.put_bonus(Bonus {
            worker_id: worker.into(),
            assignment_id: assignment_id.into(),
            amount,
            reason: reason.into(),
            granted_ms: self.now_ms,
        });
        Ok(json!({}))
    }

    pub fn get_account_balance(&mut self, _p: &Params) -> ApiResult<Value> {
        let a = self.store.account();
        Ok(json!({ "AvailableBalance": a.available(), "OnHoldBalance": a.on_hold }))
    }

    // ---- timers ----------------------------------------------------------

    pub(super) fn on_auto_approve(&mut self, id: &str) {
        let Some(a) = self.store.assignment(id) else { return };
        if a.status != AssignmentStatus::Submitted || a.auto_approval_ms.is_none_or(|t| self.now_ms < t) {
            return;
        }
        let Some(hit) = self.store.hit(&a.hit_id) else { return };
        self.stats.assignments_auto_approved += 1;
        self.approve(a, hit, None);
    }
}
