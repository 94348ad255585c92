//! Delivers events to the functions in-process, the way Lambda does: each
//! queue is polled and its messages handed to the consumer in batches; what
//! the consumer reports as failed stays on the queue (and comes back after a
//! short visibility timeout); the rest is deleted. Uploads go to ingest, the
//! schedule to sweep, the training queue to train.

use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use hitloop_core::plan::sweep::SweepLimits;
use lambda_runtime::{Context, LambdaEvent};

use crate::functions::Functions;
use crate::resources::StackResources;

/// Messages a consumer reported as failed come back after this long.
const RETRY_AFTER_S: i32 = 1;

pub struct Router {
    /// Each function's dependencies, as its own configuration builds them.
    pub functions: Functions,
    pub resources: StackResources,
    /// While true the training queue is not delivered: a completed job's
    /// message waits there (to look at a job before training starts).
    pub hold_training: std::sync::atomic::AtomicBool,
    sqs: aws_sdk_sqs::Client,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pumped {
    pub uploads: usize,
    pub published: usize,
    pub notifications: usize,
    pub training: usize,
    pub failed: usize,
}

impl Pumped {
    pub fn total(&self) -> usize {
        self.uploads + self.published + self.notifications + self.training
    }
}

enum Consumer {
    Ingest,
    Publish,
    Collect,
    Train,
}

impl Router {
    pub fn new(functions: Functions, resources: StackResources, sdk: &hitloop_aws::SdkConfig) -> Self {
        Router {
            functions,
            resources,
            hold_training: std::sync::atomic::AtomicBool::new(false),
            sqs: aws_sdk_sqs::Client::new(sdk),
        }
    }

    /// One receive from each queue, dispatched; how many messages were handled.
    pub async fn pump_once(&self) -> Pumped {
        let mut p = Pumped::default();
        let uploads = self.resources.upload_queue_url.clone();
        let (n, f) = self.deliver(&uploads, Consumer::Ingest).await;
        p.uploads = n;
        p.failed = f;
        // Each queue to the function the template subscribes to it.
        for (url, binary) in &self.resources.consumers {
            let consumer = match binary.as_str() {
                "publish" => Consumer::Publish,
                "collect" => Consumer::Collect,
                "train" if !self.hold_training.load(std::sync::atomic::Ordering::Relaxed) => Consumer::Train,
                _ => continue,
            };
            let slot = match consumer {
                Consumer::Publish => &mut p.published,
                Consumer::Collect => &mut p.notifications,
                _ => &mut p.training,
            };
            let (n, f) = self.deliver(url, consumer).await;
            *slot += n;
            p.failed += f;
        }
        p
    }

    /// Pumps until every queue is empty (or `max_rounds` rounds).
    pub async fn pump_until_idle(&self, max_rounds: usize) -> Pumped {
        let mut total = Pumped::default();
        for _ in 0..max_rounds {
            let p = self.pump_once().await;
            total.uploads += p.uploads;
            total.published += p.published;
            total.notifications += p.notifications;
            total.training += p.training;
            total.failed += p.failed;
            if p.total() == 0 {
                break;
            }
        }
        total
    }

    pub async fn sweep(&self, limits: SweepLimits) -> serde_json::Value {
        let event = LambdaEvent::new(
            serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            Context::default(),
        );
        match sweep::handler::handle_with(&self.functions.sweep, event, limits).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "sweep failed");
                serde_json::json!({ "error": e.to_string() })
            }
        }
    }

    /// Runs like Lambda until `stop` turns true: polls the queues, and runs
    /// sweep every `sweep_every` with `limits`.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>, sweep_every: Duration, limits: SweepLimits) {
        let mut last_sweep = tokio::time::Instant::now();
        loop {
            if *stop.borrow() {
                return;
            }
            let p = self.pump_once().await;
            if last_sweep.elapsed() >= sweep_every {
                self.sweep(limits).await;
                last_sweep = tokio::time::Instant::now();
            }
            if p.total() == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// (messages handled, messages failed)
    async fn deliver(&self, queue_url: &str, consumer: Consumer) -> (usize, usize) {
        let received = match self.sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "cannot poll");
                return (0, 0);
            }
        };
        let messages = received.messages().to_vec();
        if messages.is_empty() {
            return (0, 0);
        }
        let mut failed: Vec<String> = Vec::new();
        match consumer {
            Consumer::Ingest => {
                // S3 -> Lambda is one invocation per notification.
                for m in &messages {
                    let payload: serde_json::Value = serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or_default();
                    let event = LambdaEvent::new(payload, Context::default());
                    if let Err(e) = ingest::handler::handle(&self.functions.ingest, event).await {
                        tracing::warn!(error = %e, "ingest will be retried");
                        failed.push(m.message_id().unwrap_or_default().to_string());
                    }
                }
            }
            Consumer::Publish | Consumer::Collect | Consumer::Train => {
                let mut event = SqsEvent::default();
                event.records = messages
                    .iter()
                    .map(|m| {
                        let mut r = SqsMessage::default();
                        r.message_id = m.message_id().map(str::to_string);
                        r.receipt_handle = m.receipt_handle().map(str::to_string);
                        r.body = m.body().map(str::to_string);
                        r.event_source = Some("aws:sqs".into());
                        r.aws_region = Some("us-east-1".into());
                        r
                    })
                    .collect();
                let event = LambdaEvent::new(event, Context::default());
                let result = match consumer {
                    Consumer::Publish => publish::handler::handle(&self.functions.publish, event).await,
                    Consumer::Train => train::handler::handle(&self.functions.train, event).await,
                    _ => collect::handler::handle(&self.functions.collect, event).await,
                };
                match result {
                    Ok(resp) => failed.extend(resp.batch_item_failures.into_iter().map(|f| f.item_identifier)),
                    Err(e) => {
                        tracing::warn!(error = %e, "the whole batch will be retried");
                        failed.extend(messages.iter().map(|m| m.message_id().unwrap_or_default().to_string()));
                    }
                }
            }
        }
        let whole_batch = failed.iter().any(String::is_empty);
        for m in &messages {
            let id = m.message_id().unwrap_or_default();
            let Some(handle) = m.receipt_handle() else { continue };
            if whole_batch || failed.iter().any(|f| f == id) {
                let _ = self
                    .sqs
                    .change_message_visibility()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(RETRY_AFTER_S)
                    .send()
                    .await;
            } else if let Err(e) = self.sqs.delete_message().queue_url(queue_url).receipt_handle(handle).send().await {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "cannot delete a handled message");
            }
        }
        (messages.len(), if whole_batch { messages.len() } else { failed.len() })
    }
}
