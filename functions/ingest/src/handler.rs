//! S3 ObjectCreated on `jobs/<job>/manifest.csv|jsonl` (or `job.json`) ->
//! validate the job and queue its items. Invalid input is reported in
//! errors.json, never retried; only temporary failures make the invocation
//! fail (Lambda retries it).

use hitloop_core::events::object_events;
use hitloop_lambda::Failure;
use hitloop_pipeline::steps::ingest::{ingest, IngestDeps, Outcome};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

pub async fn handle(deps: &IngestDeps, event: LambdaEvent<Value>) -> Result<Value, Failure> {
    let objects = match object_events(&event.payload) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "not an S3 event; ignored");
            return Ok(json!({ "ignored": e }));
        }
    };
    let mut results = Vec::new();
    for o in objects {
        if !o.event_name.starts_with("ObjectCreated") {
            continue;
        }
        let outcome = match ingest(deps, &o.bucket, &o.key).await {
            Ok(outcome) => outcome,
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => {
                tracing::error!(key = %o.key, error = %e, "ingest failed");
                results.push(json!({ "key": o.key, "error": e.to_string() }));
                continue;
            }
        };
        let summary = match outcome {
            Outcome::Accepted { items } => json!({ "key": o.key, "accepted": items }),
            Outcome::Rejected { problems } => json!({ "key": o.key, "rejected": problems }),
            other => json!({ "key": o.key, "outcome": format!("{other:?}") }),
        };
        results.push(summary);
    }
    Ok(json!({ "results": results }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hitloop_core::records::JobStatus;
    use hitloop_pipeline::memory::{MemoryBlobs, MemoryQueue, MemoryStore};
    use hitloop_pipeline::ports::{Blobs, Jobs};
    use lambda_runtime::Context;

    use super::*;

    fn upload(key: &str) -> Value {
        json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": key}}}]})
    }

    #[tokio::test]
    async fn an_upload_becomes_a_job_and_its_items_are_queued() {
        let (store, blobs, queue) =
            (Arc::new(MemoryStore::new()), Arc::new(MemoryBlobs::new()), Arc::new(MemoryQueue::new()));
        let deps = IngestDeps {
            store: store.clone(),
            blobs: blobs.clone(),
            queue: queue.clone(),
            publish_queue_url: "q".into(),
            training_queue_url: "t".into(),
        };
        blobs.put("b", "jobs/j/job.json", br#"{"labels": ["a", "b"]}"#.to_vec(), "").await.unwrap();
        let page = r#"<crowd-form><crowd-classifier name="category" categories="['a','b']">${text}</crowd-classifier></crowd-form>"#;
        blobs.put("b", "jobs/j/template.html", page.as_bytes().to_vec(), "").await.unwrap();
        blobs.put("b", "jobs/j/manifest.csv", b"id,text\n1,x\n2,y\n".to_vec(), "").await.unwrap();
        let out = handle(&deps, LambdaEvent::new(upload("jobs%2Fj%2Fmanifest.csv"), Context::default())).await.unwrap();
        assert_eq!(out["results"][0]["accepted"], 2, "{out}");
        assert_eq!(store.job("j").await.unwrap().unwrap().status, JobStatus::Labeling);
        assert_eq!(queue.take("q").len(), 2);
    }

    #[tokio::test]
    async fn what_is_not_an_upload_is_ignored() {
        let deps = IngestDeps {
            store: Arc::new(MemoryStore::new()),
            blobs: Arc::new(MemoryBlobs::new()),
            queue: Arc::new(MemoryQueue::new()),
            publish_queue_url: "q".into(),
            training_queue_url: "t".into(),
        };
        let out = handle(&deps, LambdaEvent::new(json!(["not", "an", "event"]), Context::default())).await.unwrap();
        assert!(out.get("ignored").is_some(), "{out}");
    }
}
