//! hitloop's error type: every error knows whether trying again can help.

use aws_sdk_dynamodb::config::http::HttpResponse;

/// A failure in the pipeline. `Retryable` failures (throttling, timeouts,
/// 5xx, a lost race) are retried by the queue; the others are reported where
/// the user looks and not retried.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("temporary failure, will retry: {0}")]
    Retryable(String),
    #[error("{0}")]
    Permanent(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
}

impl Error {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Retryable(_))
    }

    pub fn retryable(e: impl std::fmt::Display) -> Self {
        Error::Retryable(e.to_string())
    }

    pub fn permanent(e: impl std::fmt::Display) -> Self {
        Error::Permanent(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Classifies an AWS SDK error: transport problems, timeouts, throttling and
/// server faults are retryable; a rejected request is not. The SdkError and
/// HttpResponse types are the smithy runtime's, re-exported by every service
/// crate, so this serves S3, SQS and MTurk errors as well as DynamoDB's.
pub fn classify<E>(err: aws_sdk_dynamodb::error::SdkError<E, HttpResponse>) -> Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_dynamodb::error::SdkError;
    let text = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Error::Retryable(text),
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or_default();
            let throttled = code.contains("Throttl")
                || code.contains("ProvisionedThroughputExceeded")
                || code == "RequestLimitExceeded"
                || code == "TransactionConflict"
                || code == "InternalServerError"
                || code == "ServiceUnavailable"
                || code == "ServiceFault";
            let status = s.raw().status().as_u16();
            if throttled || status >= 500 {
                Error::Retryable(text)
            } else {
                Error::Permanent(text)
            }
        }
        _ => Error::Permanent(text),
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        let kind = if e.is_retryable() { "Retryable" } else { "NonRetryable" };
        lambda_runtime::Diagnostic { error_type: kind.into(), error_message: e.to_string() }
    }
}
