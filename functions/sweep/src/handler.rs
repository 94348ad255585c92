//! The schedule -> finish what notifications did not bring (see
//! `hitloop_shared::pipeline::sweep`).

use hitloop_shared::error::Error;
use hitloop_shared::pipeline::sweep::{sweep, SweepLimits};
use hitloop_shared::wiring::Deps;
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
    handle_with(deps, event, SweepLimits::default()).await
}

pub async fn handle_with(deps: &Deps, _event: LambdaEvent<Value>, limits: SweepLimits) -> Result<Value, Error> {
    let report = sweep(deps, limits).await?;
    tracing::info!(?report, "sweep");
    serde_json::to_value(report).map_err(Error::permanent)
}
