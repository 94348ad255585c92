//! The worker side, which the Requester API cannot reach (accept, submit,
//! return), and the requester operations that decide who may work: blocks and
//! qualifications.

use serde_json::{json, Value};

use super::{locked, transact, Engine, Tx};
use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::params::{encode_token, Params};
use crate::quals::{self, Held};
use crate::store::{StoreResult, Write};
use crate::{ids, question, wire};

/// What the marketplace knows of a worker beyond granted qualifications: the
/// values of the system qualifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerProfile {
    pub locale: Locale,
    pub percent_approved: i64,
    pub hits_approved: i64,
    pub adult: bool,
    pub masters: bool,
}

impl Default for WorkerProfile {
    fn default() -> Self {
        WorkerProfile {
            locale: Locale { country: "US".into(), subdivision: None },
            percent_approved: 100,
            hits_approved: 1000,
            adult: true,
            masters: false,
        }
    }
}

impl Engine {
    pub fn register_worker(&self, worker_id: &str, profile: WorkerProfile) {
        locked(&self.profiles).insert(worker_id.to_string(), profile);
    }

    async fn held(&self, tx: &mut Tx, worker_id: &str, type_id: &str) -> StoreResult<Option<Held>> {
        let profile = locked(&self.profiles).get(worker_id).cloned().unwrap_or_default();
        Ok(match type_id {
            quals::WORKER_LOCALE => Some(Held::Locale(profile.locale.clone())),
            quals::PERCENT_APPROVED => Some(Held::Int(profile.percent_approved)),
            quals::NUMBER_HITS_APPROVED => Some(Held::Int(profile.hits_approved)),
            quals::ADULT => Some(Held::Int(i64::from(profile.adult))),
            quals::MASTERS_PRODUCTION | quals::MASTERS_SANDBOX => profile.masters.then_some(Held::Int(1)),
            // A revoked qualification is not held, even of an auto-granted type.
            _ => match tx.store().qualification(type_id, worker_id).await? {
                Some(q) => q.granted.then_some(Held::Int(q.integer_value)),
                None => tx
                    .store()
                    .qualification_type(type_id)
                    .await?
                    .filter(|t| t.auto_granted)
                    .map(|t| Held::Int(t.auto_granted_value.unwrap_or(1))),
            },
        })
    }

    /// Why `worker_id` may not accept `hit` now, or None if they may.
    pub async fn refusal(&self, tx: &mut Tx, worker_id: &str, hit: &Hit) -> StoreResult<Option<String>> {
        if tx.store().block(worker_id).await?.is_some() {
            return Ok(Some("the requester has blocked this worker".into()));
        }
        self.hit_refusal(tx, worker_id, hit, true).await
    }

    /// Why `worker_id`, who is not blocked, may not accept `hit` now
    /// (whether they had it before: when `check_worked`).
    async fn hit_refusal(
        &self,
        tx: &mut Tx,
        worker_id: &str,
        hit: &Hit,
        check_worked: bool,
    ) -> StoreResult<Option<String>> {
        let status = hit.status_at(tx.now_ms);
        if status != HitStatus::Assignable || hit.available(tx.now_ms) == 0 {
            return Ok(Some(format!("the HIT is {} with no assignment available", status.as_str())));
        }
        if check_worked && tx.store().worker_has_assignment(worker_id, &hit.id).await? {
            return Ok(Some("the worker already has an assignment for this HIT".into()));
        }
        let Some(t) = tx.hit_type(&hit.hit_type_id).await? else { return Ok(None) };
        for r in &t.qualification_requirements {
            if !quals::meets(r, self.held(tx, worker_id, &r.qualification_type_id).await?.as_ref()) {
                return Ok(Some(format!("the worker does not meet qualification {}", r.qualification_type_id)));
            }
        }
        Ok(None)
    }

    /// Accepts a HIT for a worker: a new assignment, one slot fewer available.
    pub async fn accept(&self, hit_id: &str, worker_id: &str) -> ApiResult<String> {
        transact!(self, |tx| self.accept_in(tx, hit_id, worker_id))
    }

