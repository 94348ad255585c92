use lambda_http::{run, Error};
use workforce_api::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    hitloop_lambda::init_logging();
    let config = Config::from(&hitloop_lambda::env::Vars::Process)?;
    let (service, sign_in) = config.build(&hitloop_aws::sdk_config().await)?;
    run(workforce_api::handler::app(service, sign_in)).await
}
