//! Local endpoints: moto records CreateEndpoint (and says InService at once)
//! but serves nothing. This stand-in does what SageMaker's hosting does when
//! an endpoint is created: it fetches the model version's artifact from S3
//! and loads it as a serving container would, then emits SageMaker's
//! "Endpoint State Change" events on EventBridge (CREATING, or UPDATING when
//! the endpoint moves to a new model version, then IN_SERVICE, or FAILED
//! with the reason when the model cannot be loaded), which the stack's rule
//! brings to train.

use std::collections::HashMap;

use hitloop_core::messages::ENDPOINT_STATE_CHANGE;
use hitloop_core::training::TRAINING_JOB_PREFIX;

use crate::sagemaker_local::{sm_err, SageMakerLocal};

/// Follows moto's endpoints and announces their states.
pub struct LocalEndpoints {
    aws: SageMakerLocal,
    /// endpoint -> the configuration whose outcome was announced.
    announced: HashMap<String, String>,
}

/// What became of an endpoint configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    pub endpoint: String,
    pub config: String,
    /// None: in service; Some: why it failed.
    pub failure: Option<String>,
}

impl LocalEndpoints {
    pub fn new(sdk: &hitloop_aws::SdkConfig) -> Self {
        LocalEndpoints { aws: SageMakerLocal::new(sdk), announced: HashMap::new() }
    }

    /// Brings up every hitloop endpoint whose configuration is new since
    /// the last pass; what became of each.
    pub async fn run_pending(&mut self) -> Vec<Announced> {
        let sm = &self.aws.sagemaker;
        let names = self
            .aws
            .names("endpoints", sm.list_endpoints().name_contains(TRAINING_JOB_PREFIX).max_results(100).send())
            .await;
        let mut done = Vec::new();
        for name in names {
            match self.bring_up(&name).await {
                Ok(Some(a)) => done.push(a),
                Ok(None) => {}
                Err(e) => tracing::warn!(endpoint = %name, error = %e, "local endpoint not brought up"),
            }
        }
        done
    }

    /// Loads the model the endpoint's configuration names, unless that was
    /// done already, and announces the outcome.
    pub async fn bring_up(&mut self, name: &str) -> Result<Option<Announced>, String> {
        let endpoint = self.aws.sagemaker.describe_endpoint().endpoint_name(name).send().await.map_err(sm_err)?;
        let config = endpoint.endpoint_config_name().unwrap_or_default().to_string();
        if self.announced.get(name) == Some(&config) {
            return Ok(None);
        }
        let arn = endpoint.endpoint_arn().unwrap_or_default().to_string();
        let moving = if self.announced.contains_key(name) { "UPDATING" } else { "CREATING" };
        self.emit(name, &arn, &config, moving, None).await?;
        let failure = self.load(&config).await.err();
        let status = if failure.is_some() { "FAILED" } else { "IN_SERVICE" };
        self.emit(name, &arn, &config, status, failure.as_deref()).await?;
        self.announced.insert(name.into(), config.clone());
        Ok(Some(Announced { endpoint: name.into(), config, failure }))
    }

    /// What a serving container does first: fetch and load the model.
    async fn load(&self, config: &str) -> Result<(), String> {
        let (url, model) = self.aws.load_model(&self.aws.model_of_config(config).await?).await?;
        model.map(|_| ()).map_err(|e| format!("The model data at {url} could not be loaded: {e}"))
    }

    async fn emit(&self, name: &str, arn: &str, config: &str, status: &str, why: Option<&str>) -> Result<(), String> {
        let mut detail = serde_json::json!({
            "EndpointName": name,
            "EndpointArn": arn,
            "EndpointConfigName": config,
            "EndpointStatus": status,
        });
        if let Some(why) = why {
            detail["FailureReason"] = why.into();
        }
        self.aws.emit(ENDPOINT_STATE_CHANGE, arn, &detail).await
    }
}
