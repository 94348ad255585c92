//! What every AWS adapter shares: the SDK configuration, with the one HTTPS
//! client hitloop links (hyper 1 with rustls on ring; see the workspace's
//! Cargo.toml for why not the SDK's default), and the classification of an
//! SDK error as retryable or not.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use hitloop_core::error::Error;

pub use aws_config::SdkConfig;

/// The HTTPS client every SDK client of the process uses.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// A configuration loader with hitloop's HTTPS client, for callers that
/// set more (a region, an endpoint, credentials) before loading.
pub fn loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client())
}

/// The configuration of a function: region and credentials from the
/// environment (Lambda's), `AWS_ENDPOINT_URL` if set (moto locally).
pub async fn sdk_config() -> SdkConfig {
    loader().load().await
}

/// The configuration for a local AWS stand-in (moto) at `endpoint`, with
/// dummy credentials.
pub async fn local_sdk_config(endpoint: &str) -> SdkConfig {
    loader().region(aws_config::Region::new("us-east-1")).endpoint_url(endpoint).test_credentials().load().await
}

/// The same, signing with the given key: moto takes any, and the local
/// MTurk-compatible service checks that it is the one it was given.
pub async fn local_sdk_config_as(endpoint: &str, credentials: aws_credential_types::Credentials) -> SdkConfig {
    loader()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await
}

/// The region the configuration names (us-east-1 if none).
pub fn region(sdk: &SdkConfig) -> String {
    sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into())
}

/// Classifies an AWS SDK error: transport problems, timeouts, throttling and
/// server faults are retryable; a rejected request is not. Every service
/// crate's errors are smithy's `SdkError`, so this serves them all.
pub fn classify<E>(err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let text = format!("{}", DisplayErrorContext(&err));
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

/// The error code a service sent, if the error is the service's answer.
pub fn service_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}
