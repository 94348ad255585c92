use std::sync::Arc;

use lambda_runtime::{run, service_fn, Error};
use train::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    hitloop_lambda::init_logging();
    let config = Config::from(&hitloop_lambda::env::Vars::Process)?;
    let deps = Arc::new(config.deps(&hitloop_aws::sdk_config().await));
    run(service_fn(move |event| {
        let deps = deps.clone();
        async move { train::handler::handle(&deps, event).await }
    }))
    .await
}
