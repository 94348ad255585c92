//! MTurk notifications (raw, or wrapped by SNS) -> bring each HIT's item up to
//! date. Deduplicated by EventDocId once handled; a duplicate that slips by
//! does nothing twice, because every step is idempotent.

use std::collections::BTreeSet;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use hitloop_shared::batch;
use hitloop_shared::error::Error;
use hitloop_shared::events::notification;
use hitloop_shared::pipeline::reconcile::reconcile_hit;
use hitloop_shared::wiring::Deps;
use lambda_runtime::LambdaEvent;

pub async fn handle(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    Ok(batch::process(event.payload, |m| async move {
        let body = m.body.unwrap_or_default();
        let doc = notification(&body).map_err(Error::Invalid)?;
        if let Some(id) = &doc.event_doc_id {
            if deps.store.event_seen(id).await? {
                tracing::info!(event_doc_id = %id, "duplicate notification; skipped");
                return Ok(());
            }
        }
        let hits: BTreeSet<&str> =
            doc.events.iter().filter(|e| e.event_type != "Ping").filter_map(|e| e.hit_id.as_deref()).collect();
        for hit in hits {
            let outcome = reconcile_hit(deps, hit).await?;
            tracing::info!(hit_id = hit, ?outcome, "collect");
        }
        if let Some(id) = &doc.event_doc_id {
            deps.store.mark_event(id).await?;
        }
        Ok(())
    })
    .await)
}
