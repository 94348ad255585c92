//! collect: an MTurk notification document names HITs (and, for a submitted
//! assignment, the assignment): each HIT's item is brought up to date once.
//! Notifications are hints: a duplicate, a late one or one for a HIT that is
//! not hitloop's does nothing, because the state read decides.

use std::collections::BTreeMap;

use hitloop_core::error::Result;
use hitloop_core::events::NotificationDoc;
use hitloop_core::plan::reconcile::Outcome;

use crate::steps::reconcile::{on_notification, CollectDeps};

/// The HITs a document is about, each with the one submitted assignment it
/// names (None when it names none, or several).
pub fn hits_of(doc: &NotificationDoc) -> BTreeMap<String, Option<String>> {
    #[derive(Default)]
    enum Named {
        #[default]
        None,
        One(String),
        Several,
    }
    let mut hits: BTreeMap<String, Named> = BTreeMap::new();
    for e in doc.events.iter().filter(|e| e.event_type != "Ping") {
        let Some(hit) = &e.hit_id else { continue };
        let slot = hits.entry(hit.clone()).or_default();
        let Some(a) = (e.event_type == "AssignmentSubmitted").then(|| e.assignment_id.clone()).flatten() else {
            continue;
        };
        *slot = match std::mem::take(slot) {
            Named::None => Named::One(a),
            Named::One(b) if b == a => Named::One(b),
            _ => Named::Several,
        };
    }
    hits.into_iter()
        .map(|(h, n)| match n {
            Named::One(a) => (h, Some(a)),
            _ => (h, None),
        })
        .collect()
}

pub async fn collect(deps: &CollectDeps, doc: &NotificationDoc) -> Result<Vec<(String, Outcome)>> {
    let mut outcomes = Vec::new();
    for (hit, assignment) in hits_of(doc) {
        let outcome = on_notification(deps, &hit, assignment.as_deref()).await?;
        tracing::info!(hit_id = %hit, ?outcome, "collect");
        outcomes.push((hit, outcome));
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hitloop_core::events::MturkEvent;

    fn event(kind: &str, hit: &str, assignment: Option<&str>) -> MturkEvent {
        MturkEvent { event_type: kind.into(), hit_id: Some(hit.into()), assignment_id: assignment.map(str::to_string) }
    }

    #[test]
    fn each_hit_once_with_its_submitted_assignment() {
        let doc = NotificationDoc {
            event_doc_id: None,
            events: vec![
                event("AssignmentSubmitted", "H1", Some("A1")),
                event("HITReviewable", "H1", None),
                event("AssignmentSubmitted", "H2", Some("A2")),
                event("AssignmentSubmitted", "H2", Some("A3")),
                event("AssignmentSubmitted", "H2", Some("A5")),
                event("AssignmentReturned", "H3", Some("A4")),
                event("Ping", "H4", None),
            ],
        };
        let hits = hits_of(&doc);
        assert_eq!(hits["H1"].as_deref(), Some("A1"));
        assert_eq!(hits["H2"], None, "two assignments: read the whole HIT");
        assert_eq!(hits["H3"], None, "a returned assignment has no answer to read");
        assert!(!hits.contains_key("H4"));
    }
}
