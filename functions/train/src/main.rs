use std::sync::Arc;

use hitloop_shared::pipeline::train::TrainSettings;
use hitloop_shared::wiring::{init_logging, Deps};
use lambda_runtime::{run, service_fn, Error};
use train::handler::TrainDeps;
use train::sagemaker::SageMakerTrainer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into());
    let deps = Arc::new(TrainDeps {
        deps: Deps::from_sdk(&sdk, hitloop_shared::wiring::Config::from_env()?),
        trainer: Arc::new(SageMakerTrainer::from_sdk(&sdk)),
        settings: TrainSettings::from_env(&region),
    });
    run(service_fn(move |event| {
        let deps = deps.clone();
        async move { train::handler::handle(&deps, event).await }
    }))
    .await
}
