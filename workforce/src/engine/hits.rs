//! HIT types and HITs: creation, reading, expiry, review status, extension
//! and disposal.

use hitloop_core::money::fees;
use serde_json::{json, Value};

use super::{Engine, AUTO_DISPOSE_AFTER_MS};
use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::params::{encode_token, Params};
use crate::{quals, question, wire};

const MAX_SECONDS: i64 = 31_536_000;
const DEFAULT_AUTO_APPROVAL_S: i64 = 2_592_000;

impl Engine {
    /// Reads the HIT-type attributes shared by CreateHITType and CreateHIT,
    /// and returns the id of the matching type, creating it if new.
    fn hit_type_from(&mut self, p: &Params) -> ApiResult<String> {
        let title = p.str_len("Title", 1, 128)?;
        let description = p.str_len("Description", 1, 2000)?;
        let keywords = p.opt_str_len("Keywords", 0, 1000)?;
        let reward = p.currency("Reward")?;
        let duration = p.i64_range("AssignmentDurationInSeconds", 30, MAX_SECONDS)?;
        let auto_approval =
            p.opt_i64_range("AutoApprovalDelayInSeconds", 0, 2_592_000)?.unwrap_or(DEFAULT_AUTO_APPROVAL_S);
        let reqs: Vec<QualificationRequirement> = match p.raw("QualificationRequirements") {
            None => vec![],
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| ApiError::validation(format!("QualificationRequirements is not valid: {e}")))?,
        };
        quals::validate(&reqs)?;
        for r in &reqs {
            if !quals::is_system(&r.qualification_type_id)
                && self.store.qualification_type(&r.qualification_type_id).is_none()
            {
                return Err(ApiError::request(
                    "AWS.MechanicalTurk.QualificationTypeDoesNotExist",
                    format!("QualificationType {} does not exist.", r.qualification_type_id),
                ));
            }
        }
        let key = HitTypeKey {
            title: title.into(),
            description: description.into(),
            keywords: keywords.map(str::to_string),
            reward_cents: reward.cents(),
            assignment_duration_s: duration,
            auto_approval_delay_s: auto_approval,
            qualification_requirements: serde_json::to_string(&reqs).unwrap_or_default(),
        };
        if let Some(id) = self.store.hit_type_by_key(&key) {
            return Ok(id);
        }
        let id = self.new_id();
        let group_id = self.new_id();
        self.store.put_hit_type(HitType {
            id: id.clone(),
            group_id,
            key,
            reward,
            qualification_requirements: reqs,
            notification: None,
            notification_active: false,
        });
        Ok(id)
    }

    pub fn create_hit_type(&mut self, p: &Params) -> ApiResult<Value> {
        let id = self.hit_type_from(p)?;
        Ok(json!({ "HITTypeId": id }))
    }

    pub fn create_hit(&mut self, p: &Params) -> ApiResult<Value> {
        let type_id = self.hit_type_from(p)?;
        self.create_hit_of_type(type_id, p)
    }

    pub fn create_hit_with_hit_type(&mut self, p: &Params) -> ApiResult<Value> {
        let type_id = p.entity_id("HITTypeId")?;
        if self.store.hit_type(type_id).is_none() {
            return Err(ApiError::request(
                "AWS.MechanicalTurk.HITTypeDoesNotExist",
                format!("HITType {type_id} does not exist."),
            ));
        }
        self.create_hit_of_type(type_id.to_string(), p)
    }

    fn create_hit_of_type(&mut self, type_id: String, p: &Params) -> ApiResult<Value> {
        let lifetime = p.i64_range("LifetimeInSeconds", 30, MAX_SECONDS)?;
        let max_assignments = p.opt_i64_range("MaxAssignments", 1, 1_000_000_000)?.unwrap_or(1);
        let annotation = p.opt_str_len("RequesterAnnotation", 0, 255)?;
        let token = p.idempotency_token()?;
        let question = match (p.opt_str("Question")?, p.opt_str("HITLayoutId")?) {
            (Some(q), _) => q,
            (None, Some(layout)) => {
                return Err(ApiError::request(
                    "AWS.MechanicalTurk.HITLayoutDoesNotExist",
                    format!("HITLayout {layout} does not exist (this service has no layouts; send a Question)."),
                ))
            }
            (None, None) => return Err(ApiError::validation("Either Question or HITLayoutId must be provided.")),
        };
        question::validate(question)?;
        for policy in ["AssignmentReviewPolicy", "HITReviewPolicy"] {
            if p.raw(policy).is_some() {
                return Err(ApiError::request(
                    "AWS.MechanicalTurk.UnsupportedOperation",
                    format!("{policy} is not supported by this service."),
                ));
            }
        }
        self.check_token("CreateHIT", token)?;

        let hit_type = self.store.hit_type(&type_id).ok_or_else(ApiError::service_fault)?;
        let unit = fees::assignment_cost(hit_type.reward, max_assignments, hit_type.requires_masters());
        let liability = unit.times(max_assignments);
        let available = self.store.account().available();
        if liability > available {
            return Err(ApiError::insufficient_funds(liability, available));
        }

        let now = self.now_ms;
        let mut hit = Hit {
            id: self.new_id(),
            seq: self.store.next_seq(),
            hit_type_id: type_id,
            created_ms: now,
            expiration_ms: now + lifetime * 1000,
            expiry_handled_ms: None,
            question: question.to_string(),
            requester_annotation: annotation.map(str::to_string),
            max_assignments,
            status: HitStatus::Assignable,
            pending: 0,
            submitted: 0,
            approved: 0,
            rejected: 0,
            liability: Default::default(),
            disposed_ms: None,
        };
        self.remember_token("CreateHIT", token, Some(&hit.id));
        self.settle(&mut hit);
        self.stats.hits_created += 1;
        self.emit("HITCreated", &hit, None);
        Ok(json!({ "HIT": wire::hit(&hit, &hit_type, now) }))
    }

    pub fn get_hit(&mut self, p: &Params) -> ApiResult<Value> {
        let hit = self.live_hit(p.entity_id("HITId")?)?;
        let t = self.hit_type_of(&hit)?;
        Ok(json!({ "HIT": wire::hit(&hit, &t, self.now_ms) }))
    }

    fn hits_page(&self, hits: Vec<Hit>, more: bool) -> ApiResult<Value> {
        let next = if more { hits.last().map(|h| encode_token(h.seq)) } else { None };
        let mut items = Vec::with_capacity(hits.len());
        for h in &hits {
            items.push(wire::hit(h, &self.hit_type_of(h)?, self.now_ms));
        }
        Ok(wire::page("HITs", items, next))
    }

    pub fn list_hits(&mut self, p: &Params) -> ApiResult<Value> {
        let limit = p.max_results()?;
        let hits = self.store.hits_after(p.next_token()?, limit);
        let more = hits.len() == limit;
        self.hits_page(hits, more)
    }

    pub fn list_reviewable_hits(&mut self, p: &Params) -> ApiResult<Value> {
        let limit = p.max_results()?;
        let status = match p.opt_str("Status")? {
            None | Some("Reviewable") => HitStatus::Reviewable,
            Some("Reviewing") => HitStatus::Reviewing,
            Some(other) => {
                return Err(ApiError::validation(format!("The value {other} is not valid for the parameter Status.")))
            }
        };
        let type_filter = match p.raw("HITTypeId") {
            Some(_) => Some(p.entity_id("HITTypeId")?),
            None => None,
        };
        let mut after = p.next_token()?;
        let mut hits = Vec::new();
        // Filter by type while paging through the status index.
        loop {
            let batch = self.store.hits_with_status(status, after, 500);
            let exhausted = batch.len() < 500;
            for h in batch {
                after = Some(h.seq);
                if type_filter.is_none_or(|t| t == h.hit_type_id) {
                    hits.push(h);
                    if hits.len() == limit {
                        return self.hits_page(hits, true);
                    }
                }
            }
            if exhausted {
                return self.hits_page(hits, false);
            }
        }
    }

    pub fn update_expiration_for_hit(&mut self, p: &Params) -> ApiResult<Value> {
        let id = p.entity_id("HITId")?;
        let expire_at = p.timestamp_ms("ExpireAt")?;
        let mut hit = self.live_hit(id)?;
        let now = self.now_ms;
        let token = format!("{id}{expire_at}");
        self.check_token("UpdateExpirationForHIT", Some(&token))?;
        if expire_at <= now {
            // "Expire now": 0 or any past time.
            hit.expiration_ms = hit.expiration_ms.min(now);
        } else {
            let increment_s = (expire_at - hit.expiration_ms) / 1000;
            if !(60..=MAX_SECONDS).contains(&increment_s) {
                return Err(ApiError::validation(format!(
                    "The value {increment_s} is invalid for ExpirationIncrementInSeconds. Valid values range from 60 to {MAX_SECONDS}."
                )));
            }
            let unit = self.unit_cost(&hit);
            let reopening = (hit.max_assignments - hit.used_slots()).max(0) - hit.available(now);
            let needed = unit.times(reopening);
            let available = self.store.account().available();
            if needed > available {
                return Err(ApiError::insufficient_funds(needed, available));
            }
            hit.expiration_ms = expire_at;
            hit.expiry_handled_ms = None;
        }
        self.remember_token("UpdateExpirationForHIT", Some(&token), Some(id));
        self.settle(&mut hit);
        if hit.expiration_ms <= now {
            self.on_hit_expiry(&hit.id);
        }
        Ok(json!({}))
    }

    pub fn update_hit_review_status(&mut self, p: &Params) -> ApiResult<Value> {
        let mut hit = self.live_hit(p.entity_id("HITId")?)?;
        let revert = p.opt_bool("Revert")?.unwrap_or(false);
        match (revert, hit.status) {
            (false, HitStatus::Reviewable) => hit.status = HitStatus::Reviewing,
            (true, HitStatus::Reviewing) => hit.status = HitStatus::Reviewable,
            (false, s) => return Err(ApiError::invalid_hit_state(s.as_str(), "Reviewable")),
            (true, s) => return Err(ApiError::invalid_hit_state(s.as_str(), "Reviewing")),
        }
        self.store.put_hit(hit);
        Ok(json!({}))
    }

    pub fn delete_hit(&mut self, p: &Params) -> ApiResult<Value> {
        let mut hit = self.live_hit(p.entity_id("HITId")?)?;
        if !matches!(hit.status, HitStatus::Reviewable | HitStatus::Reviewing) || hit.submitted > 0 {
            return Err(ApiError::invalid_hit_state(hit.status.as_str(), "Reviewing, Reviewable"));
        }
        self.dispose(&mut hit);
        Ok(json!({}))
    }

    fn dispose(&mut self, hit: &mut Hit) {
        hit.status = HitStatus::Disposed;
        hit.disposed_ms = Some(self.now_ms);
        self.settle(hit);
        self.emit("HITDisposed", hit, None);
    }

    pub fn create_additional_assignments_for_hit(&mut self, p: &Params) -> ApiResult<Value> {
        let id = p.entity_id("HITId")?;
        let n = p.i64_range("NumberOfAdditionalAssignments", 1, 1_000_000_000)?;
        let token = p.idempotency_token()?;
        let mut hit = self.live_hit(id)?;
        self.check_token("CreateAdditionalAssignmentsForHIT", token)?;
        let large = fees::LARGE_HIT_ASSIGNMENTS;
        if hit.max_assignments < large && hit.max_assignments + n >= large {
            return Err(ApiError::request(
                "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease",
                format!(
                    "The HIT {id} was created with fewer than {large} assignments ({}); it cannot be extended to {large} or more assignments ({} requested).",
                    hit.max_assignments,
                    hit.max_assignments + n
                ),
            ));
        }
        let needed = self.unit_cost(&hit).times(n);
        let available = self.store.account().available();
        if needed > available {
            return Err(ApiError::insufficient_funds(needed, available));
        }
        hit.max_assignments += n;
        self.remember_token("CreateAdditionalAssignmentsForHIT", token, Some(id));
        self.settle(&mut hit);
        self.emit("HITExtended", &hit, None);
        Ok(json!({}))
    }

    // ---- timers ----------------------------------------------------------

    pub(super) fn on_hit_expiry(&mut self, id: &str) {
        let Some(mut hit) = self.store.hit(id) else { return };
        if hit.status == HitStatus::Disposed
            || self.now_ms < hit.expiration_ms
            || hit.expiry_handled_ms == Some(hit.expiration_ms)
        {
            return;
        }
        hit.expiry_handled_ms = Some(hit.expiration_ms);
        let unfinished = hit.max_assignments > hit.submitted + hit.approved + hit.rejected;
        if unfinished {
            self.emit("HITExpired", &hit, None);
        }
        self.settle(&mut hit);
    }

    pub(super) fn on_auto_dispose(&mut self, id: &str) {
        let Some(mut hit) = self.store.hit(id) else { return };
        if hit.status == HitStatus::Disposed || self.now_ms < hit.expiration_ms + AUTO_DISPOSE_AFTER_MS {
            return;
        }
        self.dispose(&mut hit);
    }
}
