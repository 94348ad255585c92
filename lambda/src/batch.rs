//! The SQS consumer loop every queue-triggered function shares: each message
//! on its own; a failed one is reported as a batch item failure. A retryable
//! failure comes back and usually succeeds; a permanent one (a body that is
//! not a message of ours, an item that vanished) comes back too and, after
//! the queue's maxReceiveCount, rests in the dead-letter queue for 14 days:
//! logged with its message id and kept, never silently dropped.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::stream::{self, StreamExt};

use hitloop_core::error::Error;

/// How many messages of a batch are worked on at once.
pub const CONCURRENCY: usize = 4;

pub async fn process<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let results: Vec<(Option<String>, Result<(), Error>)> = stream::iter(event.records)
        .map(|m| {
            let id = m.message_id.clone();
            let fut = handle(m);
            async move { (id, fut.await) }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    report(results)
}

/// The batch response for these outcomes (message id, result): every failed
/// message reported, each logged.
pub fn report(results: Vec<(Option<String>, Result<(), Error>)>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        match result {
            Ok(()) => {}
            Err(e) if e.is_retryable() => {
                tracing::warn!(message_id = id.as_deref().unwrap_or(""), error = %e, "will retry");
                // An empty id makes Lambda retry the whole batch: safe, since
                // every consumer is idempotent.
                response.add_failure(id.unwrap_or_default());
            }
            Err(e) => {
                tracing::error!(message_id = id.as_deref().unwrap_or(""), error = %e, "cannot be processed; it goes to the dead-letter queue");
                response.add_failure(id.unwrap_or_default());
            }
        }
    }
    response
}
