//! Delivers notification documents to SQS queues and SNS topics through the
//! AWS SDK, as MTurk did, with switchable faults for testing consumers:
//! dropped, duplicated, reordered and batched deliveries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Delivery, EventRecord};
use crate::store::Store;

/// Faults applied to notification deliveries (not to test events).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationFaults {
    /// Share of documents never sent.
    pub drop_rate: f64,
    /// Share of documents sent twice (the copy comes later, as its own message).
    pub duplicate_rate: f64,
    /// Share of documents held back and sent after later ones.
    pub reorder_rate: f64,
    /// Up to this many events of one destination go in one document (1 = none).
    pub batch_max: usize,
    /// Share of deliveries lost between their commit and their sending, as
    /// if the process had died there: their outbox records stay, and the
    /// pass sends them.
    pub crash_rate: f64,
    /// Share of documents sent whose outbox records are then not cleared, as
    /// if the process had died right after sending: the pass sends them
    /// again, with the same EventDocId.
    pub crash_after_send_rate: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct NotifyStats {
    pub documents_sent: AtomicU64,
    pub events_sent: AtomicU64,
    pub dropped: AtomicU64,
    pub duplicated: AtomicU64,
    pub reordered: AtomicU64,
    pub failed: AtomicU64,
    /// Deliveries lost to `crash_rate` (left in the outbox).
    pub crashed: AtomicU64,
    /// Documents sent but left in the outbox by `crash_after_send_rate`.
    pub crashed_after_send: AtomicU64,
}

impl NotifyStats {
    pub fn snapshot(&self) -> Value {
        json!({
            "DocumentsSent": self.documents_sent.load(Ordering::SeqCst),
            "EventsSent": self.events_sent.load(Ordering::SeqCst),
            "Dropped": self.dropped.load(Ordering::SeqCst),
            "Duplicated": self.duplicated.load(Ordering::SeqCst),
            "Reordered": self.reordered.load(Ordering::SeqCst),
            "Failed": self.failed.load(Ordering::SeqCst),
            "Crashed": self.crashed.load(Ordering::SeqCst),
            "CrashedAfterSend": self.crashed_after_send.load(Ordering::SeqCst),
        })
    }
}

pub enum Control {
    /// Send everything queued or held back, then answer.
    Flush(oneshot::Sender<()>),
    SetFaults(NotificationFaults),
}

/// Where documents go. Without AWS clients nothing is sent (and counted failed).
#[derive(Clone)]
pub struct Sinks {
    pub sqs: Option<aws_sdk_sqs::Client>,
    pub sns: Option<aws_sdk_sns::Client>,
}

pub struct Identity {
    pub customer_id: String,
    pub account_id: String,
}

/// One notification document as MTurk sends it (the SQS body, or the SNS
/// `Message`).
pub fn document(events: &[EventRecord], version: &str, doc_id: &str, who: &Identity) -> String {
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut v = json!({
                "EventType": e.event_type,
                "EventTimestamp": iso(e.timestamp_ms),
                "HITId": e.hit_id,
                "HITTypeId": e.hit_type_id,
            });
            if let Some(a) = &e.assignment_id {
                v["AssignmentId"] = json!(a);
            }
            v
        })
        .collect();
    json!({
        "Events": events,
        "EventDocId": doc_id,
        "SourceAccount": who.account_id,
        "CustomerId": who.customer_id,
        "EventDocVersion": version,
    })
    .to_string()
}

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Clone)]
struct Doc {
    /// The outbox records it carries, as (decided at, id).
    from: Vec<(i64, String)>,
    destination: String,
    transport: String,
    body: String,
    events: usize,
    subject: String,
    /// Sent, and then its outbox records left behind (`crash_after_send_rate`).
    dies_after_send: bool,
}

pub struct Dispatcher {
    sinks: Sinks,
    /// Where the deliveries' outbox records are removed once handed over.
    outbox: Option<Arc<dyn Store>>,
    faults: NotificationFaults,
    rng: ChaCha8Rng,
    who: Identity,
    held: Vec<Doc>,
    stats: Arc<NotifyStats>,
}

