//! Assignments as the requester sees them: reading, approving, rejecting,
//! bonuses, and the account balance they draw on.

use hitloop_core::money::fees;
use serde_json::{json, Value};

use super::{Engine, Tx, DAY_MS};
use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::params::{encode_token, Params};
use crate::store::Write;
use crate::wire;

impl Engine {
    /// An assignment the requester can see: submitted, approved or rejected,
    /// on a HIT that still exists.
    async fn visible_assignment(&self, tx: &mut Tx, id: &str) -> ApiResult<(Assignment, Hit)> {
        let a = tx.assignment(id).await?.filter(|a| a.status.is_visible());
        let Some(a) = a else { return Err(ApiError::assignment_does_not_exist(id)) };
        let hit = self.hit_of(tx, &a).await?;
        Ok((a, hit))
    }

    /// The live HIT of an assignment (an assignment of a disposed HIT is gone
    /// with it).
    async fn hit_of(&self, tx: &mut Tx, a: &Assignment) -> ApiResult<Hit> {
        match self.live_hit(tx, &a.hit_id).await {
            Ok(h) => Ok(h),
            Err(e) if e.turk_code == Some("AWS.MechanicalTurk.HITDoesNotExist") => {
                Err(ApiError::assignment_does_not_exist(&a.id))
            }
            Err(e) => Err(e),
        }
    }

    pub async fn get_assignment(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let (a, hit) = self.visible_assignment(tx, p.entity_id("AssignmentId")?).await?;
        let t = self.hit_type_of(tx, &hit).await?;
        Ok(json!({ "Assignment": wire::assignment(&a, tx.now_ms), "HIT": wire::hit(&hit, &t, tx.now_ms) }))
    }

    pub async fn list_assignments_for_hit(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let hit = self.live_hit(tx, p.entity_id("HITId")?).await?;
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
        // In the order they were accepted; a page's token names its last.
        let mut all = tx.store().assignments_of_hit(&hit.id).await?;
        if let Some(last) = after {
            let at = all.iter().position(|a| a.id == last).ok_or(crate::store::StoreError::BadToken)?;
            all.drain(..=at);
        }
        let now = tx.now_ms;
        let mut matching: Vec<Assignment> = all.into_iter().filter(|a| statuses.contains(&a.status_at(now))).collect();
        let more = matching.len() > limit;
        matching.truncate(limit);
        let next = if more { matching.last().map(|a| encode_token(&a.id)) } else { None };
        Ok(wire::page("Assignments", matching.iter().map(|a| wire::assignment(a, now)).collect(), next))
    }

    pub async fn approve_assignment(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let id = p.entity_id("AssignmentId")?;
        let feedback = p.opt_str_len("RequesterFeedback", 0, 1024)?;
        let override_rejection = p.opt_bool("OverrideRejection")?.unwrap_or(false);
        let Some(a) = tx.assignment(id).await? else { return Err(ApiError::assignment_does_not_exist(id)) };
        let hit = self.hit_of(tx, &a).await?;
        // An auto-approval that has come is an approval, recorded or not.
        match a.status_at(tx.now_ms) {
            AssignmentStatus::Submitted => {}
            AssignmentStatus::Rejected if override_rejection => {
                let submitted = a.submit_ms.unwrap_or(a.accept_ms);
                if tx.now_ms - submitted > 30 * DAY_MS {
                    return Err(ApiError::invalid_assignment_state("Submitted"));
                }
            }
            AssignmentStatus::Rejected => return Err(ApiError::invalid_assignment_state("Submitted")),
            // Not yet submitted: invisible to the requester, as in the sandbox.
            s if !s.is_visible() => return Err(ApiError::invalid_assignment_state("null")),
            _ => return Err(ApiError::invalid_assignment_state("Submitted")),
        }
        let cost = self.unit_cost(tx, &hit).await?;
        let can_pay = if a.status == AssignmentStatus::Rejected {
            tx.account().await?.available()
        } else {
            self.unspent(tx).await?
        };
        if cost > can_pay {
            return Err(ApiError::insufficient_funds(cost, can_pay));
        }
        let now = tx.now_ms;
        self.approve(tx, a, hit, feedback.map(str::to_string), now).await?;
        Ok(json!({}))
    }

