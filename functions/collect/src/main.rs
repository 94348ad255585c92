use std::sync::Arc;

use hitloop_shared::wiring::{init_logging, Deps};
use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let deps = Arc::new(Deps::from_env().await?);
    run(service_fn(move |event| {
        let deps = deps.clone();
        async move { collect::handler::handle(&deps, event).await }
    }))
    .await
}
