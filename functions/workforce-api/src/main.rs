use lambda_http::{run, Error};
use workforce_api::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    hitloop_lambda::init_logging();
    let config = Config::from(&hitloop_lambda::env::Vars::Process)?;
    let service = config.service(&hitloop_aws::sdk_config().await)?;
    run(workforce_api::handler::app(service)).await
}
