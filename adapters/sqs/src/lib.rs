//! The Queue port on SQS: messages to the publish and training queues.
//! Linked only by what sends to SQS.

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};
use hitloop_pipeline::ports::Queue;

pub struct SqsQueue {
    client: Client,
}

impl SqsQueue {
    pub fn new(client: Client) -> Self {
        SqsQueue { client }
    }

    pub fn from_sdk(sdk: &hitloop_aws::SdkConfig) -> Self {
        SqsQueue::new(Client::new(sdk))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_all(&self, queue_url: &str, bodies: Vec<String>) -> Result<()> {
        for chunk in bodies.chunks(10) {
            let mut entries: Vec<SendMessageBatchRequestEntry> = Vec::with_capacity(chunk.len());
            for (i, body) in chunk.iter().enumerate() {
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(Error::permanent)?,
                );
            }
            let mut attempt = 0u32;
            loop {
                let out = self
                    .client
                    .send_message_batch()
                    .queue_url(queue_url)
                    .set_entries(Some(entries.clone()))
                    .send()
                    .await
                    .map_err(classify)?;
                let failed: Vec<&str> = out.failed().iter().map(|f| f.id()).collect();
                if failed.is_empty() {
                    break;
                }
                attempt += 1;
                if attempt > 5 {
                    return Err(Error::Retryable(format!("SQS refused {} messages", failed.len())));
                }
                entries.retain(|e| failed.contains(&e.id()));
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
        }
        Ok(())
    }
}