    /// Approves and pays (explicitly or by auto-approval), as approved at
    /// `at_ms` (now, or the auto-approval time).
    pub(super) async fn approve(
        &self,
        tx: &mut Tx,
        mut a: Assignment,
        mut hit: Hit,
        feedback: Option<String>,
        at_ms: i64,
    ) -> ApiResult<()> {
        let cost = self.unit_cost(tx, &hit).await?;
        self.charge(tx, cost);
        if a.status == AssignmentStatus::Rejected {
            hit.rejected -= 1;
            a.rejection_ms = None;
        } else {
            hit.submitted -= 1;
        }
        hit.approved += 1;
        a.status = AssignmentStatus::Approved;
        a.approval_ms = Some(at_ms);
        if feedback.is_some() {
            a.requester_feedback = feedback;
        }
        tx.put_assignment(a.clone());
        tx.stats.assignments_approved += 1;
        self.settle(tx, &mut hit).await?;
        self.emit(tx, "AssignmentApproved", &hit, Some(&a.id)).await
    }

    pub async fn reject_assignment(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let id = p.entity_id("AssignmentId")?;
        let feedback = p.str_len("RequesterFeedback", 1, 1024)?;
        let Some(mut a) = tx.assignment(id).await? else { return Err(ApiError::assignment_does_not_exist(id)) };
        let mut hit = self.hit_of(tx, &a).await?;
        if a.status_at(tx.now_ms) != AssignmentStatus::Submitted {
            let shown = if a.status.is_visible() { "Submitted" } else { "null" };
            return Err(ApiError::invalid_assignment_state(shown));
        }
        a.status = AssignmentStatus::Rejected;
        a.rejection_ms = Some(tx.now_ms);
        a.requester_feedback = Some(feedback.to_string());
        hit.submitted -= 1;
        hit.rejected += 1;
        tx.put_assignment(a.clone());
        tx.stats.assignments_rejected += 1;
        self.settle(tx, &mut hit).await?;
        self.emit(tx, "AssignmentRejected", &hit, Some(&a.id)).await?;
        Ok(json!({}))
    }

    pub async fn send_bonus(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let worker = p.worker_id("WorkerId")?;
        let amount = p.currency("BonusAmount")?;
        let assignment_id = p.entity_id("AssignmentId")?;
        let reason = p.str_len("Reason", 1, 4096)?;
        let token = p.idempotency_token()?;
        let a = tx.assignment(assignment_id).await?.filter(|a| a.status.is_visible());
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
        self.check_token(tx, "SendBonus", token).await?;
        let cost = fees::bonus_cost(amount);
        let available = tx.account().await?.available();
        if cost > available {
            return Err(ApiError::insufficient_funds(cost, available));
        }
        self.charge(tx, cost);
        self.remember_token(tx, "SendBonus", token, Some(&a.hit_id));
        tx.push(Write::Bonus(Bonus {
            id: self.new_id(),
            worker_id: worker.into(),
            assignment_id: assignment_id.into(),
            amount,
            reason: reason.into(),
            granted_ms: tx.now_ms,
        }));
        Ok(json!({}))
    }

    pub async fn get_account_balance(&self, tx: &mut Tx, _p: &Params<'_>) -> ApiResult<Value> {
        let a = tx.account().await?;
        Ok(json!({ "AvailableBalance": a.available(), "OnHoldBalance": a.on_hold }))
    }

    // ---- timers ----------------------------------------------------------

    pub(super) async fn on_auto_approve(&self, tx: &mut Tx, id: &str) -> ApiResult<()> {
        let Some(a) = tx.assignment(id).await? else { return Ok(()) };
        let Some(at) = a.auto_approval_ms.filter(|_| a.auto_approved_by(tx.now_ms)) else { return Ok(()) };
        let Some(hit) = tx.hit(&a.hit_id).await? else { return Ok(()) };
        tx.stats.assignments_auto_approved += 1;
        self.approve(tx, a, hit, None, at).await
    }
}
