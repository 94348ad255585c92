//! The labeling pipeline: what each function does, over the ports.
//!
//! Notifications are hints and state is the truth: every step reads the
//! current state, does what is still missing, and is idempotent, so a retry,
//! a duplicate, a late message and sweep all take the same path.

pub mod amend;
pub mod ingest;
pub mod publish;
pub mod reconcile;
pub mod sweep;
pub mod train;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::records::Item;

/// Every item of a job, a page at a time. A page may come back short
/// (DynamoDB's 1 MB cap), so it goes on until a page is empty.
pub async fn all_items(store: &dyn crate::ports::JobStore, job_id: &str) -> crate::error::Result<Vec<Item>> {
    let mut items: Vec<Item> = Vec::new();
    loop {
        let page = store.items(job_id, items.last().map(|i| i.item_id.as_str()), 500).await?;
        if page.is_empty() {
            return Ok(items);
        }
        items.extend(page);
    }
}

/// A message on the publish queue: post this item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishItem {
    pub job_id: String,
    pub item_id: String,
}

impl PublishItem {
    /// The publish queue's message body for an item.
    pub fn body_for(item: &Item) -> crate::error::Result<String> {
        let msg = PublishItem { job_id: item.job_id.clone(), item_id: item.item_id.clone() };
        serde_json::to_string(&msg).map_err(crate::error::Error::permanent)
    }
}

/// A message hitloop puts on the training queue (SageMaker's state changes
/// arrive there too, from EventBridge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub kind: String,
    pub job_id: String,
}

impl JobMessage {
    /// This job's labeling is complete (from collect, or sweep).
    pub fn complete(job_id: &str) -> Self {
        JobMessage { kind: "job-complete".into(), job_id: job_id.into() }
    }

    /// This job has waited long for its training job (from sweep).
    pub fn check_training(job_id: &str) -> Self {
        JobMessage { kind: train::CHECK_TRAINING.into(), job_id: job_id.into() }
    }
}

/// The UniqueRequestToken for buying round `round` of an item: derived, so a
/// retry sends the same token and MTurk refuses to buy twice (at most 64
/// characters, whatever the ids).
pub fn request_token(job_id: &str, item_id: &str, round: u32) -> String {
    let mut h = Sha256::new();
    h.update(job_id.as_bytes());
    h.update([0]);
    h.update(item_id.as_bytes());
    h.update([0]);
    h.update(round.to_be_bytes());
    let digest = h.finalize();
    let hex: String = digest.iter().take(24).map(|b| format!("{b:02x}")).collect();
    format!("hl1-{hex}")
}

/// The HIT's RequesterAnnotation: where it belongs, for people reading MTurk.
pub fn annotation(job_id: &str, item_id: &str) -> String {
    let a = format!("hitloop:{job_id}/{item_id}");
    a.chars().take(255).collect()
}

/// A valid job id: it names an S3 prefix, a DynamoDB key and a training job.
pub fn check_job_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 48 {
        return Err(format!("job id {id:?} must have 1 to 48 characters"));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || id.starts_with('-') {
        return Err(format!("job id {id:?} may use only letters, digits and '-' (not first)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_distinct_and_short() {
        let a = request_token("job", "item-1", 1);
        assert_eq!(a, request_token("job", "item-1", 1));
        assert_ne!(a, request_token("job", "item-1", 2));
        assert_ne!(a, request_token("job", "item-11", 1));
        assert_ne!(request_token("a", "bc", 1), request_token("ab", "c", 1));
        assert!(request_token(&"j".repeat(300), &"i".repeat(300), 9).len() <= 64);
    }

    #[test]
    fn job_ids() {
        assert!(check_job_id("iris-2026").is_ok());
        for bad in ["", "-x", "a/b", "a b", "é", &"x".repeat(49)] {
            assert!(check_job_id(bad).is_err(), "{bad}");
        }
    }
}
