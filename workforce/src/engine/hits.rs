//! HIT types and HITs: creation, reading, expiry, review status, extension
//! and disposal.

use hitloop_core::money::fees;
use serde_json::{json, Value};

use super::{Engine, Tx, AUTO_DISPOSE_AFTER_MS};
use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::params::{encode_token, Params};
use crate::store::Listed;
use crate::{quals, question, wire};

const MAX_SECONDS: i64 = 31_536_000;
const DEFAULT_AUTO_APPROVAL_S: i64 = 2_592_000;

impl Engine {
    /// Reads the HIT-type attributes shared by CreateHITType and CreateHIT,
    /// and returns the id of the matching type, creating it if new.
    async fn hit_type_from(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<String> {
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
                && tx.store().qualification_type(&r.qualification_type_id).await?.is_none()
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
        if let Some(id) = tx.store().hit_type_by_key(&key).await? {
            return Ok(id);
        }
        let id = self.new_id();
        let group_id = self.new_id();
        tx.put_hit_type(
            HitType {
                id: id.clone(),
                group_id,
                key,
                reward,
                qualification_requirements: reqs,
                notification: None,
                notification_active: false,
            },
            true,
        );
        Ok(id)
    }

    pub async fn create_hit_type(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let id = self.hit_type_from(tx, p).await?;
        Ok(json!({ "HITTypeId": id }))
    }

    pub async fn create_hit(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let type_id = self.hit_type_from(tx, p).await?;
        self.create_hit_of_type(tx, type_id, p).await
    }

    pub async fn create_hit_with_hit_type(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let type_id = p.entity_id("HITTypeId")?;
        if tx.hit_type(type_id).await?.is_none() {
            return Err(ApiError::request(
                "AWS.MechanicalTurk.HITTypeDoesNotExist",
                format!("HITType {type_id} does not exist."),
            ));
        }
        self.create_hit_of_type(tx, type_id.to_string(), p).await
    }

    async fn create_hit_of_type(&self, tx: &mut Tx, type_id: String, p: &Params<'_>) -> ApiResult<Value> {
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
        self.check_token(tx, "CreateHIT", token).await?;

        let hit_type = tx.hit_type(&type_id).await?.ok_or_else(ApiError::service_fault)?;
        let unit = fees::assignment_cost(hit_type.reward, max_assignments, hit_type.requires_masters());
        let liability = unit.times(max_assignments);
        let available = tx.account().await?.available();
        if liability > available {
            return Err(ApiError::insufficient_funds(liability, available));
        }

        let now = tx.now_ms;
        let mut hit = Hit {
            id: self.new_id(),
            version: 0,
            hit_type_id: type_id,
            created_ms: now,
            created_tiebreak: self.next_tiebreak(),
            expiration_ms: now + lifetime * 1000,
            expiry_handled_ms: None,
            question: question.to_string(),
            requester_annotation: annotation.map(str::to_string),
            max_assignments,
            status: HitStatus::Assignable,
            pending_until: Default::default(),
            submitted: 0,
            approved: 0,
            rejected: 0,
            liability: Default::default(),
            disposed_ms: None,
        };
        self.remember_token(tx, "CreateHIT", token, Some(&hit.id));
        self.settle(tx, &mut hit).await?;
        tx.stats.hits_created += 1;
        self.emit(tx, "HITCreated", &hit, None).await?;
        Ok(json!({ "HIT": wire::hit(&hit, &hit_type, now) }))
    }

    pub async fn get_hit(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let hit = self.live_hit(tx, p.entity_id("HITId")?).await?;
        let t = self.hit_type_of(tx, &hit).await?;
        Ok(json!({ "HIT": wire::hit(&hit, &t, tx.now_ms) }))
    }

    async fn hits_page(&self, tx: &mut Tx, hits: Listed<Hit>, more: bool) -> ApiResult<Value> {
        let next = if more { hits.last().map(|(cursor, _)| encode_token(cursor)) } else { None };
        let mut items = Vec::with_capacity(hits.len());
        for (_, h) in &hits {
            let t = self.hit_type_of(tx, h).await?;
            items.push(wire::hit(h, &t, tx.now_ms));
        }
        Ok(wire::page("HITs", items, next))
    }

    pub async fn list_hits(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let limit = p.max_results()?;
        let hits = tx.store().hits(None, p.next_token()?, limit, tx.now_ms).await?;
        let more = hits.len() == limit;
        self.hits_page(tx, hits, more).await
    }

    pub async fn list_reviewable_hits(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
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
        let mut after = p.next_token()?.map(str::to_string);
        let mut hits = Vec::new();
        // Filter by type while paging through the status index; without a
        // type, one page of the index is the answer (each HIT listed is read
        // in full: on DynamoDB a BatchGetItem per hundred).
        let page = if type_filter.is_some() { 500 } else { limit };
        loop {
            let batch = tx.store().hits(Some(status), after.as_deref(), page, tx.now_ms).await?;
            // A short batch may only have lost HITs whose status moved since
            // the index was read: the end is where nothing more comes.
            let exhausted = batch.is_empty();
            for (cursor, h) in batch {
                after = Some(cursor.clone());
                if type_filter.is_none_or(|t| t == h.hit_type_id) {
                    hits.push((cursor, h));
                    if hits.len() == limit {
                        return self.hits_page(tx, hits, true).await;
                    }
                }
            }
            if exhausted {
                return self.hits_page(tx, hits, false).await;
            }
        }
    }

    pub async fn update_expiration_for_hit(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let id = p.entity_id("HITId")?;
        let expire_at = p.timestamp_ms("ExpireAt")?;
        let mut hit = self.current_hit(tx, id).await?;
        let now = tx.now_ms;
        let token = format!("{id}{expire_at}");
        self.check_token(tx, "UpdateExpirationForHIT", Some(&token)).await?;
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
            let unit = self.unit_cost(tx, &hit).await?;
            let reopening = (hit.max_assignments - hit.used_slots(now)).max(0) - hit.available(now);
            let needed = unit.times(reopening);
            let available = tx.account().await?.available();
            if needed > available {
                return Err(ApiError::insufficient_funds(needed, available));
            }
            hit.expiration_ms = expire_at;
            hit.expiry_handled_ms = None;
        }
        self.remember_token(tx, "UpdateExpirationForHIT", Some(&token), Some(id));
        self.settle(tx, &mut hit).await?;
        if hit.expiration_ms <= now {
            self.on_hit_expiry(tx, &hit.id).await?;
        }
        Ok(json!({}))
    }

