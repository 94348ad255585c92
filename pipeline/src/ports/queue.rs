//! Queues between functions (SQS: `hitloop-sqs`).

use async_trait::async_trait;
use hitloop_core::error::Result;

#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends every body, in batches; Ok once all were accepted.
    async fn send_all(&self, queue_url: &str, bodies: Vec<String>) -> Result<()>;
}
