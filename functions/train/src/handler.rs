//! The training queue: job-complete messages (collect, sweep), check-training
//! messages (sweep) and SageMaker's state changes (EventBridge). Each
//! message on its own; a retryable failure comes back, the rest rests in the
//! dead-letter queue.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use hitloop_core::error::Error;
use hitloop_core::messages::TrainingMessage;
use hitloop_lambda::{batch, Failure};
use hitloop_pipeline::steps::train::{handle_message, TrainDeps};
use lambda_runtime::LambdaEvent;

pub async fn handle(deps: &TrainDeps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Failure> {
    Ok(batch::process(event.payload, |m| async move {
        let body = m.body.unwrap_or_default();
        let message = TrainingMessage::parse(&body).map_err(Error::Invalid)?;
        let outcome = handle_message(deps, message).await?;
        tracing::info!(?outcome, "train");
        Ok(())
    })
    .await)
}
