use std::sync::Arc;

use lambda_runtime::{run, service_fn, Error};
use workforce_pass::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    hitloop_lambda::init_logging();
    let config = Config::from(&hitloop_lambda::env::Vars::Process)?;
    let service = config.service(&hitloop_aws::sdk_config().await)?;
    run(service_fn(move |event| {
        let service = Arc::clone(&service);
        async move { workforce_pass::handler::handle(&service, event).await }
    }))
    .await
}
