//! The schedule -> one pass over what falls due by now (expiries, deadlines,
//! auto-approvals, disposals), each done as its own transaction, and what a
//! crash left in the outbox, then the notifications sent before the function
//! answers. Overlapping
//! passes are safe: a second commit of the same entry is refused and decides
//! again on what the first left.

use hitloop_core::error::Error;
use hitloop_lambda::Failure;
use hitloop_workforce::server::Shared;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

pub async fn handle(service: &Shared, _event: LambdaEvent<Value>) -> Result<Value, Failure> {
    let now = service.clock.now_ms();
    let resent = service.pass().await.map_err(Error::retryable)?;
    service.delivered().await;
    let left = service.engine.store().due_count().await.map_err(Error::retryable)?;
    let stats = service.engine.stats();
    tracing::info!(now, due_later = left, resent, ?stats, "pass");
    Ok(json!({ "Now": now, "DueLater": left, "Resent": resent, "Stats": stats }))
}
