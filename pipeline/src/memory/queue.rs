//! Queues in memory: what was sent, until a test takes it.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};

use crate::ports::Queue;

#[derive(Default)]
pub struct MemoryQueue {
    sent: Mutex<HashMap<String, Vec<String>>>,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every body sent to the queue since the last take, in order.
    pub fn take(&self, queue_url: &str) -> Vec<String> {
        self.sent.lock().ok().and_then(|mut s| s.remove(queue_url)).unwrap_or_default()
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send_all(&self, queue_url: &str, bodies: Vec<String>) -> Result<()> {
        let mut sent = self.sent.lock().map_err(|_| Error::Permanent("poisoned".into()))?;
        sent.entry(queue_url.to_string()).or_default().extend(bodies);
        Ok(())
    }
}
