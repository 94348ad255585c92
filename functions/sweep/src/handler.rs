//! The schedule -> finish what notifications did not bring (see
//! `hitloop_pipeline::steps::sweep`).

use hitloop_core::error::Error;
use hitloop_core::plan::sweep::SweepLimits;
use hitloop_lambda::Failure;
use hitloop_pipeline::steps::sweep::{sweep, SweepDeps};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn handle(deps: &SweepDeps, event: LambdaEvent<Value>) -> Result<Value, Failure> {
    handle_with(deps, event, SweepLimits::default()).await
}

pub async fn handle_with(deps: &SweepDeps, _event: LambdaEvent<Value>, limits: SweepLimits) -> Result<Value, Failure> {
    let report = sweep(deps, limits).await?;
    tracing::info!(?report, "sweep");
    Ok(serde_json::to_value(report).map_err(Error::permanent)?)
}