impl Dispatcher {
    pub fn new(sinks: Sinks, faults: NotificationFaults, seed: u64, who: Identity, stats: Arc<NotifyStats>) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f74);
        Dispatcher { sinks, outbox: None, faults, rng, who, held: vec![], stats }
    }

    /// Removes each delivery's outbox record from `store` once it is handed over.
    pub fn with_outbox(mut self, store: Arc<dyn Store>) -> Self {
        self.outbox = Some(store);
        self
    }

    /// Runs until both channels close.
    pub async fn run(
        mut self,
        mut deliveries: mpsc::UnboundedReceiver<Delivery>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        loop {
            tokio::select! {
                d = deliveries.recv() => {
                    let Some(d) = d else { break };
                    let mut batch = vec![d];
                    while let Ok(more) = deliveries.try_recv() {
                        batch.push(more);
                    }
                    self.process(batch).await;
                }
                c = control.recv() => match c {
                    Some(Control::Flush(done)) => {
                        let mut batch = vec![];
                        while let Ok(more) = deliveries.try_recv() {
                            batch.push(more);
                        }
                        self.process(batch).await;
                        self.release_held().await;
                        let _ = done.send(());
                    }
                    Some(Control::SetFaults(f)) => self.faults = f,
                    None => break,
                },
                _ = tokio::time::sleep(Duration::from_millis(250)), if !self.held.is_empty() => {
                    self.release_held().await;
                }
            }
        }
    }

    async fn process(&mut self, mut batch: Vec<Delivery>) {
        if self.faults.crash_rate > 0.0 {
            let rate = self.faults.crash_rate;
            let rng = &mut self.rng;
            let before = batch.len();
            batch.retain(|d| d.test || rng.random::<f64>() >= rate);
            self.stats.crashed.fetch_add((before - batch.len()) as u64, Ordering::SeqCst);
        }
        let released_later = std::mem::take(&mut self.held);
        let mut docs = Vec::new();
        let mut i = 0;
        let batch_max = self.faults.batch_max.max(1);
        while i < batch.len() {
            let d = &batch[i];
            // Gather following deliveries to the same place into one document.
            let mut events = d.events.clone();
            let mut from = vec![(d.at_ms, d.id.clone())];
            let mut j = i + 1;
            if !d.test {
                while j < batch.len()
                    && events.len() < batch_max
                    && !batch[j].test
                    && batch[j].destination == d.destination
                    && batch[j].transport == d.transport
                    && batch[j].version == d.version
                {
                    events.extend(batch[j].events.iter().cloned());
                    from.push((batch[j].at_ms, batch[j].id.clone()));
                    j += 1;
                }
            }
            // Drawn either way, so that the faults' draws stay as they were.
            let drawn = crate::ids::event_doc_id(&mut self.rng);
            let doc_id = if d.test || d.id.is_empty() { drawn } else { d.id.clone() };
            if d.test {
                from.clear();
            }
            let body = document(&events, &d.version, &doc_id, &self.who);
            let subject = events.first().map(|e| e.timestamp_ms.to_string()).unwrap_or_default();
            // Drawn only when asked for, so that other faults' draws stay as they were.
            let rate = self.faults.crash_after_send_rate;
            let dies_after_send = !d.test && rate > 0.0 && self.rng.random::<f64>() < rate;
            docs.push((
                d.test,
                Doc {
                    from,
                    destination: d.destination.clone(),
                    transport: d.transport.clone(),
                    body,
                    events: events.len(),
                    subject,
                    dies_after_send,
                },
            ));
            i = j;
        }
        for (test, doc) in docs {
            if test {
                self.send(&doc).await;
                continue;
            }
            if self.rng.random::<f64>() < self.faults.drop_rate {
                // Lost after it was handed over (as SQS could lose it).
                self.stats.dropped.fetch_add(1, Ordering::SeqCst);
                self.handed_over(&doc).await;
                continue;
            }
            if self.rng.random::<f64>() < self.faults.duplicate_rate {
                self.stats.duplicated.fetch_add(1, Ordering::SeqCst);
                self.held.push(doc.clone());
            }
            if self.rng.random::<f64>() < self.faults.reorder_rate {
                self.stats.reordered.fetch_add(1, Ordering::SeqCst);
                self.held.push(doc);
            } else {
                self.send(&doc).await;
            }
        }
        // Whatever was held back from an earlier batch now goes after this one.
        for doc in released_later {
            self.send(&doc).await;
        }
    }

    async fn release_held(&mut self) {
        let mut held = std::mem::take(&mut self.held);
        // Shuffle so duplicates and held documents also arrive out of order.
        for k in (1..held.len()).rev() {
            let j = self.rng.random_range(0..=k);
            held.swap(k, j);
        }
        for doc in held {
            self.send(&doc).await;
        }
    }

    async fn send(&self, doc: &Doc) {
        // Err((why, worth trying again)): a send that failed may succeed
        // later; one with nowhere to go never will.
        let result = match (doc.transport.as_str(), &self.sinks.sqs, &self.sinks.sns) {
            ("SQS", Some(sqs), _) => {
                let sent = sqs.send_message().queue_url(&doc.destination).message_body(&doc.body).send().await;
                sent.map(|_| ()).map_err(|e| (format!("{e:?}"), true))
            }
            ("SNS", _, Some(sns)) => {
                let publish = sns.publish().topic_arn(&doc.destination).message(&doc.body).subject(&doc.subject);
                publish.send().await.map(|_| ()).map_err(|e| (format!("{e:?}"), true))
            }
            ("SQS" | "SNS", _, _) => Err((format!("no AWS endpoint configured for {}", doc.transport), false)),
            (other, _, _) => Err((format!("transport {other} cannot be delivered"), false)),
        };
        match result {
            Ok(()) => {
                self.stats.documents_sent.fetch_add(1, Ordering::SeqCst);
                self.stats.events_sent.fetch_add(doc.events as u64, Ordering::SeqCst);
                if doc.dies_after_send {
                    self.stats.crashed_after_send.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                self.handed_over(doc).await;
            }
            Err((e, retry)) => {
                self.stats.failed.fetch_add(1, Ordering::SeqCst);
                tracing::warn!(destination = %doc.destination, error = %e, "notification delivery failed");
                // Kept in the outbox for the pass to try again, if that can help.
                if !retry {
                    self.handed_over(doc).await;
                }
            }
        }
    }

    /// The document's outbox records are done with.
    async fn handed_over(&self, doc: &Doc) {
        let (Some(store), false) = (&self.outbox, doc.from.is_empty()) else { return };
        if let Err(e) = store.outbox_sent(&doc.from).await {
            // Left in the outbox: the pass sends it again, with the same EventDocId.
            tracing::warn!(error = %e, "could not clear a sent notification from the outbox");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_have_the_real_shape() {
        let e = EventRecord {
            event_type: "AssignmentSubmitted".into(),
            timestamp_ms: 1_565_385_436_000,
            hit_id: "H1".into(),
            hit_type_id: "T1".into(),
            assignment_id: Some("A1".into()),
        };
        let who = Identity { customer_id: "AXYZ".into(), account_id: "123456789012".into() };
        let doc: Value = serde_json::from_str(&document(&[e], "2014-08-15", "abc", &who)).unwrap();
        assert_eq!(doc["EventDocVersion"], "2014-08-15");
        assert_eq!(doc["EventDocId"], "abc");
        assert_eq!(doc["Events"][0]["EventTimestamp"], "2019-08-09T21:17:16Z");
        assert_eq!(doc["Events"][0]["AssignmentId"], "A1");
        assert_eq!(doc["CustomerId"], "AXYZ");
    }
}
