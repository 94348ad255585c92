//! Local endpoint invocations: moto records endpoints but answers
//! InvokeEndpoint with canned results. This stand-in is SageMaker Runtime
//! for the local stack: `POST /endpoints/<name>/invocations` with CSV rows
//! is answered by the model the endpoint's configuration serves (loaded
//! from the artifact training wrote, as the endpoint stand-in does), in the
//! form XGBoost's container answers, and each request is counted in
//! CloudWatch as SageMaker counts it (AWS/SageMaker `Invocations`, per
//! endpoint and variant), so `hitloop status` sees an endpoint's use.
//! Errors come back as SageMaker Runtime sends them (`x-amzn-ErrorType`:
//! ValidationError for an unknown endpoint, ModelError for rows the model
//! cannot read). It listens on loopback only and checks no signature: it
//! is a stand-in on the developer's machine, like moto.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tokio::sync::Mutex;

use hitloop_core::deploy::VARIANT;

use crate::sagemaker_local::{sm_err, SageMakerLocal};
use crate::trainer::LocalModel;

struct Serving {
    aws: SageMakerLocal,
    cloudwatch: aws_sdk_cloudwatch::Client,
    /// endpoint configuration -> its loaded model.
    models: Mutex<HashMap<String, Arc<LocalModel>>>,
}

/// The running stand-in; it stops when dropped.
pub struct LocalInvocations {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalInvocations {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LocalInvocations {
    /// Listens on `port` of loopback (0: any free port).
    pub async fn start(sdk: &hitloop_aws::SdkConfig, port: u16) -> std::io::Result<LocalInvocations> {
        let serving = Arc::new(Serving {
            aws: SageMakerLocal::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            models: Mutex::new(HashMap::new()),
        });
        let app = Router::new().route("/endpoints/{name}/invocations", post(invoke)).with_state(serving);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the local endpoint invocations stopped");
            }
        });
        Ok(LocalInvocations { url, task })
    }
}

/// SageMaker Runtime's error: its type in `x-amzn-ErrorType`, a message.
fn refuse(status: StatusCode, kind: &'static str, message: String) -> Response {
    let mut response = (status, axum::Json(serde_json::json!({ "message": message }))).into_response();
    response.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(kind));
    response
}

async fn invoke(State(serving): State<Arc<Serving>>, Path(name): Path<String>, body: Bytes) -> Response {
    let model = match serving.model_of(&name).await {
        Ok(m) => m,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, "ValidationError", why),
    };
    let Ok(rows) = std::str::from_utf8(&body) else {
        return refuse(StatusCode::FAILED_DEPENDENCY, "ModelError", "the rows are not UTF-8 text".into());
    };
    serving.count(&name).await;
    match model.answer(rows) {
        Ok((_, answer)) => ([("content-type", "text/csv")], answer).into_response(),
        Err(why) => refuse(StatusCode::FAILED_DEPENDENCY, "ModelError", why),
    }
}

impl Serving {
    /// The model the endpoint serves now (loaded once per configuration).
    async fn model_of(&self, endpoint: &str) -> Result<Arc<LocalModel>, String> {
        let described = self.aws.sagemaker.describe_endpoint().endpoint_name(endpoint).send().await.map_err(|e| {
            tracing::debug!(error = %sm_err(e), endpoint, "no such endpoint");
            format!("Endpoint {endpoint} not found.")
        })?;
        let config = described.endpoint_config_name().unwrap_or_default().to_string();
        if let Some(model) = self.models.lock().await.get(&config) {
            return Ok(model.clone());
        }
        let (url, model) = self.aws.load_model(&self.aws.model_of_config(&config).await?).await?;
        let model = Arc::new(model.map_err(|e| format!("the model at {url} could not be loaded: {e}"))?);
        self.models.lock().await.insert(config, model.clone());
        Ok(model)
    }

    /// One invocation on the endpoint's CloudWatch metric, as SageMaker
    /// records it (a lost count only makes the idle warning early).
    async fn count(&self, endpoint: &str) {
        let dimension =
            |name: &str, value: &str| aws_sdk_cloudwatch::types::Dimension::builder().name(name).value(value).build();
        let datum = aws_sdk_cloudwatch::types::MetricDatum::builder()
            .metric_name("Invocations")
            .dimensions(dimension("EndpointName", endpoint))
            .dimensions(dimension("VariantName", VARIANT))
            .unit(aws_sdk_cloudwatch::types::StandardUnit::Count)
            .value(1.0)
            .build();
        let put = self.cloudwatch.put_metric_data().namespace("AWS/SageMaker").metric_data(datum).send().await;
        if let Err(e) = put {
            tracing::warn!(endpoint, error = %aws_sdk_cloudwatch::error::DisplayErrorContext(e), "invocation not counted");
        }
    }
}
