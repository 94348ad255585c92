//! The Crowd port's calls.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use aws_sdk_mturk::primitives::DateTime;
use aws_sdk_mturk::types::{
    AssignmentStatus, Comparator, EventType, HitAccessActions, NotificationSpecification, NotificationTransport,
    QualificationRequirement, QualificationTypeStatus,
};
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};
use hitloop_core::job::JobSpec;
use hitloop_core::marketplace::{AssignmentView, CreateHitError, HitState};
use hitloop_core::money::Usd;
use hitloop_core::plan::publish::HitRequest;
use hitloop_pipeline::ports::crowd::access_name;
use hitloop_pipeline::ports::Crowd;

use crate::clock::millis;
use crate::refusal::{hit_id_in, refusal};
use crate::requirements::requirement;
use crate::views::{assignment_view, hit_state, latest};
use crate::MturkCrowd;

const HIT_DOES_NOT_EXIST: &str = "AWS.MechanicalTurk.HITDoesNotExist";
const ASSIGNMENT_DOES_NOT_EXIST: &str = "AWS.MechanicalTurk.AssignmentDoesNotExist";
const INSUFFICIENT_FUNDS: &str = "AWS.MechanicalTurk.InsufficientFunds";
const QUALIFICATION_DOES_NOT_EXIST: &str = "AWS.MechanicalTurk.QualificationDoesNotExist";
const QUALIFICATION_TYPE_EXISTS: &str = "AWS.MechanicalTurk.QualificationTypeAlreadyExists";

#[async_trait]
impl Crowd for MturkCrowd {
    fn now_ms(&self) -> i64 {
        hitloop_core::records::now_ms().max(self.latest_seen_ms.load(Ordering::Relaxed))
    }

    async fn balance(&self) -> Result<Usd> {
        let b = self.client.get_account_balance().send().await.map_err(classify)?;
        b.available_balance().unwrap_or("0").parse().map_err(Error::permanent)
    }

    async fn create_hit_type(&self, spec: &JobSpec, access: Option<&str>) -> Result<String> {
        let t = &spec.task;
        let mut reqs = t.qualification_requirements.iter().map(requirement).collect::<Result<Vec<_>>>()?;
        if let Some(q) = access {
            // Held (auto-granted) unless revoked: a blocked worker neither
            // sees nor accepts the job's HITs.
            let r = QualificationRequirement::builder()
                .qualification_type_id(q)
                .comparator(Comparator::Exists)
                .actions_guarded(HitAccessActions::DiscoverPreviewAndAccept)
                .build()
                .map_err(Error::permanent)?;
            reqs.push(r);
        }
        let out = self
            .client
            .create_hit_type()
            .title(&t.title)
            .description(&t.description)
            .set_keywords(t.keywords.clone())
            .reward(t.reward.to_string())
            .assignment_duration_in_seconds(t.assignment_duration_seconds)
            .auto_approval_delay_in_seconds(t.auto_approval_delay_seconds)
            .set_qualification_requirements(if reqs.is_empty() { None } else { Some(reqs) })
            .send()
            .await
            .map_err(classify)?;
        out.hit_type_id.ok_or_else(|| Error::Retryable("CreateHITType returned no id".into()))
    }

