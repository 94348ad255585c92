//! The operations of the Requester API this service implements, by name.

use serde_json::Value;

use crate::engine::Engine;
use crate::error::{ApiError, ApiResult, ErrorType};
use crate::params::Params;

pub const TARGET_PREFIX: &str = "MTurkRequesterServiceV20170117.";

type Operation = fn(&mut Engine, &Params) -> ApiResult<Value>;

/// Every operation of the 2017-01-17 API. Those mapped to `None` exist in the
/// real API but are not implemented here: they answer with a RequestError.
const OPERATIONS: &[(&str, Option<Operation>)] = &[
    ("AcceptQualificationRequest", None),
    ("ApproveAssignment", Some(Engine::approve_assignment)),
    ("AssociateQualificationWithWorker", Some(Engine::associate_qualification_with_worker)),
    ("CreateAdditionalAssignmentsForHIT", Some(Engine::create_additional_assignments_for_hit)),
    ("CreateHIT", Some(Engine::create_hit)),
    ("CreateHITType", Some(Engine::create_hit_type)),
    ("CreateHITWithHITType", Some(Engine::create_hit_with_hit_type)),
    ("CreateQualificationType", Some(Engine::create_qualification_type)),
    ("CreateWorkerBlock", Some(Engine::create_worker_block)),
    ("DeleteHIT", Some(Engine::delete_hit)),
    ("DeleteQualificationType", None),
    ("DeleteWorkerBlock", Some(Engine::delete_worker_block)),
    ("DisassociateQualificationFromWorker", None),
    ("GetAccountBalance", Some(Engine::get_account_balance)),
    ("GetAssignment", Some(Engine::get_assignment)),
    ("GetFileUploadURL", None),
    ("GetHIT", Some(Engine::get_hit)),
    ("GetQualificationScore", None),
    ("GetQualificationType", None),
    ("ListAssignmentsForHIT", Some(Engine::list_assignments_for_hit)),
    ("ListBonusPayments", None),
    ("ListHITs", Some(Engine::list_hits)),
    ("ListHITsForQualificationType", None),
    ("ListQualificationRequests", None),
    ("ListQualificationTypes", None),
    ("ListReviewPolicyResultsForHIT", None),
    ("ListReviewableHITs", Some(Engine::list_reviewable_hits)),
    ("ListWorkerBlocks", Some(Engine::list_worker_blocks)),
    ("ListWorkersWithQualificationType", None),
    ("NotifyWorkers", None),
    ("RejectAssignment", Some(Engine::reject_assignment)),
    ("RejectQualificationRequest", None),
    ("SendBonus", Some(Engine::send_bonus)),
    ("SendTestEventNotification", Some(Engine::send_test_event_notification)),
    ("UpdateExpirationForHIT", Some(Engine::update_expiration_for_hit)),
    ("UpdateHITReviewStatus", Some(Engine::update_hit_review_status)),
    ("UpdateHITTypeOfHIT", None),
    ("UpdateNotificationSettings", Some(Engine::update_notification_settings)),
    ("UpdateQualificationType", None),
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

/// Runs one operation on the engine.
pub fn call(engine: &mut Engine, operation: &str, input: &Value) -> ApiResult<Value> {
    let params = Params::new(input)?;
    match OPERATIONS.iter().find(|(n, _)| *n == operation) {
        Some((_, Some(op))) => op(engine, &params),
        Some((name, None)) => Err(ApiError::request(
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
