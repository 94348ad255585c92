//! The training queue: job-complete messages (collect, sweep), check-training
//! messages (sweep) and SageMaker's state changes (EventBridge). Each
//! message on its own; a retryable failure comes back, the rest is logged.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use hitloop_shared::batch;
use hitloop_shared::error::Error;
use hitloop_shared::pipeline::train::{handle_message, TrainSettings, TrainingMessage};
use hitloop_shared::ports::Trainer;
use hitloop_shared::wiring::Deps;
use lambda_runtime::LambdaEvent;

/// What the train function is built from.
#[derive(Clone)]
pub struct TrainDeps {
    pub deps: Deps,
    pub trainer: Arc<dyn Trainer>,
    pub settings: TrainSettings,
}

pub async fn handle(d: &TrainDeps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    Ok(batch::process(event.payload, |m| async move {
        let body = m.body.unwrap_or_default();
        let message = TrainingMessage::parse(&body).map_err(Error::Invalid)?;
        let outcome = handle_message(&d.deps, d.trainer.as_ref(), &d.settings, message).await?;
        tracing::info!(?outcome, "train");
        Ok(())
    })
    .await)
}
