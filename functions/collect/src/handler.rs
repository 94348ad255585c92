//! MTurk notifications (raw, or wrapped by SNS) -> bring each HIT the batch
//! names up to date, once for the whole batch, never the same HIT twice at
//! once. A duplicate does nothing twice: every step is idempotent, so there
//! is no marker of documents seen to read and write. Reports partial batch
//! failures: a message fails if a HIT it names could not be brought up to
//! date, or if it is no notification at all (it ends in the DLQ).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use hitloop_core::error::Error;
use hitloop_core::events::notification;
use hitloop_lambda::{batch, Failure};
use hitloop_pipeline::steps::collect::collect_batch;
use hitloop_pipeline::steps::reconcile::CollectDeps;
use lambda_runtime::LambdaEvent;

pub async fn handle(deps: &CollectDeps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Failure> {
    let mut results = Vec::new();
    let mut docs = Vec::new();
    for (k, m) in event.payload.records.into_iter().enumerate() {
        match notification(m.body.as_deref().unwrap_or_default()) {
            Ok(doc) => docs.push(((k, m.message_id), doc)),
            Err(e) => results.push((m.message_id, Err(Error::Invalid(e)))),
        }
    }
    for ((_, id), result) in collect_batch(deps, &docs).await {
        results.push((id, result));
    }
    Ok(batch::report(results))
}
