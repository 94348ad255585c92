//! A failed invocation, as the runtime reports it: `Retryable` or
//! `NonRetryable`, with the message.

use hitloop_core::error::Error;

#[derive(Debug)]
pub struct Failure(pub Error);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Failure> for lambda_runtime::Diagnostic {
    fn from(Failure(e): Failure) -> Self {
        let kind = if e.is_retryable() { "Retryable" } else { "NonRetryable" };
        lambda_runtime::Diagnostic { error_type: kind.into(), error_message: e.to_string() }
    }
}