    async fn access_qualification(&self, job_id: &str) -> Result<String> {
        let name = access_name(job_id);
        let created = self
            .client
            .create_qualification_type()
            .name(&name)
            .description(format!(
                "Access to the HITs of job {job_id}: granted to every worker who asks, revoked when the job blocks a worker for their answers on items whose label it knows."
            ))
            .qualification_type_status(QualificationTypeStatus::Active)
            .auto_granted(true)
            .auto_granted_value(1)
            .send()
            .await;
        match created {
            Ok(out) => out
                .qualification_type
                .and_then(|q| q.qualification_type_id)
                .ok_or_else(|| Error::Retryable("CreateQualificationType returned no id".into())),
            // Created before (a racing or crashed call): find it by its name.
            Err(e) if refusal(&e).is_some_and(|(code, _)| code == QUALIFICATION_TYPE_EXISTS) => {
                let found = self
                    .client
                    .list_qualification_types()
                    .query(&name)
                    .must_be_requestable(false)
                    .must_be_owned_by_caller(true)
                    .send()
                    .await
                    .map_err(classify)?;
                found
                    .qualification_types()
                    .iter()
                    .find(|q| q.name() == Some(name.as_str()))
                    .and_then(|q| q.qualification_type_id.clone())
                    .ok_or_else(|| Error::Retryable(format!("qualification type {name:?} exists but cannot be listed")))
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn revoke_access(&self, qualification_id: &str, worker_id: &str, reason: &str) -> Result<()> {
        let revoked = self
            .client
            .disassociate_qualification_from_worker()
            .qualification_type_id(qualification_id)
            .worker_id(worker_id)
            .reason(reason)
            .send()
            .await;
        match revoked {
            Ok(_) => Ok(()),
            // Revoked before: nothing is held to revoke.
            Err(e) if refusal(&e).is_some_and(|(code, _)| code == QUALIFICATION_DOES_NOT_EXIST) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    async fn notify(&self, hit_type_id: &str, destination: &str, transport: &str) -> Result<()> {
        let spec = NotificationSpecification::builder()
            .destination(destination)
            .transport(NotificationTransport::from(transport))
            .version("2014-08-15")
            .event_types(EventType::AssignmentSubmitted)
            .event_types(EventType::HitReviewable)
            .event_types(EventType::HitExpired)
            .event_types(EventType::AssignmentAbandoned)
            .event_types(EventType::AssignmentReturned)
            .build()
            .map_err(Error::permanent)?;
        self.client
            .update_notification_settings()
            .hit_type_id(hit_type_id)
            .notification(spec)
            .active(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn create_hit(
        &self,
        hit_type_id: &str,
        r: &HitRequest,
    ) -> Result<std::result::Result<String, CreateHitError>> {
        let sent = self
            .client
            .create_hit_with_hit_type()
            .hit_type_id(hit_type_id)
            .question(&r.question)
            .max_assignments(r.assignments as i32)
            .lifetime_in_seconds(r.lifetime_s)
            .requester_annotation(&r.annotation)
            .unique_request_token(&r.token)
            .send()
            .await;
        match sent {
            Ok(out) => {
                self.saw(millis(out.hit().and_then(|h| h.creation_time())));
                out.hit
                    .and_then(|h| h.hit_id)
                    .map(Ok)
                    .ok_or_else(|| Error::Retryable("CreateHIT returned no HIT".into()))
            }
            Err(e) => match refusal(&e) {
                Some((code, msg)) if code.eq_ignore_ascii_case("AWS.MechanicalTurk.HitAlreadyExists") => {
                    Ok(Err(CreateHitError::AlreadyExists(hit_id_in(&msg))))
                }
                Some((code, msg)) if code == INSUFFICIENT_FUNDS => Ok(Err(CreateHitError::InsufficientFunds(msg))),
                Some((code, msg)) => Ok(Err(CreateHitError::Other(format!("{code}: {msg}")))),
                None => Err(classify(e)),
            },
        }
    }

    async fn hit(&self, hit_id: &str) -> Result<Option<HitState>> {
        match self.client.get_hit().hit_id(hit_id).send().await {
            Ok(out) => Ok(out.hit().map(hit_state)),
            Err(e) => match refusal(&e) {
                Some((code, _)) if code == HIT_DOES_NOT_EXIST => Ok(None),
                _ => Err(classify(e)),
            },
        }
    }

    async fn assignment(&self, assignment_id: &str) -> Result<Option<(AssignmentView, HitState)>> {
        match self.client.get_assignment().assignment_id(assignment_id).send().await {
            Ok(out) => {
                let (Some(a), Some(h)) = (out.assignment(), out.hit()) else { return Ok(None) };
                self.saw(latest(a));
                Ok(Some((assignment_view(a), hit_state(h))))
            }
            Err(e) => match refusal(&e) {
                Some((code, _)) if code == ASSIGNMENT_DOES_NOT_EXIST || code == HIT_DOES_NOT_EXIST => Ok(None),
                _ => Err(classify(e)),
            },
        }
    }

    async fn assignments(&self, hit_id: &str) -> Result<Vec<AssignmentView>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_assignments_for_hit()
                .hit_id(hit_id)
                .assignment_statuses(AssignmentStatus::Submitted)
                .assignment_statuses(AssignmentStatus::Approved)
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(classify)?;
            for a in page.assignments() {
                self.saw(latest(a));
                out.push(assignment_view(a));
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn approve(&self, assignment_id: &str) -> Result<bool> {
        match self.client.approve_assignment().assignment_id(assignment_id).send().await {
            Ok(_) => Ok(true),
            Err(e) => match refusal(&e) {
                Some((code, _)) if code == "AWS.MechanicalTurk.InvalidAssignmentState" => {
                    let a = self.client.get_assignment().assignment_id(assignment_id).send().await.map_err(classify)?;
                    match a.assignment().and_then(|a| a.assignment_status()) {
                        Some(AssignmentStatus::Approved) => Ok(false),
                        other => Err(Error::Permanent(format!(
                            "assignment {assignment_id} cannot be approved: it is {other:?}"
                        ))),
                    }
                }
                Some((code, msg)) if code == INSUFFICIENT_FUNDS => Err(Error::Retryable(msg)),
                _ => Err(classify(e)),
            },
        }
    }

    async fn add_assignments(
        &self,
        hit_id: &str,
        n: u32,
        token: &str,
    ) -> Result<std::result::Result<bool, CreateHitError>> {
        let r = self
            .client
            .create_additional_assignments_for_hit()
            .hit_id(hit_id)
            .number_of_additional_assignments(n as i32)
            .unique_request_token(token)
            .send()
            .await;
        match r {
            Ok(_) => Ok(Ok(true)),
            Err(e) => match refusal(&e) {
                Some((_, msg)) if msg.contains("has already been processed") => Ok(Ok(false)),
                Some((code, msg)) if code == INSUFFICIENT_FUNDS => Ok(Err(CreateHitError::InsufficientFunds(msg))),
                Some((code, msg)) => Ok(Err(CreateHitError::Other(format!("{code}: {msg}")))),
                None => Err(classify(e)),
            },
        }
    }

    async fn extend(&self, hit_id: &str, expire_at_ms: i64) -> Result<()> {
        let at = DateTime::from_millis(expire_at_ms);
        match self.client.update_expiration_for_hit().hit_id(hit_id).expire_at(at).send().await {
            Ok(_) => Ok(()),
            Err(e) => match refusal(&e) {
                Some((_, msg)) if msg.contains("has already been processed") => Ok(()),
                Some((code, msg)) => Err(Error::Permanent(format!("{code}: {msg}"))),
                None => Err(classify(e)),
            },
        }
    }
}
