//! S3 ObjectCreated on `jobs/<job>/manifest.csv|jsonl` -> validate the job and
//! queue its items. Invalid input is reported in errors.json, never retried;
//! only temporary failures make the invocation fail (Lambda retries it).

use hitloop_shared::error::Error;
use hitloop_shared::events::object_events;
use hitloop_shared::pipeline::ingest::{ingest, Outcome};
use hitloop_shared::wiring::Deps;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

pub async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, Error> {
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
            Err(e) if e.is_retryable() => return Err(e),
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
