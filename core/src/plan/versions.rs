//! report.json's `models`: per model version, its training job, the rows it
//! trained on, its held-out accuracy, and for a retrain each verification it
//! learned from: the rows people labeled, what that cost, and what labeling
//! every row of the batch would have cost at the job's own price per item.

use serde::{Deserialize, Serialize};

use crate::money::Usd;
use crate::records::Job;
use crate::training::SplitLayout;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionReport {
    pub version: u32,
    pub training_job: String,
    pub train_rows: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out_accuracy: Option<f64>,
    /// A retrain's verified batches (usually one; every batch verified
    /// since the version before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verifications: Vec<VerificationCost>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationCost {
    pub job: String,
    pub batch: String,
    pub batch_rows: u64,
    pub verified_rows: u64,
    pub cost_usd: Usd,
    /// The batch's every row bought at the labeling job's cost per item.
    pub labeling_every_row_usd: Usd,
}

/// The rows of a training file (without a header row, if it has one).
pub fn train_rows(csv: &str, layout: SplitLayout) -> usize {
    let lines = csv.lines().filter(|l| !l.trim().is_empty()).count();
    match layout {
        SplitLayout::Header => lines.saturating_sub(1),
        _ => lines,
    }
}

/// What labeling `rows` items cost the job, at its average per item.
pub fn labeling_cost(job: &Job, rows: u64) -> Usd {
    if job.items == 0 {
        return Usd::ZERO;
    }
    let per_item = job.spent.cents() as f64 / job.items as f64;
    Usd::from_cents((per_item * rows as f64).round() as i64)
}

/// report.json with `entry` in its `models` (replacing the same version's:
/// writing it again changes nothing), in version order.
pub fn with_version(mut report: serde_json::Value, entry: &ModelVersionReport) -> serde_json::Value {
    let mut models: Vec<ModelVersionReport> =
        serde_json::from_value(report.get("models").cloned().unwrap_or_default()).unwrap_or_default();
    models.retain(|m| m.version != entry.version);
    models.push(entry.clone());
    models.sort_by_key(|m| m.version);
    if let Some(object) = report.as_object_mut() {
        object.insert("models".into(), serde_json::to_value(&models).unwrap_or_default());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::JobStatus;

    fn entry(version: u32) -> ModelVersionReport {
        ModelVersionReport {
            version,
            training_job: format!("t{version}"),
            train_rows: 40,
            held_out_accuracy: Some(0.9),
            verifications: Vec::new(),
        }
    }

    #[test]
    fn versions_are_listed_once_each_in_order() {
        let r = with_version(serde_json::json!({"items": 50}), &entry(2));
        let r = with_version(r, &entry(1));
        let r = with_version(r, &entry(2));
        let versions: Vec<u64> =
            r["models"].as_array().unwrap().iter().map(|m| m["version"].as_u64().unwrap()).collect();
        assert_eq!(versions, [1, 2]);
        assert_eq!(r["items"], 50, "the rest of the report stays");
    }

    #[test]
    fn rows_and_money() {
        assert_eq!(train_rows("0,1\n1,2\n\n", SplitLayout::LabelFirst), 2);
        assert_eq!(train_rows("x,label\n1,a\n", SplitLayout::Header), 1);
        let mut job = Job::new(
            "j",
            JobStatus::Deployed,
            JobSpec::parse(r#"{"labels": ["a", "b"]}"#).unwrap(),
            String::new(),
            "k",
            "e",
            50,
        );
        job.spent = Usd::from_cents(714);
        assert_eq!(labeling_cost(&job, 100), Usd::from_cents(1428));
    }
}
