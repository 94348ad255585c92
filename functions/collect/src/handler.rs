//! MTurk notifications (raw, or wrapped by SNS) -> bring each named HIT's
//! item up to date. A duplicate does nothing twice: every step is
//! idempotent, so there is no marker of documents seen to read and write.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use hitloop_core::error::Error;
use hitloop_core::events::notification;
use hitloop_lambda::{batch, Failure};
use hitloop_pipeline::steps::collect::collect;
use hitloop_pipeline::steps::reconcile::CollectDeps;
use lambda_runtime::LambdaEvent;

pub async fn handle(deps: &CollectDeps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Failure> {
    Ok(batch::process(event.payload, |m| async move {
        let body = m.body.unwrap_or_default();
        let doc = notification(&body).map_err(Error::Invalid)?;
        collect(deps, &doc).await?;
        Ok(())
    })
    .await)
}
