//! What a finished job yields, as files: every item with its label
//! (`labels.csv`), the labeled items in SageMaker Ground Truth's output
//! manifest format (`manifest.jsonl`), a stratified train/test split in the
//! layout training asks for, and a report. Pure functions of the job and its
//! items, so that two invocations racing write the same bytes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::job::ConsensusMethod;
use crate::money::Usd;
use crate::quality::JobFit;
use crate::records::{Item, ItemStatus, Job};
use crate::training::{SplitLayout, TrainingSpec};

/// The columns labels.csv adds after the manifest's.
const RESULT_COLUMNS: [&str; 5] = ["label", "confidence", "answers", "agreed", "status"];

/// Where a job's outputs go, under its prefix.
pub struct OutputKeys {
    pub prefix: String,
    pub labels: String,
    /// Each worker's agreement with the final labels (`worker_agreement`).
    pub workers: String,
    pub manifest: String,
    pub report: String,
    pub train_prefix: String,
    pub train: String,
    pub test_prefix: String,
    pub test: String,
    pub model_prefix: String,
}

impl OutputKeys {
    pub fn of(job_id: &str) -> OutputKeys {
        let prefix = format!("jobs/{job_id}/output/");
        OutputKeys {
            labels: format!("{prefix}labels.csv"),
            workers: format!("{prefix}workers.csv"),
            manifest: format!("{prefix}manifest.jsonl"),
            report: format!("{prefix}report.json"),
            train_prefix: format!("{prefix}train/"),
            train: format!("{prefix}train/train.csv"),
            test_prefix: format!("{prefix}test/"),
            test: format!("{prefix}test/test.csv"),
            model_prefix: format!("{prefix}model/"),
            prefix,
        }
    }
}

/// Items in manifest order.
pub fn in_manifest_order(items: &mut [Item]) {
    items.sort_by(|a, b| a.line.cmp(&b.line).then_with(|| a.item_id.cmp(&b.item_id)));
}

/// The manifest's columns other than `id`, from the job, or (for a job
/// recorded without them) from the items.
pub fn value_columns(job: &Job, items: &[Item]) -> Vec<String> {
    let mut columns = job.columns.clone();
    if columns.is_empty() {
        let mut all = std::collections::BTreeSet::new();
        for i in items {
            all.extend(i.values.keys().cloned());
        }
        columns = all.into_iter().collect();
    }
    columns.retain(|c| c != "id");
    columns
}

