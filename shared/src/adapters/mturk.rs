//! The Crowd on the MTurk Requester API (or any compatible service, such as
//! hitloop-mturk): the endpoint is configuration.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_mturk::primitives::DateTime;
use aws_sdk_mturk::types::{
    AssignmentStatus, Comparator, EventType, Locale, NotificationSpecification, NotificationTransport,
    QualificationRequirement,
};
use aws_sdk_mturk::Client;

use crate::error::{classify, Error, Result};
use crate::job::JobSpec;
use crate::money::Usd;
use crate::ports::{AssignmentView, CreateHitError, Crowd, HitState};

pub struct MturkCrowd {
    client: Client,
    /// The latest time MTurk has reported: every response's Date header,
    /// and the creation, accept and submit times in its answers.
    latest_seen_ms: Arc<AtomicI64>,
}

impl MturkCrowd {
    /// A client for the marketplace the config names, which follows the
    /// marketplace's clock from the Date header of its responses.
    pub fn from_conf(config: aws_sdk_mturk::config::Builder) -> Self {
        let latest_seen_ms = Arc::new(AtomicI64::new(0));
        let clock = MarketplaceClock { latest_seen_ms: latest_seen_ms.clone() };
        MturkCrowd { client: Client::from_conf(config.interceptor(clock).build()), latest_seen_ms }
    }

    fn saw(&self, t: i64) {
        self.latest_seen_ms.fetch_max(t, Ordering::Relaxed);
    }
}

/// Reads the Date header of every MTurk response. A deadline hitloop sends
/// (a HIT's new expiry) must be in the marketplace's future, and a simulated
/// marketplace runs ahead of real time: the times in its answers alone go
/// stale while nothing happens.
#[derive(Debug)]
struct MarketplaceClock {
    latest_seen_ms: Arc<AtomicI64>,
}

