//! The EndpointPredictor port over SageMaker Runtime's InvokeEndpoint: CSV
//! rows in, the model's answer as text out. An endpoint that refuses (no
//! such endpoint, rows its model cannot read, a model not ready) is an
//! answer, not a failure: the caller predicts the batch another way. A
//! throttled or failing service is retryable, as everywhere.

use async_trait::async_trait;
use aws_sdk_sagemakerruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::Client;
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};
use hitloop_pipeline::ports::EndpointPredictor;

pub struct SageMakerPredictor {
    client: Client,
}

impl SageMakerPredictor {
    pub fn new(client: Client) -> Self {
        SageMakerPredictor { client }
    }

    /// `endpoint_url`: where SageMaker Runtime is, when not the region's
    /// (the local stack's stand-in).
    pub fn from_sdk(sdk: &hitloop_aws::SdkConfig, endpoint_url: Option<&str>) -> Self {
        let mut config = aws_sdk_sagemakerruntime::config::Builder::from(sdk);
        if let Some(url) = endpoint_url {
            config = config.endpoint_url(url);
        }
        SageMakerPredictor::new(Client::from_conf(config.build()))
    }
}

#[async_trait]
impl EndpointPredictor for SageMakerPredictor {
    async fn predict(&self, endpoint: &str, rows_csv: &str) -> Result<std::result::Result<String, String>> {
        let sent = self
            .client
            .invoke_endpoint()
            .endpoint_name(endpoint)
            .content_type("text/csv")
            .accept("text/csv")
            .body(Blob::new(rows_csv.as_bytes().to_vec()))
            .send()
            .await;
        match sent {
            Ok(out) => {
                let body = out.body.map(|b| b.into_inner()).unwrap_or_default();
                String::from_utf8(body)
                    .map(Ok)
                    .map_err(|_| Error::Permanent(format!("{endpoint} answered with text that is not UTF-8")))
            }
            Err(SdkError::ServiceError(e)) if refused(e.err().code(), e.raw().status().as_u16()) => {
                let code = e.err().code().unwrap_or("refused").to_string();
                let message = e.err().message().unwrap_or_default().to_string();
                Ok(Err(format!("{code}: {message}")))
            }
            Err(e) => Err(classify(e)),
        }
    }
}

/// The endpoint said no to these rows (its answer will not change on a
/// retry of the same request soon), rather than the service failing.
fn refused(code: Option<&str>, status: u16) -> bool {
    matches!(code, Some("ValidationError" | "ModelError" | "ModelNotReadyException"))
        || (400..500).contains(&status) && status != 429
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_answers_and_faults_are_not() {
        assert!(refused(Some("ValidationError"), 400));
        assert!(refused(Some("ModelError"), 424));
        assert!(refused(Some("ModelNotReadyException"), 429));
        assert!(!refused(Some("ThrottlingException"), 429));
        assert!(!refused(Some("ServiceUnavailable"), 503));
        assert!(!refused(Some("InternalDependencyException"), 530));
    }
}
