//! What every function shares with the Lambda runtime: logging, its
//! configuration from the environment, the SQS batch loop with partial
//! failures, and errors as the runtime's diagnostics. No AWS SDK here: each
//! function links the adapters of the services it calls.

pub mod batch;
pub mod env;
pub mod failure;

pub use failure::Failure;

/// Logging for a Lambda function: JSON when the runtime asks for it, level
/// from AWS_LAMBDA_LOG_LEVEL or RUST_LOG.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}