impl aws_sdk_mturk::config::Intercept for MarketplaceClock {
    fn name(&self) -> &'static str {
        "MarketplaceClock"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_sdk_mturk::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_sdk_mturk::config::RuntimeComponents,
        _cfg: &mut aws_sdk_mturk::config::ConfigBag,
    ) -> std::result::Result<(), aws_sdk_mturk::error::BoxError> {
        if let Some(ms) = context.response().headers().get("date").and_then(http_date_ms) {
            self.latest_seen_ms.fetch_max(ms, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// `Sat, 28 Nov 2026 20:57:01 GMT` -> epoch milliseconds.
fn http_date_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(text).ok().map(|t| t.timestamp_millis())
}

/// The TurkErrorCode and message of a refused request (a RequestError), read
/// from the response body where the wire protocol puts them.
fn refusal<E>(
    err: &aws_sdk_mturk::error::SdkError<E, aws_sdk_mturk::config::http::HttpResponse>,
) -> Option<(String, String)>
where
    E: aws_sdk_mturk::error::ProvideErrorMetadata,
{
    let service = err.as_service_error()?;
    if service.code() != Some("RequestError") {
        return None;
    }
    let body: serde_json::Value = err
        .raw_response()
        .and_then(|r| r.body().bytes())
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let code = body.get("TurkErrorCode").and_then(|c| c.as_str()).unwrap_or_default();
    Some((code.to_string(), service.message().unwrap_or_default().to_string()))
}

/// The HIT id in a HitAlreadyExists message, if it names one.
pub fn hit_id_in(message: &str) -> Option<String> {
    message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() == 30 && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        .map(str::to_string)
}

fn requirement(q: &crate::job::QualificationRequirement) -> Result<QualificationRequirement> {
    let mut b = QualificationRequirement::builder()
        .qualification_type_id(&q.qualification_type_id)
        .comparator(Comparator::from(q.comparator.as_str()))
        .set_integer_values(if q.integer_values.is_empty() { None } else { Some(q.integer_values.clone()) });
    for l in &q.locale_values {
        b = b.locale_values(
            Locale::builder()
                .country(&l.country)
                .set_subdivision(l.subdivision.clone())
                .build()
                .map_err(Error::permanent)?,
        );
    }
    if let Some(a) = &q.actions_guarded {
        b = b.actions_guarded(a.as_str().into());
    }
    b.build().map_err(Error::permanent)
}

fn millis(t: Option<&DateTime>) -> i64 {
    t.map(|d| d.secs() * 1000 + i64::from(d.subsec_nanos() / 1_000_000)).unwrap_or(0)
}

#[async_trait]
impl Crowd for MturkCrowd {
    fn now_ms(&self) -> i64 {
        crate::records::now_ms().max(self.latest_seen_ms.load(Ordering::Relaxed))
    }

    async fn balance(&self) -> Result<Usd> {
        let b = self.client.get_account_balance().send().await.map_err(classify)?;
        b.available_balance().unwrap_or("0").parse().map_err(Error::permanent)
    }

    async fn create_hit_type(&self, spec: &JobSpec) -> Result<String> {
        let t = &spec.task;
        let reqs = t.qualification_requirements.iter().map(requirement).collect::<Result<Vec<_>>>()?;
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
        question: &str,
        assignments: u32,
        lifetime_s: i64,
        annotation: &str,
        token: &str,
    ) -> Result<std::result::Result<String, CreateHitError>> {
        let r = self
            .client
            .create_hit_with_hit_type()
            .hit_type_id(hit_type_id)
            .question(question)
            .max_assignments(assignments as i32)
            .lifetime_in_seconds(lifetime_s)
            .requester_annotation(annotation)
            .unique_request_token(token)
            .send()
            .await;
        match r {
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
                Some((code, msg)) if code == "AWS.MechanicalTurk.InsufficientFunds" => {
                    Ok(Err(CreateHitError::InsufficientFunds(msg)))
                }
                Some((code, msg)) => Ok(Err(CreateHitError::Other(format!("{code}: {msg}")))),
                None => Err(classify(e)),
            },
        }
    }

    async fn hit(&self, hit_id: &str) -> Result<Option<HitState>> {
        match self.client.get_hit().hit_id(hit_id).send().await {
            Ok(out) => Ok(out.hit.map(|h| HitState {
                hit_id: h.hit_id.clone().unwrap_or_default(),
                status: h.hit_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                max_assignments: h.max_assignments().unwrap_or(0).max(0) as u32,
                pending: h.number_of_assignments_pending().unwrap_or(0).max(0) as u32,
                available: h.number_of_assignments_available().unwrap_or(0).max(0) as u32,
                expiration: millis(h.expiration()),
            })),
            Err(e) => match refusal(&e) {
                Some((code, _)) if code == "AWS.MechanicalTurk.HITDoesNotExist" => Ok(None),
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
                self.saw(millis(a.submit_time()).max(millis(a.accept_time())));
                out.push(AssignmentView {
                    assignment_id: a.assignment_id().unwrap_or_default().to_string(),
                    worker_id: a.worker_id().unwrap_or_default().to_string(),
                    status: a.assignment_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    answer: a.answer().unwrap_or_default().to_string(),
                    submit_time: millis(a.submit_time()),
                });
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
                Some((code, msg)) if code == "AWS.MechanicalTurk.InsufficientFunds" => Err(Error::Retryable(msg)),
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
                Some((code, msg)) if code == "AWS.MechanicalTurk.InsufficientFunds" => {
                    Ok(Err(CreateHitError::InsufficientFunds(msg)))
                }
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

#[cfg(test)]
mod tests {
    #[test]
    fn reads_http_dates() {
        assert_eq!(super::http_date_ms("Thu, 01 Jan 1970 00:00:10 GMT"), Some(10_000));
        assert_eq!(super::http_date_ms("yesterday"), None);
    }

    #[test]
    fn finds_the_hit_id_in_a_duplicate_token_message() {
        let m = "The idempotency token \"job-1/7\" has already been processed. The HIT created with it is 3X7837UUADRXYCA1K7JAJLKC66DJ60. (1700000000000)";
        assert_eq!(super::hit_id_in(m).as_deref(), Some("3X7837UUADRXYCA1K7JAJLKC66DJ60"));
        assert_eq!(super::hit_id_in("no id here (1700000000000)"), None);
    }
}