    async fn accept_in(&self, tx: &mut Tx, hit_id: &str, worker_id: &str) -> ApiResult<String> {
        if !ids::is_worker_id(worker_id) {
            return Err(ApiError::validation(format!(
                "The value \"{worker_id}\" is not valid for the parameter WorkerId."
            )));
        }
        let mut hit = self.current_hit(tx, hit_id).await?;
        if let Some(why) = self.refusal(tx, worker_id, &hit).await? {
            return Err(ApiError::request(
                "AWS.MechanicalTurk.NotEligible",
                format!("Cannot accept HIT {hit_id}: {why}."),
            ));
        }
        let t = self.hit_type_of(tx, &hit).await?;
        let now = tx.now_ms;
        let a = Assignment {
            id: self.new_id(),
            version: 0,
            order_in_hit: hit.version,
            hit_id: hit.id.clone(),
            worker_id: worker_id.into(),
            status: AssignmentStatus::Accepted,
            accept_ms: now,
            deadline_ms: now + t.key.assignment_duration_s * 1000,
            submit_ms: None,
            auto_approval_ms: None,
            approval_ms: None,
            rejection_ms: None,
            answer: None,
            requester_feedback: None,
            reward: Some(t.reward),
        };
        hit.pending_until.insert(a.id.clone(), a.deadline_ms);
        tx.push(Write::WorkerHit { worker_id: worker_id.into(), hit_id: hit.id.clone(), assignment_id: a.id.clone() });
        tx.put_assignment(a.clone());
        tx.stats.assignments_accepted += 1;
        self.settle(tx, &mut hit).await?;
        self.emit(tx, "AssignmentAccepted", &hit, Some(&a.id)).await?;
        Ok(a.id)
    }

    /// Submits an accepted assignment with its QuestionFormAnswers XML.
    pub async fn submit(&self, assignment_id: &str, answer_xml: String) -> ApiResult<()> {
        self.submit_checked(assignment_id, answer_xml, true).await
    }

    /// `check: false` stores the answer as it comes, as a marketplace that
    /// does not validate answers would (for testing what requesters do with
    /// hostile XML).
    pub async fn submit_checked(&self, assignment_id: &str, answer_xml: String, check: bool) -> ApiResult<()> {
        transact!(self, |tx| self.submit_in(tx, assignment_id, &answer_xml, check))
    }

    async fn submit_in(&self, tx: &mut Tx, assignment_id: &str, answer_xml: &str, check: bool) -> ApiResult<()> {
        let Some(mut a) = tx.assignment(assignment_id).await? else {
            return Err(ApiError::assignment_does_not_exist(assignment_id));
        };
        if a.status != AssignmentStatus::Accepted {
            return Err(ApiError::invalid_assignment_state("Accepted"));
        }
        // Its time is up from the deadline on: the slot is no longer its.
        if tx.now_ms >= a.deadline_ms {
            return Err(ApiError::request(
                "AWS.MechanicalTurk.AssignmentExpired",
                "The time allotted for this assignment has passed.",
            ));
        }
        if check {
            hitloop_core::xml::parse(answer_xml, &hitloop_core::xml::Limits::ANSWER).map_err(|e| {
                ApiError::request("AWS.MechanicalTurk.XMLParseError", format!("The answer is not valid: {e}"))
            })?;
        }
        let Some(mut hit) = tx.hit(&a.hit_id).await? else { return Err(ApiError::hit_does_not_exist(&a.hit_id)) };
        let t = self.hit_type_of(tx, &hit).await?;
        let now = tx.now_ms;
        a.status = AssignmentStatus::Submitted;
        a.submit_ms = Some(now);
        let auto = now + t.key.auto_approval_delay_s * 1000;
        a.auto_approval_ms = Some(auto);
        a.answer = Some(answer_xml.to_string());
        hit.pending_until.remove(&a.id);
        hit.submitted += 1;
        tx.put_assignment(a.clone());
        tx.stats.assignments_submitted += 1;
        self.emit(tx, "AssignmentSubmitted", &hit, Some(&a.id)).await?;
        self.settle(tx, &mut hit).await?;
        if auto <= now {
            self.on_auto_approve(tx, &a.id).await?;
        }
        Ok(())
    }

    /// A worker gives an accepted assignment back; the slot reopens.
    pub async fn return_assignment(&self, assignment_id: &str) -> ApiResult<()> {
        transact!(self, |tx| self.release(tx, assignment_id, AssignmentStatus::Returned))
    }

    async fn release(&self, tx: &mut Tx, assignment_id: &str, to: AssignmentStatus) -> ApiResult<()> {
        let Some(mut a) = tx.assignment(assignment_id).await? else {
            return Err(ApiError::assignment_does_not_exist(assignment_id));
        };
        if a.status != AssignmentStatus::Accepted {
            return Err(ApiError::invalid_assignment_state("Accepted"));
        }
        let Some(mut hit) = tx.hit(&a.hit_id).await? else { return Err(ApiError::hit_does_not_exist(&a.hit_id)) };
        a.status = to;
        hit.pending_until.remove(&a.id);
        tx.put_assignment(a.clone());
        let event = if to == AssignmentStatus::Returned { "AssignmentReturned" } else { "AssignmentAbandoned" };
        self.emit(tx, event, &hit, Some(&a.id)).await?;
        self.settle(tx, &mut hit).await
    }

