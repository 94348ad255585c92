//! How often each worker's answers matched the job's final labels: the
//! `workers.csv` a finished job writes, and what `hitloop workforce workers
//! --job` reads back to show beside each worker's figures.

use std::collections::BTreeMap;

use crate::quality::WorkerQuality;
use crate::records::{Item, WorkerStanding};

/// One worker on one job (or summed over jobs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerAgreement {
    pub worker_id: String,
    /// Valid answers (an invalid one is kept on the item, never counted).
    pub answers: u32,
    /// Of those, answers to items that got a label.
    pub on_labeled: u32,
    /// Of those, answers that were the label.
    pub agreed: u32,
    /// Why jobs blocked the worker for their gold answers (workers.csv's
    /// `blocked`, one entry per job that did).
    pub blocked: Vec<String>,
}

impl WorkerAgreement {
    /// The share of answers on labeled items that were the label.
    pub fn agreement(&self) -> Option<f64> {
        (self.on_labeled > 0).then(|| f64::from(self.agreed) / f64::from(self.on_labeled))
    }

    pub fn add(&mut self, other: &WorkerAgreement) {
        self.answers += other.answers;
        self.on_labeled += other.on_labeled;
        self.agreed += other.agreed;
        self.blocked.extend(other.blocked.iter().cloned());
    }
}

/// Every worker who answered, by worker id.
pub fn agreement_by_worker(items: &[Item]) -> Vec<WorkerAgreement> {
    let mut by_worker: BTreeMap<&str, WorkerAgreement> = BTreeMap::new();
    for item in items {
        for a in &item.answers {
            let Some(label) = &a.label else { continue };
            let w = by_worker
                .entry(a.worker_id.as_str())
                .or_insert_with(|| WorkerAgreement { worker_id: a.worker_id.clone(), ..Default::default() });
            w.answers += 1;
            if let Some(final_label) = &item.label {
                w.on_labeled += 1;
                w.agreed += u32::from(label == final_label);
            }
        }
    }
    by_worker.into_values().collect()
}

const HEADER: [&str; 9] = [
    "worker_id",
    "answers",
    "answers_on_labeled_items",
    "agreed_with_label",
    "agreement",
    "estimated_accuracy",
    "gold_answers",
    "gold_accuracy",
    "blocked",
];

