//! The JSON shapes of the API's outputs. Timestamps are epoch seconds as JSON
//! numbers (awsJson 1.1), money is a two-decimal string, absent members are
//! omitted.

use serde_json::{json, Map, Value};

use crate::model::*;

/// Epoch milliseconds as epoch seconds: an integer when whole.
pub fn timestamp(ms: i64) -> Value {
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_string(), value.into());
}

fn put_opt(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v.into());
    }
}

pub fn hit(h: &Hit, t: &HitType, now_ms: i64) -> Value {
    let mut m = Map::new();
    put(&mut m, "HITId", h.id.as_str());
    put(&mut m, "HITTypeId", t.id.as_str());
    put(&mut m, "HITGroupId", t.group_id.as_str());
    m.insert("CreationTime".into(), timestamp(h.created_ms));
    put(&mut m, "Title", t.key.title.as_str());
    put(&mut m, "Description", t.key.description.as_str());
    put_opt(&mut m, "Keywords", t.key.keywords.as_deref());
    put(&mut m, "Question", h.question.as_str());
    put(&mut m, "HITStatus", h.status_at(now_ms).as_str());
    put(&mut m, "MaxAssignments", h.max_assignments);
    put(&mut m, "Reward", t.reward.to_string());
    put(&mut m, "AutoApprovalDelayInSeconds", t.key.auto_approval_delay_s);
    m.insert("Expiration".into(), timestamp(h.expiration_ms));
    put(&mut m, "AssignmentDurationInSeconds", t.key.assignment_duration_s);
    put_opt(&mut m, "RequesterAnnotation", h.requester_annotation.as_deref());
    if !t.qualification_requirements.is_empty() {
        put(
            &mut m,
            "QualificationRequirements",
            serde_json::to_value(&t.qualification_requirements).unwrap_or_default(),
        );
    }
    put(&mut m, "HITReviewStatus", "NotReviewed");
    put(&mut m, "NumberOfAssignmentsPending", h.pending_at(now_ms));
    put(&mut m, "NumberOfAssignmentsAvailable", h.available(now_ms));
    put(&mut m, "NumberOfAssignmentsCompleted", h.approved + h.rejected);
    Value::Object(m)
}

/// An assignment as the API shows it at `now_ms` (an auto-approval that
/// has come reads as done).
pub fn assignment(a: &Assignment, now_ms: i64) -> Value {
    let mut m = Map::new();
    put(&mut m, "AssignmentId", a.id.as_str());
    put(&mut m, "WorkerId", a.worker_id.as_str());
    put(&mut m, "HITId", a.hit_id.as_str());
    put(&mut m, "AssignmentStatus", a.status_at(now_ms).as_str());
    if let Some(t) = a.auto_approval_ms {
        m.insert("AutoApprovalTime".into(), timestamp(t));
    }
    m.insert("AcceptTime".into(), timestamp(a.accept_ms));
    if let Some(t) = a.submit_ms {
        m.insert("SubmitTime".into(), timestamp(t));
    }
    if let Some(t) = a.approval_ms_at(now_ms) {
        m.insert("ApprovalTime".into(), timestamp(t));
    }
    if let Some(t) = a.rejection_ms {
        m.insert("RejectionTime".into(), timestamp(t));
    }
    m.insert("Deadline".into(), timestamp(a.deadline_ms));
    put(&mut m, "Answer", a.answer.clone().unwrap_or_default());
    put_opt(&mut m, "RequesterFeedback", a.requester_feedback.as_deref());
    Value::Object(m)
}

pub fn qualification_type(q: &QualificationType) -> Value {
    let mut m = Map::new();
    put(&mut m, "QualificationTypeId", q.id.as_str());
    m.insert("CreationTime".into(), timestamp(q.created_ms));
    put(&mut m, "Name", q.name.as_str());
    put(&mut m, "Description", q.description.as_str());
    put_opt(&mut m, "Keywords", q.keywords.as_deref());
    put(&mut m, "QualificationTypeStatus", q.status.as_str());
    put_opt(&mut m, "Test", q.test.as_deref());
    put_opt(&mut m, "TestDurationInSeconds", q.test_duration_s);
    put_opt(&mut m, "AnswerKey", q.answer_key.as_deref());
    put_opt(&mut m, "RetryDelayInSeconds", q.retry_delay_s);
    put(&mut m, "IsRequestable", q.test.is_some() || q.auto_granted);
    put(&mut m, "AutoGranted", q.auto_granted);
    put_opt(&mut m, "AutoGrantedValue", q.auto_granted_value);
    Value::Object(m)
}

pub fn qualification(q: &Qualification) -> Value {
    json!({
        "QualificationTypeId": q.qualification_type_id,
        "WorkerId": q.worker_id,
        "GrantTime": timestamp(q.granted_ms),
        "IntegerValue": q.integer_value,
        "Status": if q.granted { "Granted" } else { "Revoked" },
    })
}

pub fn bonus_payment(b: &Bonus) -> Value {
    json!({
        "WorkerId": b.worker_id,
        "BonusAmount": b.amount.to_string(),
        "AssignmentId": b.assignment_id,
        "Reason": b.reason,
        "GrantTime": timestamp(b.granted_ms),
    })
}

/// A page of results: `NumResults`, the items under `key`, and `NextToken`
/// only when there is another page.
pub fn page(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut m = Map::new();
    put(&mut m, "NumResults", items.len());
    m.insert(key.to_string(), Value::Array(items));
    put_opt(&mut m, "NextToken", next);
    Value::Object(m)
}