    pub(super) async fn on_deadline(&self, tx: &mut Tx, id: &str) -> ApiResult<()> {
        match tx.assignment(id).await? {
            Some(a) if a.status == AssignmentStatus::Accepted && tx.now_ms >= a.deadline_ms => {
                self.release(tx, id, AssignmentStatus::Abandoned).await
            }
            _ => Ok(()),
        }
    }

    /// Assignable HITs this worker could accept now, oldest first, at most
    /// `limit` of them, looking at no more than `scan` HITs.
    pub async fn open_hits_for(&self, worker_id: &str, limit: usize, scan: usize) -> StoreResult<Vec<Hit>> {
        self.open_hits_of_type_for(worker_id, None, limit, scan).await
    }

    /// The same, of one HIT type only (when `of_type` names one).
    pub async fn open_hits_of_type_for(
        &self,
        worker_id: &str,
        of_type: Option<&str>,
        limit: usize,
        scan: usize,
    ) -> StoreResult<Vec<Hit>> {
        let mut tx = self.begin();
        let mut out = Vec::new();
        if tx.store().block(worker_id).await?.is_some() {
            return Ok(out);
        }
        let worked = tx.store().hits_of_worker(worker_id).await?;
        let mut after: Option<String> = None;
        let mut seen = 0;
        while out.len() < limit && seen < scan {
            // Pages a little larger than what is wanted: each HIT listed is
            // read in full (on DynamoDB, a BatchGetItem of its record).
            let page = (limit * 2).clamp(20, 200);
            let batch = tx.store().hits(Some(HitStatus::Assignable), after.as_deref(), page, tx.now_ms).await?;
            if batch.is_empty() {
                break;
            }
            for (cursor, h) in batch {
                seen += 1;
                after = Some(cursor);
                let wanted = of_type.is_none_or(|t| t == h.hit_type_id) && !worked.contains(&h.id);
                if wanted && self.hit_refusal(&mut tx, worker_id, &h, false).await?.is_none() {
                    out.push(h);
                    if out.len() == limit {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Accepts the next HIT of type `hit_type_id` open to `worker_id` (one
    /// they never had: a task is never shown to the same person twice):
    /// its assignment id, or None when there is none left. A HIT taken by
    /// someone else meanwhile is passed over for the next.
    pub async fn accept_next_of_type(&self, worker_id: &str, hit_type_id: &str) -> StoreResult<Option<String>> {
        let open = self.open_hits_of_type_for(worker_id, Some(hit_type_id), 5, 20_000).await?;
        for hit in &open {
            match self.accept(&hit.id, worker_id).await {
                Ok(assignment_id) => return Ok(Some(assignment_id)),
                Err(e) => tracing::info!(hit = %hit.id, error = %e.message, "next HIT taken meanwhile"),
            }
        }
        Ok(None)
    }

    /// Why `worker_id` may not accept `hit` now, or None if they may (a
    /// read of its own).
    pub async fn refusal_now(&self, worker_id: &str, hit: &Hit) -> StoreResult<Option<String>> {
        self.refusal(&mut self.begin(), worker_id, hit).await
    }

    /// The question of a HIT, parsed (for workers and the worker page).
    pub fn question_of(&self, hit: &Hit) -> Option<question::Question> {
        question::validate(&hit.question).ok()
    }

    pub async fn hit_and_type(&self, hit_id: &str) -> StoreResult<Option<(Hit, HitType)>> {
        let Some(h) = self.store.hit(hit_id).await? else { return Ok(None) };
        Ok(self.store.hit_type(&h.hit_type_id).await?.map(|t| (h, t)))
    }

    // ---- requester operations: blocks -------------------------------------

    pub async fn create_worker_block(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let worker = p.worker_id("WorkerId")?;
        let reason = p.str_len("Reason", 1, 4096)?;
        tx.push(Write::Block { worker_id: worker.into(), reason: Some(reason.into()) });
        Ok(json!({}))
    }

    pub async fn delete_worker_block(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let worker = p.worker_id("WorkerId").map_err(|_| ApiError::validation("WorkerId is invalid."))?;
        p.opt_str_len("Reason", 0, 4096)?;
        tx.push(Write::Block { worker_id: worker.into(), reason: None });
        Ok(json!({}))
    }

    pub async fn list_worker_blocks(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let limit = p.max_results()?;
        let mut rows = tx.store().blocks(p.next_token()?, limit + 1).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(|(cursor, _)| encode_token(cursor)) } else { None };
        let items = rows.into_iter().map(|(_, (w, r))| json!({ "WorkerId": w, "Reason": r })).collect();
        Ok(wire::page("WorkerBlocks", items, next))
    }
}
