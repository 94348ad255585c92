//! collect: MTurk notification documents name HITs (and, for a submitted
//! assignment, the assignment): each HIT's item is brought up to date once
//! per batch of documents, whatever the documents say about it, and two
//! HITs at once at most `CONCURRENCY` at a time, never the same HIT twice at
//! once. Notifications are hints: a duplicate, a late one or one for a HIT
//! that is not hitloop's does nothing, because the state read decides.

use std::collections::{BTreeMap, BTreeSet};

use hitloop_core::error::Error;
use hitloop_core::error::Result;
use hitloop_core::events::NotificationDoc;
use hitloop_core::job::ConsensusMethod;
use hitloop_core::plan::reconcile::Outcome;

use crate::steps::reconcile::{judge_guessers, notification, on_notification, CollectDeps};
use crate::steps::refit::refit_job;

/// The HITs a document is about, each with the one submitted assignment it
/// names (None when it names none, or several).
pub fn hits_of(doc: &NotificationDoc) -> BTreeMap<String, Option<String>> {
    let mut hits: BTreeMap<String, Named> = BTreeMap::new();
    name_hits(doc, &mut hits);
    hits.into_iter().map(|(h, n)| (h, n.one())).collect()
}

/// What a set of documents says of a HIT's submitted assignments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Named {
    #[default]
    None,
    One(String),
    /// Several: the whole HIT is read.
    Several,
}

impl Named {
    fn with(self, assignment: String) -> Named {
        match self {
            Named::None => Named::One(assignment),
            Named::One(a) if a == assignment => Named::One(a),
            _ => Named::Several,
        }
    }

    fn one(self) -> Option<String> {
        match self {
            Named::One(a) => Some(a),
            _ => None,
        }
    }
}

fn name_hits(doc: &NotificationDoc, hits: &mut BTreeMap<String, Named>) {
    for e in doc.events.iter().filter(|e| e.event_type != "Ping") {
        let Some(hit) = &e.hit_id else { continue };
        let slot = hits.entry(hit.clone()).or_default();
        if let Some(a) = (e.event_type == "AssignmentSubmitted").then(|| e.assignment_id.clone()).flatten() {
            *slot = std::mem::take(slot).with(a);
        }
    }
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

/// HITs at once.
pub const CONCURRENCY: usize = 4;

/// A batch of documents (each with the id of the message that brought it):
/// each HIT named brought up to date once; the result of each message (it
/// fails if a HIT it names could not be brought up to date).
pub async fn collect_batch<Id: Clone + Ord>(
    deps: &CollectDeps,
    docs: &[(Id, NotificationDoc)],
) -> Vec<(Id, Result<()>)> {
    use futures::stream::{self, StreamExt};
    // HIT -> what the batch says of it, and the messages naming it.
    let mut named: BTreeMap<String, Named> = BTreeMap::new();
    let mut by_hit: BTreeMap<String, Vec<Id>> = BTreeMap::new();
    for (id, doc) in docs {
        let mut of_doc = BTreeMap::new();
        name_hits(doc, &mut of_doc);
        for (hit, n) in of_doc {
            let slot = named.entry(hit.clone()).or_default();
            *slot = match (std::mem::take(slot), n) {
                (s, Named::None) => s,
                (s, Named::One(a)) => s.with(a),
                (_, Named::Several) => Named::Several,
            };
            by_hit.entry(hit).or_default().push(id.clone());
        }
    }
    let hits: Vec<(String, Option<String>, Vec<Id>)> = by_hit
        .into_iter()
        .map(|(hit, ids)| {
            let one = named.remove(&hit).and_then(Named::one);
            (hit, one, ids)
        })
        .collect();
    let done: Vec<(Vec<Id>, Result<Option<String>>)> = stream::iter(hits)
        .map(|(hit, assignment, ids)| async move {
            let outcome = notification(deps, &hit, assignment.as_deref()).await;
            match &outcome {
                Ok((o, _)) => tracing::info!(hit_id = %hit, outcome = ?o, "collect"),
                Err(e) => tracing::warn!(hit_id = %hit, error = %e, "collect"),
            }
            (ids, outcome.map(|(_, job)| job))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut failed: BTreeMap<Id, Error> = BTreeMap::new();
    let mut jobs: BTreeSet<String> = BTreeSet::new();
    for (ids, result) in done {
        match result {
            Ok(job) => jobs.extend(job),
            Err(e) => failed.extend(ids.into_iter().map(|id| (id, e.clone()))),
        }
    }
    refit_touched(deps, &jobs).await;
    docs.iter().map(|(id, _)| (id.clone(), failed.get(id).cloned().map_or(Ok(()), Err))).collect()
}

/// Items a refit takes from collect, per job and batch (sweep takes the rest).
pub const REFIT_ITEMS: usize = 200;

/// The confidence jobs the batch touched count the answers it recorded at
/// once, so the next decision weighs them: one read of the refit index per
/// job when nothing is new. A refit that loses a race to another batch's
/// leaves the answers to that one (or to sweep); an error is only logged:
/// the answers stay marked, sweep counts them.
async fn refit_touched(deps: &CollectDeps, jobs: &BTreeSet<String>) {
    for job_id in jobs {
        let spec = match deps.specs.get(deps.store.as_ref(), job_id).await {
            Ok(Some(spec)) if spec.consensus.method == ConsensusMethod::Confidence => spec,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(%job_id, error = %e, "collect could not read the job to refit it");
                continue;
            }
        };
        match refit_job(deps.store.as_ref(), job_id, &spec, REFIT_ITEMS).await {
            Ok(r) => {
                if r.items > 0 {
                    tracing::info!(%job_id, items = r.items, "worker model refitted");
                }
                // Sweep judges again whoever a failure here leaves unjudged
                // (its refit moves them once more, or the check below does).
                if let Err(e) = judge_guessers(deps, &spec, job_id, &r.moved).await {
                    tracing::warn!(%job_id, error = %e, "collect could not judge the workers the refit moved");
                }
            }
            Err(e) => tracing::warn!(%job_id, error = %e, "collect could not refit the job's worker model"),
        }
    }
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

    #[test]
    fn a_submitted_assignment_is_named_across_documents() {
        let mut hits = BTreeMap::new();
        let doc = |events| NotificationDoc { event_doc_id: None, events };
        name_hits(&doc(vec![event("HITReviewable", "H1", None)]), &mut hits);
        name_hits(&doc(vec![event("AssignmentSubmitted", "H1", Some("A1"))]), &mut hits);
        assert_eq!(hits["H1"], Named::One("A1".into()), "a HITReviewable names none");
        name_hits(&doc(vec![event("AssignmentSubmitted", "H1", Some("A2"))]), &mut hits);
        assert_eq!(hits["H1"], Named::Several);
        name_hits(&doc(vec![event("AssignmentSubmitted", "H1", Some("A1"))]), &mut hits);
        assert_eq!(hits["H1"], Named::Several, "several stays several");
    }
}