    pub async fn update_hit_review_status(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let mut hit = self.current_hit(tx, p.entity_id("HITId")?).await?;
        let revert = p.opt_bool("Revert")?.unwrap_or(false);
        match (revert, hit.status) {
            (false, HitStatus::Reviewable) => hit.status = HitStatus::Reviewing,
            (true, HitStatus::Reviewing) => hit.status = HitStatus::Reviewable,
            (false, s) => return Err(ApiError::invalid_hit_state(s.as_str(), "Reviewable")),
            (true, s) => return Err(ApiError::invalid_hit_state(s.as_str(), "Reviewing")),
        }
        tx.put_hit(hit);
        Ok(json!({}))
    }

    pub async fn delete_hit(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let mut hit = self.current_hit(tx, p.entity_id("HITId")?).await?;
        if !matches!(hit.status, HitStatus::Reviewable | HitStatus::Reviewing) || hit.submitted > 0 {
            return Err(ApiError::invalid_hit_state(hit.status.as_str(), "Reviewing, Reviewable"));
        }
        self.dispose(tx, &mut hit).await?;
        Ok(json!({}))
    }

    async fn dispose(&self, tx: &mut Tx, hit: &mut Hit) -> ApiResult<()> {
        hit.status = HitStatus::Disposed;
        hit.disposed_ms = Some(tx.now_ms);
        self.settle(tx, hit).await?;
        self.emit(tx, "HITDisposed", hit, None).await
    }

    pub async fn create_additional_assignments_for_hit(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let id = p.entity_id("HITId")?;
        let n = p.i64_range("NumberOfAdditionalAssignments", 1, 1_000_000_000)?;
        let token = p.idempotency_token()?;
        let mut hit = self.current_hit(tx, id).await?;
        self.check_token(tx, "CreateAdditionalAssignmentsForHIT", token).await?;
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
        let needed = self.unit_cost(tx, &hit).await?.times(n);
        let available = tx.account().await?.available();
        if needed > available {
            return Err(ApiError::insufficient_funds(needed, available));
        }
        hit.max_assignments += n;
        self.remember_token(tx, "CreateAdditionalAssignmentsForHIT", token, Some(id));
        self.settle(tx, &mut hit).await?;
        self.emit(tx, "HITExtended", &hit, None).await?;
        Ok(json!({}))
    }

    // ---- timers ----------------------------------------------------------

    pub(super) async fn on_hit_expiry(&self, tx: &mut Tx, id: &str) -> ApiResult<()> {
        let Some(mut hit) = tx.hit(id).await? else { return Ok(()) };
        if hit.status == HitStatus::Disposed
            || tx.now_ms < hit.expiration_ms
            || hit.expiry_handled_ms == Some(hit.expiration_ms)
        {
            return Ok(());
        }
        // settle records the expiry (HITExpired if work was left undone).
        self.settle(tx, &mut hit).await
    }

    pub(super) async fn on_auto_dispose(&self, tx: &mut Tx, id: &str) -> ApiResult<()> {
        let Some(mut hit) = tx.hit(id).await? else { return Ok(()) };
        if hit.status == HitStatus::Disposed || tx.now_ms < hit.expiration_ms + AUTO_DISPOSE_AFTER_MS {
            return Ok(());
        }
        self.dispose(tx, &mut hit).await
    }
}
