//! Deciding an item from its answers. The rule is pure and sits behind one
//! interface: an item's answers and what is known of the workers go in, a
//! decision comes out. Today's rule is "k valid answers agree"; a
//! worker-quality model with confidence-based stopping plugs in here.

use std::collections::HashMap;

/// One answer as the rule sees it: who gave it, and the label (None when the
/// answer was invalid: it is kept but never counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub worker_id: String,
    pub label: Option<String>,
}

/// What is known about an item when deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemState<'a> {
    /// Answers in the order they were submitted.
    pub votes: &'a [Vote],
    /// Assignments bought so far for this item.
    pub bought: u32,
    /// Assignments bought that may still bring an answer (accepted or open).
    pub outstanding: u32,
}

/// What is known about workers (empty for the agreement rule).
#[derive(Debug, Clone, Default)]
pub struct WorkerKnowledge {
    pub accuracy: HashMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Enough agreement: the item is labeled.
    Labeled { label: String, agreed: u32 },
    /// Answers may still come: do nothing yet.
    Wait,
    /// Buy this many more assignments.
    Buy(u32),
    /// No agreement and no more assignments allowed.
    Unresolved,
}

pub trait DecisionRule: Send + Sync {
    fn decide(&self, item: &ItemState<'_>, workers: &WorkerKnowledge) -> Decision;
}

/// "Add an assignment until `agreement` workers agree", at most
/// `max_assignments` per item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgreementRule {
    pub agreement: u32,
    pub max_assignments: u32,
}

impl DecisionRule for AgreementRule {
    fn decide(&self, item: &ItemState<'_>, _workers: &WorkerKnowledge) -> Decision {
        let mut counts: Vec<(&str, u32)> = Vec::new();
        // The first label to reach the threshold wins (a later tie cannot undo it).
        for v in item.votes {
            let Some(label) = v.label.as_deref() else { continue };
            let n = match counts.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((label, 1));
                    1
                }
            };
            if n >= self.agreement {
                return Decision::Labeled { label: label.to_string(), agreed: n };
            }
        }
        if item.outstanding > 0 {
            return Decision::Wait;
        }
        if item.bought < self.max_assignments {
            let best = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
            let needed = self.agreement.saturating_sub(best).max(1);
            return Decision::Buy(needed.min(self.max_assignments - item.bought));
        }
        Decision::Unresolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn votes(labels: &[Option<&str>]) -> Vec<Vote> {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| Vote { worker_id: format!("W{i}"), label: l.map(str::to_string) })
            .collect()
    }

    fn decide(labels: &[Option<&str>], bought: u32, outstanding: u32) -> Decision {
        let v = votes(labels);
        AgreementRule { agreement: 2, max_assignments: 9 }
            .decide(&ItemState { votes: &v, bought, outstanding }, &WorkerKnowledge::default())
    }

    #[test]
    fn two_agreeing_answers_label_the_item() {
        assert_eq!(decide(&[Some("a"), Some("a")], 2, 0), Decision::Labeled { label: "a".into(), agreed: 2 });
        assert_eq!(
            decide(&[Some("a"), Some("b"), Some("b")], 3, 0),
            Decision::Labeled { label: "b".into(), agreed: 2 }
        );
    }

    #[test]
    fn waits_for_outstanding_work_then_buys_one_more() {
        assert_eq!(decide(&[Some("a")], 2, 1), Decision::Wait);
        assert_eq!(decide(&[Some("a"), Some("b")], 2, 0), Decision::Buy(1));
        assert_eq!(decide(&[], 2, 0), Decision::Buy(2), "nothing came back: buy what agreement needs");
    }

    #[test]
    fn invalid_answers_never_count() {
        assert_eq!(decide(&[Some("a"), None, None], 3, 0), Decision::Buy(1));
    }

    #[test]
    fn gives_up_at_the_cap() {
        let all: Vec<_> = ["a", "b", "c", "d", "e", "f", "g", "h", "i"].iter().map(|l| Some(*l)).collect();
        assert_eq!(decide(&all, 9, 0), Decision::Unresolved);
        assert_eq!(decide(&[Some("a"), Some("b")], 8, 0), Decision::Buy(1), "never past the cap");
    }
}
