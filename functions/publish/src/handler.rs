//! The publish queue -> one HIT per item, exactly once. Reports partial batch
//! failures: a failed message comes back, and one that can never succeed ends
//! in the dead-letter queue (see `hitloop_lambda::batch`).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use hitloop_core::error::Error;
use hitloop_core::messages::PublishItem;
use hitloop_lambda::{batch, Failure};
use hitloop_pipeline::steps::publish::{publish, PublishDeps};
use lambda_runtime::LambdaEvent;

pub async fn handle(deps: &PublishDeps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Failure> {
    Ok(batch::process(event.payload, |m| async move {
        let body = m.body.unwrap_or_default();
        let msg: PublishItem =
            serde_json::from_str(&body).map_err(|e| Error::Invalid(format!("not a publish message: {e}")))?;
        let outcome = publish(deps, &msg).await?;
        tracing::info!(job_id = %msg.job_id, item_id = %msg.item_id, ?outcome, "publish");
        Ok(())
    })
    .await)
}
