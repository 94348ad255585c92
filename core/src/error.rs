//! hitloop's error type: every error knows whether trying again can help.
//! Adapters classify what their service says (`hitloop-aws` for the AWS
//! SDKs); the Lambda glue (`hitloop-lambda`) turns an error into the
//! runtime's diagnostic.

/// A failure in the pipeline. `Retryable` failures (throttling, timeouts,
/// 5xx, a lost race) are retried by the queue; the others are reported where
/// the user looks and not retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
