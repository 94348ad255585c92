//! Errors as the MTurk Requester API returns them on the wire.

use serde_json::{json, Value};

/// The `__type` of an error body, which decides the HTTP status and whether
/// SDKs retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// The modelled `RequestError` (400): the request can never succeed as is.
    Request,
    /// The modelled `ServiceFault` (500): retryable.
    ServiceFault,
    /// Unmodelled `ParameterValidationError` (400): a value or format problem.
    ParameterValidation,
    /// Unmodelled `ThrottlingException` (400): SDKs retry it.
    Throttling,
    /// The target names no operation of this API.
    UnknownOperation,
    /// The body is not JSON.
    Serialization,
    /// No `Authorization` header.
    MissingAuthenticationToken,
    /// A signature whose form is wrong.
    IncompleteSignature,
    /// A signature that is stale, misscoped or does not match.
    InvalidSignature,
    /// An access key the service does not know (or has revoked).
    UnrecognizedClient,
}

impl ErrorType {
    pub fn wire_name(self) -> &'static str {
        match self {
            ErrorType::Request => "RequestError",
            ErrorType::ServiceFault => "ServiceFault",
            ErrorType::ParameterValidation => "ParameterValidationError",
            ErrorType::Throttling => "ThrottlingException",
            ErrorType::UnknownOperation => "UnknownOperationException",
            ErrorType::Serialization => "SerializationException",
            ErrorType::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorType::IncompleteSignature => "IncompleteSignatureException",
            ErrorType::InvalidSignature => "InvalidSignatureException",
            ErrorType::UnrecognizedClient => "UnrecognizedClientException",
        }
    }

    /// Errors of the signature check, before any operation runs.
    pub fn is_authentication(self) -> bool {
        matches!(
            self,
            ErrorType::MissingAuthenticationToken
                | ErrorType::IncompleteSignature
                | ErrorType::InvalidSignature
                | ErrorType::UnrecognizedClient
        )
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorType::ServiceFault => 500,
            _ => 400,
        }
    }
}

/// An error of the API: a type, a human message and, for request errors, the
/// `AWS.MechanicalTurk.*` code that clients branch on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {message}", kind.wire_name(), turk_code.unwrap_or(""))]
pub struct ApiError {
    pub kind: ErrorType,
    pub message: String,
    pub turk_code: Option<&'static str>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn request(turk_code: &'static str, message: impl Into<String>) -> Self {
        ApiError { kind: ErrorType::Request, message: message.into(), turk_code: Some(turk_code) }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        ApiError { kind: ErrorType::ParameterValidation, message: message.into(), turk_code: None }
    }

    pub fn service_fault() -> Self {
        ApiError {
            kind: ErrorType::ServiceFault,
            message: "Amazon Mechanical Turk is temporarily unable to process your request. Try your call again."
                .into(),
            turk_code: Some("AWS.MechanicalTurk.ServiceFault"),
        }
    }

    pub fn throttled() -> Self {
        ApiError { kind: ErrorType::Throttling, message: "Rate exceeded".into(), turk_code: None }
    }

    pub fn hit_does_not_exist(hit_id: &str) -> Self {
        Self::request("AWS.MechanicalTurk.HITDoesNotExist", format!("Hit {hit_id} does not exist."))
    }

    pub fn assignment_does_not_exist(id: &str) -> Self {
        Self::request("AWS.MechanicalTurk.AssignmentDoesNotExist", format!("Assignment {id} does not exist."))
    }

    pub fn invalid_assignment_state(allowed: &str) -> Self {
        Self::request(
            "AWS.MechanicalTurk.InvalidAssignmentState",
            format!("This operation can be called with a status of: {allowed}"),
        )
    }

    pub fn invalid_hit_state(current: &str, allowed: &str) -> Self {
        Self::request(
            "AWS.MechanicalTurk.InvalidHITState",
            format!("This HIT is currently in the state '{current}'.  This operation can be called with a status of: {allowed}"),
        )
    }

    pub fn insufficient_funds(needed: hitloop_core::money::Usd, available: hitloop_core::money::Usd) -> Self {
        Self::request(
            "AWS.MechanicalTurk.InsufficientFunds",
            format!("This Requester has insufficient funds in their account to complete this transaction. Needed: ${needed}, available: ${available}."),
        )
    }

    /// The JSON body, with the epoch-milliseconds suffix real messages carry.
    pub fn body(&self, now_ms: i64) -> Value {
        // Only MTurk's own errors carry the suffix; throttling and the
        // signature errors come from AWS's front end, which adds none.
        let message = if self.kind == ErrorType::Throttling || self.kind.is_authentication() {
            self.message.clone()
        } else {
            format!("{} ({now_ms})", self.message)
        };
        let mut body = json!({ "__type": self.kind.wire_name(), "Message": message });
        if let Some(code) = self.turk_code {
            body["TurkErrorCode"] = json!(code);
        }
        body
    }
}