/// labels.csv: id, the manifest's columns, label, confidence (the rule's,
/// four decimals: a confidence job's is the model's probability of the
/// label), answers, agreed, status.
/// A manifest column named like one of hitloop's is written `manifest:<name>`.
pub fn labels_csv(columns: &[String], items: &[Item]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["id".to_string()];
    header.extend(columns.iter().map(|c| {
        if RESULT_COLUMNS.contains(&c.as_str()) {
            format!("manifest:{c}")
        } else {
            c.clone()
        }
    }));
    header.extend(RESULT_COLUMNS.iter().map(|c| c.to_string()));
    w.write_record(&header).map_err(|e| e.to_string())?;
    for i in items {
        let mut row = vec![i.item_id.clone()];
        row.extend(columns.iter().map(|c| i.values.get(c).cloned().unwrap_or_default()));
        row.push(i.label.clone().unwrap_or_default());
        row.push(i.label.as_ref().and(i.confidence).map(|c| format!("{c:.4}")).unwrap_or_default());
        row.push(i.answers.len().to_string());
        row.push(i.agreed.to_string());
        row.push(i.status.as_str().to_string());
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// The label attribute in the Ground Truth manifest: the answer field's name,
/// unless Ground Truth would refuse it.
pub fn label_attribute(field: &str) -> String {
    if field.is_empty() || field.ends_with("-ref") || field.contains("-metadata") {
        "label".into()
    } else {
        field.into()
    }
}

/// One line per labeled item: the item as a JSON object (id and manifest
/// values) plus `<attribute>` (the label's index in `labels`) and
/// `<attribute>-metadata`, as Ground Truth writes a classification job's
/// output. Unresolved items have no label and are left out (labels.csv and
/// the report list them).
pub fn ground_truth_manifest(job: &Job, columns: &[String], items: &[Item]) -> Result<Vec<u8>, String> {
    let attribute = label_attribute(&job.spec.answer.field);
    let kind = if columns.iter().any(|c| c == "source-ref") {
        "groundtruth/image-classification"
    } else {
        "groundtruth/text-classification"
    };
    let mut out = Vec::new();
    for i in items.iter().filter(|i| i.status == ItemStatus::Labeled) {
        let label = i.label.as_deref().unwrap_or_default();
        let index = label_index(&job.spec.labels, label)
            .ok_or_else(|| format!("item {:?} has the label {label:?}, which is not in labels", i.item_id))?;
        let mut object = Map::new();
        object.insert("id".into(), Value::String(i.item_id.clone()));
        for c in columns {
            if let Some(v) = i.values.get(c) {
                object.insert(c.clone(), Value::String(v.clone()));
            }
        }
        object.insert(attribute.clone(), json!(index));
        object.insert(
            format!("{attribute}-metadata"),
            json!({
                "class-name": label,
                "confidence": confidence(job, i),
                "type": kind,
                "job-name": format!("labeling-job/{}", job.job_id),
                "human-annotated": "yes",
                "creation-date": creation_date(i.updated_at),
            }),
        );
        serde_json::to_writer(&mut out, &Value::Object(object)).map_err(|e| e.to_string())?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Two decimals of a confidence job's probability of the label (the worker
/// model's), or of the share of the item's answers that agreed with it.
fn confidence(job: &Job, i: &Item) -> f64 {
    if job.spec.consensus.method == ConsensusMethod::Confidence {
        return (i.confidence.unwrap_or(0.0) * 100.0).round() / 100.0;
    }
    if i.answers.is_empty() {
        return 0.0;
    }
    (f64::from(i.agreed) / i.answers.len() as f64 * 100.0).round() / 100.0
}

fn creation_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

pub fn label_index(labels: &[String], label: &str) -> Option<usize> {
    labels.iter().position(|l| l == label)
}

/// Which labeled items go to test, per label: each label's items ordered by
/// a hash of (seed, item id), the first `round(n * test_fraction)` held out
/// (at least one kept for training when the label has two or more). The
/// order depends on nothing but the seed and the ids, so anyone can redo it.
pub struct Split<'a> {
    /// In hash order (a shuffle), labels interleaved.
    pub train: Vec<&'a Item>,
    pub test: Vec<&'a Item>,
}

pub fn split<'a>(items: &'a [Item], labels: &[String], test_fraction: f64, seed: u64) -> Split<'a> {
    let mut by_label: BTreeMap<usize, Vec<(u64, &Item)>> = BTreeMap::new();
    for i in items.iter().filter(|i| i.status == ItemStatus::Labeled) {
        let index = i.label.as_deref().and_then(|l| label_index(labels, l)).unwrap_or(usize::MAX);
        by_label.entry(index).or_default().push((split_key(seed, &i.item_id), i));
    }
    let mut train = Vec::new();
    let mut test = Vec::new();
    for members in by_label.values_mut() {
        members.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.item_id.cmp(&b.1.item_id)));
        let n = members.len();
        let mut n_test = ((n as f64) * test_fraction).round() as usize;
        if n >= 2 {
            n_test = n_test.min(n - 1);
        } else {
            n_test = 0;
        }
        for (k, (key, item)) in members.iter().enumerate() {
            if k < n_test {
                test.push((*key, *item));
            } else {
                train.push((*key, *item));
            }
        }
    }
    let order = |v: &mut Vec<(u64, &'a Item)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.item_id.cmp(&b.1.item_id)));
        v.iter().map(|(_, i)| *i).collect::<Vec<_>>()
    };
    Split { train: order(&mut train), test: order(&mut test) }
}

