//! Notification settings per HIT type and the events the lifecycle emits.
//! The engine only decides *what* to send; the dispatcher (`notify.rs`) sends
//! it to SQS or SNS, with the faults a test asks for.

use serde_json::{json, Value};

use super::{Engine, Tx};
use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::params::Params;

pub const EVENT_TYPES: &[&str] = &[
    "AssignmentAccepted",
    "AssignmentAbandoned",
    "AssignmentReturned",
    "AssignmentSubmitted",
    "AssignmentRejected",
    "AssignmentApproved",
    "HITCreated",
    "HITExpired",
    "HITReviewable",
    "HITExtended",
    "HITDisposed",
    "Ping",
];

/// The notification document versions accepted (the model says 2006-05-05,
/// the current docs and real payloads say 2014-08-15).
const VERSIONS: &[&str] = &["2014-08-15", "2006-05-05"];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventRecord {
    pub event_type: String,
    pub timestamp_ms: i64,
    pub hit_id: String,
    pub hit_type_id: String,
    pub assignment_id: Option<String>,
}

/// A delivery's id: 40 hex digits (an EventDocId's shape) of a digest of
/// what the event is and where it goes.
fn outbox_id(e: &EventRecord, destination: &str) -> String {
    use sha2::{Digest, Sha256};
    let what = format!(
        "{}|{}|{}|{}|{}|{destination}",
        e.event_type,
        e.timestamp_ms,
        e.hit_id,
        e.hit_type_id,
        e.assignment_id.as_deref().unwrap_or("")
    );
    Sha256::digest(what.as_bytes()).iter().take(20).map(|b| format!("{b:02x}")).collect()
}

/// Events bound for one destination.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Delivery {
    /// The outbox record's id, and the document's EventDocId: the same
    /// delivery sent again (the pass, after a crash) carries the same id.
    /// Derived from the event, so every process names it alike.
    pub id: String,
    /// When it was decided: the outbox is read oldest first.
    pub at_ms: i64,
    pub destination: String,
    pub transport: String,
    pub version: String,
    pub events: Vec<EventRecord>,
    /// SendTestEventNotification: delivered at once, never faulted.
    pub test: bool,
}

fn parse_spec(v: &Value, allow_ping: bool) -> ApiResult<NotificationSpec> {
    let spec: NotificationSpec = serde_json::from_value(v.clone())
        .map_err(|e| ApiError::validation(format!("Notification is not valid: {e}")))?;
    match spec.transport.as_str() {
        "SQS" => {
            if !(spec.destination.starts_with("https://") || spec.destination.starts_with("http://")) {
                return Err(ApiError::validation(format!(
                    "The value {} is not valid for the parameter Destination: an SQS destination is a queue URL.",
                    spec.destination
                )));
            }
        }
        "SNS" => {
            if !spec.destination.starts_with("arn:aws:sns:") {
                return Err(ApiError::validation(format!(
                    "The value {} is not valid for the parameter Destination: an SNS destination is a topic ARN.",
                    spec.destination
                )));
            }
        }
        "Email" => return Err(ApiError::validation("The Email transport is no longer supported; use SQS or SNS.")),
        other => {
            return Err(ApiError::validation(format!("The value {other} is not valid for the parameter Transport.")))
        }
    }
    if !VERSIONS.contains(&spec.version.as_str()) {
        return Err(ApiError::validation(format!(
            "The value {} is not valid for the parameter Version.",
            spec.version
        )));
    }
    if spec.event_types.is_empty() {
        return Err(ApiError::validation("EventTypes must name at least one event type."));
    }
    for e in &spec.event_types {
        if !EVENT_TYPES.contains(&e.as_str()) || (e == "Ping" && !allow_ping) {
            return Err(ApiError::validation(format!("The value {e} is not valid for the parameter EventTypes.")));
        }
    }
    Ok(spec)
}

