//! Checks a finished job's outputs in S3 against what DynamoDB holds: the
//! items, and every recorded answer.

use std::collections::BTreeMap;

use hitloop_core::dataset::{self, OutputKeys};
use hitloop_core::records::{Item, ItemStatus};
use serde_json::Value;

use super::Stack;

/// Asserts labels.csv, manifest.jsonl, report.json and (when the job asks
/// for training) the split; returns the report.
pub async fn check_outputs(stack: &Stack, job_id: &str) -> Value {
    let job = stack.job(job_id).await.unwrap();
    let keys = OutputKeys::of(job_id);
    let mut items = stack.items(job_id).await;
    dataset::in_manifest_order(&mut items);
    let by_id: BTreeMap<&str, &Item> = items.iter().map(|i| (i.item_id.as_str(), i)).collect();
    let labels = &job.spec.labels;

    // labels.csv: every item, its label, and counts that match the answers recorded
    let text = stack.get(&keys.labels).await.expect("labels.csv is written");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header.first().map(String::as_str), Some("id"));
    assert_eq!(&header[header.len() - 5..], ["label", "confidence", "answers", "agreed", "status"]);
    for c in job.columns.iter().filter(|c| c.as_str() != "id") {
        assert!(header.contains(c), "labels.csv has the manifest column {c}");
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), items.len(), "one row per item");
    let n = header.len();
    for row in &rows {
        let item = by_id[&row[0]];
        let answers = &item.answers;
        assert_eq!(row[n - 3].parse::<usize>().unwrap(), answers.len(), "{}: answers counted", item.item_id);
        match item.status {
            ItemStatus::Labeled => {
                let label = item.label.as_deref().unwrap();
                assert_eq!((&row[n - 5], &row[n - 1]), (label, "labeled"));
                let confidence: f64 = row[n - 4].parse().unwrap();
                assert!(
                    (confidence - item.confidence.unwrap()).abs() < 1e-4,
                    "{}: the rule's confidence",
                    item.item_id
                );
                let votes = |l: &str| answers.iter().filter(|a| a.label.as_deref() == Some(l)).count();
                let agreed: usize = row[n - 2].parse().unwrap();
                assert!(agreed >= job.spec.consensus.agreement as usize, "{}: {agreed} agreed", item.item_id);
                assert!(agreed <= votes(label), "{}: the answers hold the agreement", item.item_id);
                assert!(
                    labels.iter().all(|l| votes(l) <= votes(label)),
                    "{}: the label has the most votes",
                    item.item_id
                );
            }
            ItemStatus::Unresolved => assert_eq!((&row[n - 5], &row[n - 4], &row[n - 1]), ("", "", "unresolved")),
            other => panic!("{} is still {other:?}", item.item_id),
        }
    }

    // manifest.jsonl: Ground Truth's format, one line per labeled item
    let text = stack.get(&keys.manifest).await.expect("manifest.jsonl is written");
    let labeled: Vec<&Item> = items.iter().filter(|i| i.status == ItemStatus::Labeled).collect();
    let attribute = dataset::label_attribute(&job.spec.answer.field);
    let mut lines = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("every line is a JSON object");
        let item = by_id[v["id"].as_str().unwrap()];
        let index = v[&attribute].as_u64().unwrap() as usize;
        let meta = &v[format!("{attribute}-metadata")];
        assert_eq!(Some(labels[index].as_str()), item.label.as_deref());
        assert_eq!(meta["class-name"], labels[index]);
        assert_eq!(meta["human-annotated"], "yes");
        assert_eq!(meta["job-name"], format!("labeling-job/{job_id}"));
        let confidence = meta["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&confidence));
        assert!(meta["creation-date"].as_str().unwrap().len() >= 19);
        lines += 1;
    }
    assert_eq!(lines, labeled.len());

    // report.json
    let report: Value = serde_json::from_str(&stack.get(&keys.report).await.expect("report.json")).unwrap();
    assert_eq!(report["items"], items.len());
    assert_eq!(report["labeled"], labeled.len());
    assert_eq!(report["labeled"].as_u64().unwrap(), job.labeled, "the report matches the job's counters");
    assert_eq!(report["unresolved"].as_u64().unwrap(), job.unresolved);
    let listed: Vec<&str> =
        report["unresolved_items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    let unresolved: Vec<&str> =
        items.iter().filter(|i| i.status == ItemStatus::Unresolved).map(|i| i.item_id.as_str()).collect();
    assert_eq!(listed, unresolved);
    assert_eq!(report["spent_usd"].as_str().unwrap(), job.spent.to_string());
    assert_eq!(report["assignments_bought"].as_u64().unwrap(), job.assignments_bought);
    for figure in ["mean_confidence", "estimated_accuracy"] {
        let v = report[figure].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&v), "report.json's {figure}: {v}");
    }

    // the split: reproducible from the seed, stratified, every labeled item once
    if let Some(training) = &job.spec.training {
        let expected = dataset::split_files(&job, training, &items).unwrap();
        let train = stack.get(&keys.train).await.expect("train.csv");
        assert_eq!(train.as_bytes(), expected.train.as_slice(), "the split is the one the seed gives");
        let test = stack.get(&keys.test).await;
        assert_eq!(test.as_deref().map(str::as_bytes), expected.test.as_deref());
        let features = training.feature_columns(&job.columns);
        let mut seen: Vec<String> = Vec::new();
        let mut test_per_label: BTreeMap<String, usize> = BTreeMap::new();
        for (text, is_test) in [(train.as_str(), false), (test.as_deref().unwrap_or(""), true)] {
            for line in text.lines() {
                let f: Vec<&str> = line.split(',').collect();
                assert_eq!(f.len(), 1 + features.len(), "label index, then the features: {line}");
                let label = &labels[f[0].parse::<usize>().unwrap()];
                if is_test {
                    *test_per_label.entry(label.clone()).or_default() += 1;
                }
                seen.push(line.to_string());
            }
        }
        // the rows are exactly the labeled items' (label, features), each once
        let mut want: Vec<String> = labeled
            .iter()
            .map(|i| {
                let index = labels.iter().position(|l| Some(l.as_str()) == i.label.as_deref()).unwrap();
                let values: Vec<&str> = features.iter().map(|f| i.values[f].as_str()).collect();
                format!("{index},{}", values.join(","))
            })
            .collect();
        want.sort();
        seen.sort();
        assert_eq!(seen, want);
        for l in labels {
            let n = labeled.iter().filter(|i| i.label.as_deref() == Some(l)).count();
            let held = ((n as f64 * training.test_fraction).round() as usize).min(n.saturating_sub(1));
            assert_eq!(test_per_label.get(l).copied().unwrap_or(0), held, "{l}: stratified");
        }
        assert_eq!(report["split"]["train_rows"].as_u64().unwrap() as usize, expected.summary.train_rows);
    }
    report
}