/// The first 8 bytes of SHA-256(seed as 8 big-endian bytes, item id).
pub fn split_key(seed: u64, item_id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    h.update(item_id.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

/// The train and test files.
pub struct SplitFiles {
    pub train: Vec<u8>,
    /// None when nothing is held out.
    pub test: Option<Vec<u8>>,
    pub summary: SplitSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitSummary {
    pub layout: SplitLayout,
    pub features: Vec<String>,
    pub test_fraction: f64,
    pub seed: u64,
    pub train_rows: usize,
    pub test_rows: usize,
    /// label -> [train, test]
    pub per_label: BTreeMap<String, [usize; 2]>,
}

/// Writes the split; an error says why the data cannot be trained on.
pub fn split_files(job: &Job, training: &TrainingSpec, items: &[Item]) -> Result<SplitFiles, String> {
    let labels = &job.spec.labels;
    let columns = if job.columns.is_empty() { value_columns(job, items) } else { job.columns.clone() };
    let features = training.feature_columns(&columns);
    let s = split(items, labels, training.test_fraction, training.seed);
    if s.train.is_empty() {
        return Err("no item was labeled, so there is nothing to train on".into());
    }
    let mut per_label: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    for (slot, rows) in [(0, &s.train), (1, &s.test)] {
        for i in rows.iter() {
            per_label.entry(i.label.clone().unwrap_or_default()).or_default()[slot] += 1;
        }
    }
    let train = rows_csv(&s.train, training.layout, &features, labels)?;
    let test = if s.test.is_empty() { None } else { Some(rows_csv(&s.test, training.layout, &features, labels)?) };
    Ok(SplitFiles {
        train,
        test,
        summary: SplitSummary {
            layout: training.layout,
            features,
            test_fraction: training.test_fraction,
            seed: training.seed,
            train_rows: s.train.len(),
            test_rows: s.test.len(),
            per_label,
        },
    })
}

pub(crate) fn rows_csv(
    rows: &[&Item],
    layout: SplitLayout,
    features: &[String],
    labels: &[String],
) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if layout == SplitLayout::Header {
        let mut header = features.to_vec();
        header.push("label".into());
        w.write_record(&header).map_err(|e| e.to_string())?;
    }
    for i in rows {
        let label = i.label.as_deref().unwrap_or_default();
        let index = label_index(labels, label)
            .ok_or_else(|| format!("item {:?} has the label {label:?}, which is not in labels", i.item_id))?;
        let mut values = Vec::with_capacity(features.len());
        for f in features {
            let Some(v) = i.values.get(f) else {
                return Err(format!(
                    "item {:?} (manifest line {}) has no value for the feature {f:?}",
                    i.item_id, i.line
                ));
            };
            if layout == SplitLayout::LabelFirst {
                let v = v.trim();
                if !v.parse::<f64>().is_ok_and(f64::is_finite) {
                    return Err(format!(
                        "item {:?} (manifest line {}): the feature {f} = {v:?} is not a number, and the label-first layout needs numbers",
                        i.item_id, i.line
                    ));
                }
                values.push(v.to_string());
            } else {
                values.push(v.clone());
            }
        }
        let record: Vec<String> = match layout {
            SplitLayout::LabelFirst => std::iter::once(index.to_string()).chain(values).collect(),
            SplitLayout::Header => values.into_iter().chain(std::iter::once(label.to_string())).collect(),
        };
        w.write_record(&record).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Serialize)]
pub struct UnresolvedItem {
    pub id: String,
    pub line: u64,
    pub answers: u32,
}

/// report.json.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub job_id: String,
    /// The job's output items (gold items are counted apart).
    pub items: usize,
    /// Items whose label was known (a `gold` column): they measured the
    /// workers and are in no other output.
    pub gold_items: usize,
    /// Workers the job blocked for their gold answers (workers.csv says why).
    pub workers_blocked: usize,
    pub labeled: usize,
    pub unresolved: usize,
    pub unresolved_items: Vec<UnresolvedItem>,
    /// label -> items labeled with it
    pub labels: BTreeMap<String, usize>,
    pub answers: u64,
    pub assignments_bought: u64,
    pub spent_usd: Usd,
    /// The share of the answers on labeled items that agreed with the label.
    pub agreement_rate: Option<f64>,
    pub mean_answers_per_item: Option<f64>,
    /// The mean confidence of the labeled items (labels.csv's column).
    pub mean_confidence: Option<f64>,
    /// The share of the labels the worker model expects to be right: the
    /// mean of its probability of each labeled item's label.
    pub estimated_accuracy: Option<f64>,
    pub split: Option<SplitSummary>,
    pub training_job: Option<String>,
    /// Why no training job is started, if one was asked for and cannot be.
    pub training_problem: Option<String>,
    pub files: BTreeMap<String, String>,
}

pub fn report(job: &Job, items: &[Item], fit: &JobFit) -> Report {
    let labeled: Vec<&Item> = items.iter().filter(|i| i.status == ItemStatus::Labeled).collect();
    let unresolved: Vec<UnresolvedItem> = items
        .iter()
        .filter(|i| i.status == ItemStatus::Unresolved)
        .map(|i| UnresolvedItem { id: i.item_id.clone(), line: i.line, answers: i.answers.len() as u32 })
        .collect();
    let mut labels: BTreeMap<String, usize> = job.spec.labels.iter().map(|l| (l.clone(), 0)).collect();
    for i in &labeled {
        *labels.entry(i.label.clone().unwrap_or_default()).or_default() += 1;
    }
    let agreed: u64 = labeled.iter().map(|i| u64::from(i.agreed)).sum();
    let on_labeled: u64 = labeled.iter().map(|i| i.answers.len() as u64).sum();
    let answers: u64 = items.iter().map(|i| i.answers.len() as u64).sum();
    let round4 = |x: f64| (x * 10_000.0).round() / 10_000.0;
    let mean =
        |values: Vec<f64>| (!values.is_empty()).then(|| round4(values.iter().sum::<f64>() / values.len() as f64));
    let confidences = labeled.iter().filter_map(|i| i.confidence).collect();
    let probabilities =
        labeled.iter().filter_map(|i| fit.probability(&i.item_id, i.label.as_deref().unwrap_or_default())).collect();
    Report {
        job_id: job.job_id.clone(),
        items: items.len(),
        gold_items: 0,
        workers_blocked: 0,
        labeled: labeled.len(),
        unresolved: unresolved.len(),
        unresolved_items: unresolved,
        labels,
        answers,
        assignments_bought: job.assignments_bought,
        spent_usd: job.spent,
        agreement_rate: (on_labeled > 0).then(|| round4(agreed as f64 / on_labeled as f64)),
        mean_answers_per_item: (!items.is_empty()).then(|| round4(answers as f64 / items.len() as f64)),
        mean_confidence: mean(confidences),
        estimated_accuracy: mean(probabilities),
        split: None,
        training_job: None,
        training_problem: None,
        files: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::JobStatus;

    fn item(id: &str, line: u64, label: Option<&str>, values: &[(&str, &str)]) -> Item {
        let values = values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut i = Item::pending("j", id, line, values, 1_790_000_000_000);
        i.status = if label.is_some() { ItemStatus::Labeled } else { ItemStatus::Unresolved };
        i.hit_id = Some(format!("HIT{id}"));
        i.bought = 2;
        i.rounds = 1;
        i.label = label.map(str::to_string);
        i.agreed = if label.is_some() { 2 } else { 0 };
        i.answers = (0..3)
            .map(|k| crate::records::AnswerRecord {
                assignment_id: format!("A{id}{k}"),
                worker_id: format!("W{k}"),
                label: label.map(str::to_string),
                invalid_reason: None,
                submitted_at: k,
            })
            .collect();
        i
    }

    fn job(training: &str) -> Job {
        let spec = JobSpec::parse(&format!(r#"{{"labels": ["a", "b", "c"], "training": {training}}}"#)).unwrap();
        let mut j = Job::new("j", JobStatus::Complete, spec, String::new(), "k", "e", 0);
        j.columns = vec!["id".into(), "x".into(), "y".into()];
        j
    }

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|k| {
                let label = ["a", "b", "c"][k % 3];
                let x = k.to_string();
                item(&format!("i{k:03}"), k as u64 + 2, Some(label), &[("x", &x), ("y", "1.5")])
            })
            .collect()
    }

    #[test]
    fn the_split_is_stratified_reproducible_and_seeded() {
        let all = items(90);
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let s = split(&all, &labels, 0.2, 7);
        assert_eq!((s.train.len(), s.test.len()), (72, 18));
        for l in ["a", "b", "c"] {
            assert_eq!(s.test.iter().filter(|i| i.label.as_deref() == Some(l)).count(), 6, "{l}: 20 % of 30");
        }
        let again = split(&all, &labels, 0.2, 7);
        let ids = |v: &[&Item]| v.iter().map(|i| i.item_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&s.train), ids(&again.train));
        assert_eq!(ids(&s.test), ids(&again.test));
        let other = split(&all, &labels, 0.2, 8);
        assert_ne!(ids(&s.test), ids(&other.test), "another seed, another split");
        // the input order does not matter
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(ids(&split(&reversed, &labels, 0.2, 7).test), ids(&s.test));
    }

    #[test]
    fn a_label_with_one_item_trains_and_small_ones_keep_one() {
        let labels: Vec<String> = vec!["a".into(), "b".into()];
        let all = vec![item("1", 2, Some("a"), &[]), item("2", 3, Some("b"), &[]), item("3", 4, Some("b"), &[])];
        let s = split(&all, &labels, 0.9, 0);
        assert_eq!(s.test.len(), 1, "b keeps one of two for training, a keeps its only one");
        assert_eq!(s.train.len(), 2);
    }

    #[test]
    fn label_first_rows_start_with_the_label_index() {
        let j = job(r#"{"features": ["y", "x"], "seed": 1}"#);
        let mut all = items(10);
        all.push(item("zz", 99, None, &[("x", "1"), ("y", "2")]));
        let files = split_files(&j, j.spec.training.as_ref().unwrap(), &all).unwrap();
        let text = String::from_utf8(files.train).unwrap();
        for line in text.lines() {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 3, "{line}");
            assert!(["0", "1", "2"].contains(&f[0]));
            assert_eq!(f[1], "1.5", "features in the order the job names them");
        }
        assert_eq!(files.summary.train_rows + files.summary.test_rows, 10, "the unresolved item is left out");
    }

    #[test]
    fn header_layout_names_the_label() {
        let j = job(r#"{"layout": "header", "test_fraction": 0}"#);
        let files = split_files(&j, j.spec.training.as_ref().unwrap(), &items(3)).unwrap();
        let text = String::from_utf8(files.train).unwrap();
        assert_eq!(text.lines().next(), Some("x,y,label"));
        assert!(files.test.is_none());
    }

    #[test]
    fn text_in_a_numeric_feature_is_a_readable_error() {
        let j = job("{}");
        let all = vec![item("bad", 7, Some("a"), &[("x", "five"), ("y", "1")])];
        let err = split_files(&j, j.spec.training.as_ref().unwrap(), &all).err().unwrap();
        assert!(err.contains("line 7") && err.contains("five"), "{err}");
        let none: Vec<Item> = vec![item("u", 2, None, &[])];
        assert!(split_files(&j, j.spec.training.as_ref().unwrap(), &none).err().unwrap().contains("nothing to train"));
    }

    #[test]
    fn labels_csv_has_every_item_and_quotes_what_needs_it() {
        let all = vec![item("1", 2, Some("a"), &[("x", "a, \"quoted\""), ("y", "2")]), item("2", 3, None, &[])];
        let text = String::from_utf8(labels_csv(&["x".into(), "status".into()], &all).unwrap()).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(header, ["id", "x", "manifest:status", "label", "confidence", "answers", "agreed", "status"]);
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(&rows[0][1], "a, \"quoted\"");
        assert_eq!((&rows[0][3], &rows[0][7]), ("a", "labeled"));
        assert_eq!(&rows[0][4], "", "no rule gave this item a confidence");
        assert_eq!((&rows[1][3], &rows[1][7]), ("", "unresolved"));
        let mut sure = all.clone();
        sure[0].confidence = Some(0.98765);
        sure[1].confidence = Some(0.4);
        let text = String::from_utf8(labels_csv(&["x".into()], &sure).unwrap()).unwrap();
        let rows: Vec<csv::StringRecord> =
            csv::Reader::from_reader(text.as_bytes()).records().map(|r| r.unwrap()).collect();
        assert_eq!((&rows[0][3], &rows[1][3]), ("0.9877", ""), "an unresolved item has no label to be sure of");
    }

    #[test]
    fn ground_truth_lines_parse_and_carry_metadata() {
        let j = job("{}");
        let mut all = items(4);
        all.push(item("u", 9, None, &[]));
        let bytes = ground_truth_manifest(&j, &["x".into(), "y".into()], &all).unwrap();
        let lines: Vec<Value> =
            String::from_utf8(bytes).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 4);
        let first = &lines[0];
        assert_eq!(first["category"], 0);
        let meta = &first["category-metadata"];
        assert_eq!(meta["class-name"], "a");
        assert_eq!(meta["human-annotated"], "yes");
        assert_eq!(meta["confidence"], 0.67);
        assert_eq!(meta["job-name"], "labeling-job/j");
        assert!(meta["creation-date"].as_str().unwrap().starts_with("2026-"));
        assert_eq!(label_attribute("x-ref"), "label");
    }

    #[test]
    fn the_report_counts() {
        let j = job("{}");
        let mut all = items(3);
        all.push(item("u", 9, None, &[]));
        let r = report(&j, &all, &crate::quality::fit_job(&j.spec, &all));
        assert_eq!((r.items, r.labeled, r.unresolved), (4, 3, 1));
        assert_eq!(r.estimated_accuracy, Some(1.0), "every worker gave each item's label");
        assert_eq!(r.unresolved_items[0].id, "u");
        assert_eq!(r.agreement_rate, Some(0.6667));
        assert_eq!(r.labels["a"], 1);
    }
}