impl Engine {
    pub async fn update_notification_settings(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let type_id = p.entity_id("HITTypeId")?;
        let mut t = tx.hit_type(type_id).await?.ok_or_else(|| {
            ApiError::request("AWS.MechanicalTurk.HITTypeDoesNotExist", format!("HITType {type_id} does not exist."))
        })?;
        let spec = p.raw("Notification").map(|v| parse_spec(v, false)).transpose()?;
        let active = p.opt_bool("Active")?;
        if spec.is_none() && active.is_none() {
            return Err(ApiError::validation("Either Notification or Active must be provided."));
        }
        if spec.is_none() && t.notification.is_none() {
            return Err(ApiError::request(
                "AWS.MechanicalTurk.NoNotificationSpecification",
                format!("HITType {type_id} has no notification specification to activate or deactivate."),
            ));
        }
        if let Some(spec) = spec {
            t.notification = Some(spec);
            t.notification_active = active.unwrap_or(true);
        } else if let Some(active) = active {
            t.notification_active = active;
        }
        tx.put_hit_type(t, false);
        Ok(json!({}))
    }

    pub async fn send_test_event_notification(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let spec = parse_spec(
            p.raw("Notification").ok_or_else(|| {
                ApiError::validation(
                    "Value null at 'Notification' failed to satisfy constraint: Member must not be null.",
                )
            })?,
            true,
        )?;
        let event_type = p.str("TestEventType")?;
        if !EVENT_TYPES.contains(&event_type) {
            return Err(ApiError::validation(format!(
                "The value {event_type} is not valid for the parameter TestEventType."
            )));
        }
        let placeholder = "0".repeat(30);
        let event = EventRecord {
            event_type: event_type.into(),
            timestamp_ms: tx.now_ms,
            hit_id: placeholder.clone(),
            hit_type_id: placeholder.clone(),
            assignment_id: event_type.starts_with("Assignment").then_some(placeholder),
        };
        tx.deliver(Delivery {
            id: String::new(),
            at_ms: tx.now_ms,
            destination: spec.destination,
            transport: spec.transport,
            version: spec.version,
            events: vec![event],
            test: true,
        });
        Ok(json!({}))
    }

    /// Emits an event about a HIT to its type's notification destination, if
    /// one is active and subscribed to this event type.
    pub(super) async fn emit(
        &self,
        tx: &mut Tx,
        event_type: &str,
        hit: &Hit,
        assignment_id: Option<&str>,
    ) -> ApiResult<()> {
        tx.stats.events_emitted += 1;
        let Some(t) = tx.hit_type(&hit.hit_type_id).await? else { return Ok(()) };
        let Some(spec) = t.notification.filter(|_| t.notification_active) else { return Ok(()) };
        if !spec.event_types.iter().any(|e| e == event_type) {
            return Ok(());
        }
        let event = EventRecord {
            event_type: event_type.into(),
            timestamp_ms: tx.now_ms,
            hit_id: hit.id.clone(),
            hit_type_id: hit.hit_type_id.clone(),
            assignment_id: assignment_id.map(str::to_string),
        };
        tx.deliver(Delivery {
            id: outbox_id(&event, &spec.destination),
            at_ms: tx.now_ms,
            destination: spec.destination,
            transport: spec.transport,
            version: spec.version,
            events: vec![event],
            test: false,
        });
        Ok(())
    }

    /// Hands deliveries a crash left in the outbox (decided before
    /// `before_ms` and still there) to the dispatcher again: the pass's work.
    /// Returns how many.
    pub async fn resend_outbox(&self, before_ms: i64) -> crate::store::StoreResult<usize> {
        let left = self.store.outbox_before(before_ms, 1_000).await?;
        let n = left.len();
        if n > 0 {
            tracing::warn!(deliveries = n, "sending notifications a crash left in the outbox");
        }
        for d in left {
            self.send(d);
        }
        Ok(n)
    }

    /// Hands a delivery to the dispatcher (after its commit held).
    pub(super) fn send(&self, d: Delivery) {
        if let Some(tx) = &self.notify {
            if tx.send(d).is_err() {
                tracing::warn!("notification dispatcher has stopped; event dropped");
            }
        }
    }
}
