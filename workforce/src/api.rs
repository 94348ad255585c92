//! The operations of the Requester API this service implements, by name.

use serde_json::Value;

use crate::engine::{transact, Engine, Tx};
use crate::error::{ApiError, ApiResult, ErrorType};
use crate::params::Params;

pub const TARGET_PREFIX: &str = "MTurkRequesterServiceV20170117.";

/// Every operation of the 2017-01-17 API. Those mapped to `None` exist in the
/// real API but are not implemented here: they answer with a RequestError.
const OPERATIONS: &[(&str, bool)] = &[
    ("AcceptQualificationRequest", false),
    ("ApproveAssignment", true),
    ("AssociateQualificationWithWorker", true),
    ("CreateAdditionalAssignmentsForHIT", true),
    ("CreateHIT", true),
    ("CreateHITType", true),
    ("CreateHITWithHITType", true),
    ("CreateQualificationType", true),
    ("CreateWorkerBlock", true),
    ("DeleteHIT", true),
    ("DeleteQualificationType", false),
    ("DeleteWorkerBlock", true),
    ("DisassociateQualificationFromWorker", true),
    ("GetAccountBalance", true),
    ("GetAssignment", true),
    ("GetFileUploadURL", false),
    ("GetHIT", true),
    ("GetQualificationScore", false),
    ("GetQualificationType", false),
    ("ListAssignmentsForHIT", true),
    ("ListBonusPayments", true),
    ("ListHITs", true),
    ("ListHITsForQualificationType", false),
    ("ListQualificationRequests", false),
    ("ListQualificationTypes", true),
    ("ListReviewPolicyResultsForHIT", false),
    ("ListReviewableHITs", true),
    ("ListWorkerBlocks", true),
    ("ListWorkersWithQualificationType", true),
    ("NotifyWorkers", true),
    ("RejectAssignment", true),
    ("RejectQualificationRequest", false),
    ("SendBonus", true),
    ("SendTestEventNotification", true),
    ("UpdateExpirationForHIT", true),
    ("UpdateHITReviewStatus", true),
    ("UpdateHITTypeOfHIT", false),
    ("UpdateNotificationSettings", true),
    ("UpdateQualificationType", false),
];

/// The operation an `X-Amz-Target` header names, if it is one of ours.
pub fn operation_name(target: &str) -> ApiResult<&'static str> {
    let name = target.strip_prefix(TARGET_PREFIX).unwrap_or("");
    OPERATIONS.iter().find(|(n, _)| *n == name).map(|(n, _)| *n).ok_or_else(|| ApiError {
        kind: ErrorType::UnknownOperation,
        message: format!("Operation {target:?} is not recognised."),
        turk_code: None,
    })
}

/// Runs one operation on the engine, as one transaction.
pub async fn call(engine: &Engine, operation: &str, input: &Value) -> ApiResult<Value> {
    let params = Params::new(input)?;
    match OPERATIONS.iter().find(|(n, _)| *n == operation) {
        Some((_, true)) => transact!(engine, |tx| run(engine, tx, operation, &params)),
        Some((name, false)) => Err(ApiError::request(
            "AWS.MechanicalTurk.UnsupportedOperation",
            format!("{name} is not supported by hitloop-mturk (see workforce/README.md)."),
        )),
        None => Err(ApiError {
            kind: ErrorType::UnknownOperation,
            message: format!("Unknown operation {operation}."),
            turk_code: None,
        }),
    }
}

async fn run(e: &Engine, tx: &mut Tx, operation: &str, p: &Params<'_>) -> ApiResult<Value> {
    match operation {
        "ApproveAssignment" => e.approve_assignment(tx, p).await,
        "AssociateQualificationWithWorker" => e.associate_qualification_with_worker(tx, p).await,
        "CreateAdditionalAssignmentsForHIT" => e.create_additional_assignments_for_hit(tx, p).await,
        "CreateHIT" => e.create_hit(tx, p).await,
        "CreateHITType" => e.create_hit_type(tx, p).await,
        "CreateHITWithHITType" => e.create_hit_with_hit_type(tx, p).await,
        "CreateQualificationType" => e.create_qualification_type(tx, p).await,
        "CreateWorkerBlock" => e.create_worker_block(tx, p).await,
        "DeleteHIT" => e.delete_hit(tx, p).await,
        "DeleteWorkerBlock" => e.delete_worker_block(tx, p).await,
        "DisassociateQualificationFromWorker" => e.disassociate_qualification_from_worker(tx, p).await,
        "GetAccountBalance" => e.get_account_balance(tx, p).await,
        "GetAssignment" => e.get_assignment(tx, p).await,
        "GetHIT" => e.get_hit(tx, p).await,
        "ListAssignmentsForHIT" => e.list_assignments_for_hit(tx, p).await,
        "ListBonusPayments" => e.list_bonus_payments(tx, p).await,
        "ListHITs" => e.list_hits(tx, p).await,
        "ListQualificationTypes" => e.list_qualification_types(tx, p).await,
        "ListReviewableHITs" => e.list_reviewable_hits(tx, p).await,
        "ListWorkerBlocks" => e.list_worker_blocks(tx, p).await,
        "ListWorkersWithQualificationType" => e.list_workers_with_qualification_type(tx, p).await,
        "NotifyWorkers" => e.notify_workers(tx, p).await,
        "RejectAssignment" => e.reject_assignment(tx, p).await,
        "SendBonus" => e.send_bonus(tx, p).await,
        "SendTestEventNotification" => e.send_test_event_notification(tx, p).await,
        "UpdateExpirationForHIT" => e.update_expiration_for_hit(tx, p).await,
        "UpdateHITReviewStatus" => e.update_hit_review_status(tx, p).await,
        "UpdateNotificationSettings" => e.update_notification_settings(tx, p).await,
        other => Err(ApiError {
            kind: ErrorType::UnknownOperation,
            message: format!("Unknown operation {other}."),
            turk_code: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation the table marks as implemented is dispatched.
    #[tokio::test]
    async fn every_implemented_operation_is_dispatched() {
        let store = std::sync::Arc::new(crate::store::MemoryStore::default());
        let engine = Engine::new(store, Default::default(), 0);
        for (name, implemented) in OPERATIONS {
            let r = call(&engine, name, &serde_json::json!({})).await;
            let unknown = matches!(&r, Err(e) if e.kind == ErrorType::UnknownOperation);
            let unsupported = matches!(&r, Err(e) if e.turk_code == Some("AWS.MechanicalTurk.UnsupportedOperation"));
            assert!(!unknown, "{name} is not dispatched");
            assert_eq!(unsupported, !implemented, "{name}");
        }
    }
}