/// workers.csv: worker id, answers, answers on labeled items, how many were
/// the label, and that share (four decimals; empty when none was labeled);
/// then what the worker model says of them: estimated accuracy, answers on
/// gold items and the share of those that were the known label; and why
/// the job blocked them, if it did (a blocked worker's answers are not in
/// the model: no estimate; their gold record is the job's).
pub fn workers_csv(
    rows: &[WorkerAgreement],
    quality: &BTreeMap<String, WorkerQuality>,
    standings: &[WorkerStanding],
) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).map_err(|e| e.to_string())?;
    let four = |v: Option<f64>| v.map(|a| format!("{a:.4}")).unwrap_or_default();
    for r in rows {
        let standing = standings.iter().find(|s| s.worker_id == r.worker_id);
        let q = quality.get(&r.worker_id).cloned().or_else(|| {
            standing.map(|s| WorkerQuality {
                estimated_accuracy: f64::NAN,
                gold_answers: s.gold_answers,
                gold_right: s.gold_correct,
            })
        });
        let estimate = q.as_ref().map(|q| q.estimated_accuracy).filter(|a| a.is_finite());
        w.write_record([
            r.worker_id.as_str(),
            &r.answers.to_string(),
            &r.on_labeled.to_string(),
            &r.agreed.to_string(),
            &four(r.agreement()),
            &four(estimate),
            &q.as_ref().map_or(0, |q| q.gold_answers).to_string(),
            &four(q.as_ref().and_then(WorkerQuality::gold_accuracy)),
            standing.and_then(|s| s.blocked.as_deref()).unwrap_or(""),
        ])
        .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Reads workers.csv back (the columns by name, so later columns may come).
pub fn parse_workers_csv(bytes: &[u8]) -> Result<Vec<WorkerAgreement>, String> {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().map_err(|e| e.to_string())?.clone();
    let at =
        |name: &str| header.iter().position(|h| h == name).ok_or_else(|| format!("workers.csv has no {name} column"));
    let (worker, answers, on_labeled, agreed) =
        (at("worker_id")?, at("answers")?, at("answers_on_labeled_items")?, at("agreed_with_label")?);
    // Written since jobs could block workers: absent from older files.
    let blocked = at("blocked").ok();
    let mut out = Vec::new();
    for (line, record) in r.records().enumerate() {
        let record = record.map_err(|e| e.to_string())?;
        let number = |i: usize| {
            record
                .get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("workers.csv line {}: not a count", line + 2))
        };
        out.push(WorkerAgreement {
            worker_id: record.get(worker).unwrap_or_default().to_string(),
            answers: number(answers)?,
            on_labeled: number(on_labeled)?,
            agreed: number(agreed)?,
            blocked: blocked
                .and_then(|i| record.get(i))
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .into_iter()
                .collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::AnswerRecord;

    fn item(label: Option<&str>, answers: &[(&str, Option<&str>)]) -> Item {
        let mut i = Item::pending("j", "1", 2, Default::default(), 0);
        i.label = label.map(str::to_string);
        i.answers = answers
            .iter()
            .enumerate()
            .map(|(n, (w, l))| AnswerRecord {
                assignment_id: format!("A{n}"),
                worker_id: w.to_string(),
                label: l.map(str::to_string),
                invalid_reason: l.is_none().then(|| "empty".to_string()),
                submitted_at: 0,
            })
            .collect();
        i
    }

    #[test]
    fn agreement_counts_valid_answers_on_labeled_items() {
        let items = [
            item(Some("a"), &[("W1", Some("a")), ("W2", Some("b")), ("W3", None)]),
            item(Some("b"), &[("W1", Some("b")), ("W2", Some("b"))]),
            item(None, &[("W1", Some("a")), ("W2", Some("c"))]),
        ];
        let rows = agreement_by_worker(&items);
        assert_eq!(rows.len(), 2, "W3's only answer was invalid");
        assert_eq!((rows[0].answers, rows[0].on_labeled, rows[0].agreed), (3, 2, 2));
        assert_eq!((rows[1].answers, rows[1].on_labeled, rows[1].agreed), (3, 2, 1));
        assert_eq!(rows[1].agreement(), Some(0.5));
    }

    #[test]
    fn workers_csv_reads_back_what_it_wrote() {
        let rows = vec![
            WorkerAgreement { worker_id: "W1".into(), answers: 3, on_labeled: 2, agreed: 2, blocked: vec![] },
            WorkerAgreement { worker_id: "W2".into(), answers: 1, on_labeled: 0, agreed: 0, blocked: vec![] },
        ];
        let quality = BTreeMap::from([(
            "W1".to_string(),
            WorkerQuality { estimated_accuracy: 0.91234, gold_answers: 4, gold_right: 3 },
        )]);
        let blocked = WorkerStanding {
            worker_id: "W2".into(),
            gold_answers: 5,
            gold_correct: 1,
            blocked: Some("1 of 5 right".into()),
            blocked_at: Some(1),
        };
        let text = String::from_utf8(workers_csv(&rows, &quality, &[blocked]).unwrap()).unwrap();
        assert_eq!(
            text,
            "worker_id,answers,answers_on_labeled_items,agreed_with_label,agreement,estimated_accuracy,gold_answers,gold_accuracy,blocked\nW1,3,2,2,1.0000,0.9123,4,0.7500,\nW2,1,0,0,,,5,0.2000,1 of 5 right\n"
        );
        let mut expected = rows.clone();
        expected[1].blocked = vec!["1 of 5 right".into()];
        assert_eq!(parse_workers_csv(text.as_bytes()).unwrap(), expected);
        let older = b"worker_id,answers,answers_on_labeled_items,agreed_with_label\nW1,3,2,2\n";
        assert!(parse_workers_csv(older).unwrap()[0].blocked.is_empty(), "a file from before blocking reads");
        assert!(parse_workers_csv(b"worker_id,answers\nW1,3\n").unwrap_err().contains("answers_on_labeled_items"));
        assert!(parse_workers_csv(b"worker_id,answers,answers_on_labeled_items,agreed_with_label\nW1,x,1,1\n")
            .unwrap_err()
            .contains("line 2"));
    }
}
