//! Gold items: manifest rows whose label is known, marked by a `gold`
//! column holding one of the job's labels. The worker model pins them to
//! that label, so they teach it what each worker gets right; they get the
//! job's first assignments and no more, and are left out of its outputs.

use crate::decision::{Action, Decision, DecisionRule, Evidence};
use crate::job::JobSpec;
use crate::records::Item;

/// The manifest column that marks an item as gold: its known label.
pub const GOLD_COLUMN: &str = "gold";

/// The item's gold label's index, if its manifest row gives one of the
/// job's labels.
pub fn gold_of(spec: &JobSpec, item: &Item) -> Option<usize> {
    let g = item.values.get(GOLD_COLUMN)?.trim();
    spec.labels.iter().position(|l| l == g)
}

/// How a gold item is decided: its label is known, so its answers are
/// bought only to measure the workers who give them (the job's first
/// assignments, never more); once they are in, it takes the known label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldRule {
    pub label: String,
}

impl DecisionRule for GoldRule {
    fn decide(&self, e: &Evidence<'_>) -> Decision {
        if e.outstanding > 0 {
            return Decision { action: Action::Wait, confidence: Some(1.0) };
        }
        let agreed = e.answers.iter().filter(|a| a.label.as_deref() == Some(self.label.as_str())).count() as u32;
        Decision { action: Action::Label { label: self.label.clone(), agreed }, confidence: Some(1.0) }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::records::AnswerRecord;

    #[test]
    fn a_gold_item_takes_its_label_once_its_answers_are_in_and_buys_nothing_more() {
        let spec = JobSpec::parse(r#"{"labels": ["cat", "dog"]}"#).unwrap();
        let mut item = Item::pending("j", "g", 2, [("gold".to_string(), " dog ".to_string())].into(), 0);
        assert_eq!(gold_of(&spec, &item), Some(1));
        item.values.insert("gold".into(), "bird".into());
        assert_eq!(gold_of(&spec, &item), None, "not one of the job's labels: an ordinary item");
        let answers = vec![AnswerRecord {
            assignment_id: "A".into(),
            worker_id: "W".into(),
            label: Some("cat".into()),
            invalid_reason: None,
            submitted_at: 0,
        }];
        let workers = BTreeMap::new();
        let rule = GoldRule { label: "dog".into() };
        let e = |outstanding| Evidence { answers: &answers, workers: &workers, bought: 2, outstanding };
        assert_eq!(rule.decide(&e(1)).action, Action::Wait);
        assert_eq!(rule.decide(&e(0)).action, Action::Label { label: "dog".into(), agreed: 0 }, "the worker was wrong");
    }
}
