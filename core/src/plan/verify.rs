//! Verification: the predictions of a batch the model is unsure of (below
//! `verify.below`) go back to people as a labeling job of their own, with the
//! job's task and quality settings, its own budget and never the model's
//! guess; when it completes, people's labels replace the model's in
//! predictions.csv. What that job is (its id, job.json, manifest) and how its
//! labels are merged, as pure functions.

use std::collections::{BTreeMap, HashSet};

use sha2::{Digest, Sha256};

use crate::job::{JobSpec, Verifies};
use crate::predict::Prediction;
use crate::records::{Item, Job};

/// The verification job of a batch: the job's id (cut to fit) and a digest
/// of job and batch, so every attempt names the same job (at most 48
/// characters, a job id's limit).
pub fn verification_job_id(job_id: &str, batch: &str) -> String {
    let mut h = Sha256::new();
    h.update(job_id.as_bytes());
    h.update([0]);
    h.update(batch.as_bytes());
    let hex: String = h.finalize().iter().take(4).map(|b| format!("{b:02x}")).collect();
    let room = 48 - "-v".len() - hex.len();
    let id: String = job_id.chars().take(room).collect();
    format!("{}-v{hex}", id.trim_end_matches('-'))
}

/// The verification job's template file (the job's template, under the
/// default name whatever the job called it).
pub const VERIFICATION_TEMPLATE: &str = "template.html";

/// The rows to verify: predicted below `below`.
pub fn unsure(predictions: &[Prediction], below: f64) -> HashSet<String> {
    predictions.iter().filter(|p| p.probability < below).map(|p| p.id.clone()).collect()
}

/// The verification job's files, uploaded as a user would (manifest last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationFiles {
    pub job_id: String,
    pub job_json: String,
    pub template: String,
    pub manifest: Vec<u8>,
}

/// The job's labels, task and quality rules; the verify section's budget; no
/// training, deployment or verification of its own; and the batch's rows
/// whose ids are `ids` (every column the batch has, never the prediction).
pub fn verification_files(
    job: &Job,
    batch: &str,
    batch_manifest: &[u8],
    ids: &HashSet<String>,
) -> Result<VerificationFiles, String> {
    let budget = job.spec.verify.as_ref().and_then(|v| v.budget_usd);
    let spec = JobSpec {
        template: VERIFICATION_TEMPLATE.into(),
        budget_usd: budget,
        training: None,
        deploy: None,
        verify: None,
        verifies: Some(Verifies { job: job.job_id.clone(), batch: batch.into() }),
        ..job.spec.clone()
    };
    let job_json = serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(batch_manifest);
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let id_at = header.iter().position(|c| c.trim() == "id").ok_or("the batch has no id column")?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(|e| e.to_string())?;
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        if record.get(id_at).is_some_and(|id| ids.contains(id.trim())) {
            w.write_record(&record).map_err(|e| e.to_string())?;
        }
    }
    Ok(VerificationFiles {
        job_id: verification_job_id(&job.job_id, batch),
        job_json,
        template: job.template.clone(),
        manifest: w.into_inner().map_err(|e| e.to_string())?,
    })
}

/// predictions.csv with people's labels (and their confidence) in place of
/// the model's for the rows they labeled, `source` saying which.
pub fn merge_verified(predictions_csv: &[u8], people: &BTreeMap<String, (String, f64)>) -> Result<Vec<u8>, String> {
    let mut reader = csv::Reader::from_reader(predictions_csv);
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let at = |name: &str| header.iter().position(|c| c == name).ok_or(format!("predictions.csv has no {name}"));
    let (id, label, probability, source) = (at("id")?, at("label")?, at("probability")?, at("source")?);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(|e| e.to_string())?;
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let mut row: Vec<String> = record.iter().map(str::to_string).collect();
        if let Some((l, c)) = row.get(id).and_then(|i| people.get(i)) {
            row[label] = l.clone();
            row[probability] = format!("{c:.4}");
            row[source] = "people".into();
        }
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// From a verification job's labels.csv: each labeled item's label and
/// confidence (1 when the rule gives none).
pub fn people_labels(labels_csv: &[u8]) -> std::result::Result<BTreeMap<String, (String, f64)>, String> {
    let mut reader = csv::Reader::from_reader(labels_csv);
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let names: Vec<&str> = header.iter().collect();
    let last = |name: &str| names.iter().rposition(|c| *c == name).ok_or(format!("labels.csv has no {name}"));
    let (label, confidence, status) = (last("label")?, last("confidence")?, last("status")?);
    let mut out = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let l = record.get(label).unwrap_or_default();
        if record.get(status) != Some("labeled") || l.is_empty() {
            continue;
        }
        let c = record.get(confidence).and_then(|c| c.parse().ok()).unwrap_or(1.0);
        out.insert(record.get(0).unwrap_or_default().to_string(), (l.to_string(), c));
    }
    Ok(out)
}

/// Where model version `version` trains from: the first version from the
/// split's `train/`, later ones from `train-v<version>/`.
pub fn train_prefix(job_id: &str, version: u32) -> String {
    let keys = crate::dataset::OutputKeys::of(job_id);
    if version <= 1 {
        keys.train_prefix
    } else {
        format!("{}train-v{version}/", keys.prefix)
    }
}

/// Model version `version`'s training rows: the previous version's
/// (`previous`, as written) and the verified items' (their values and
/// people's label), in the job's layout. Also how many rows were added.
pub fn retrain_rows(parent: &Job, previous: &[u8], verified: &[Item]) -> Result<(Vec<u8>, usize), String> {
    let training = parent.spec.training.as_ref().ok_or("the job trains no model")?;
    let features = training.feature_columns(&parent.columns);
    let rows: Vec<&Item> = verified.iter().filter(|i| i.label.is_some()).collect();
    let mut added = crate::dataset::rows_csv(&rows, training.layout, &features, &parent.spec.labels)?;
    if training.layout == crate::training::SplitLayout::Header {
        // The previous rows carry the header already.
        let at = added.iter().position(|b| *b == b'\n').map_or(added.len(), |i| i + 1);
        added.drain(..at);
    }
    let mut out = previous.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend(added);
    Ok((out, rows.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::JobStatus;

    fn job() -> Job {
        let spec = JobSpec::parse(
            r#"{"labels": ["a", "b"], "budget_usd": "50.00", "training": {"features": ["x"], "sagemaker": {}},
                "deploy": {}, "verify": {"below": 0.8, "budget_usd": "3.00"}}"#,
        )
        .unwrap();
        let mut j = Job::new("iris", JobStatus::Deployed, spec, "<p>${url}</p>".into(), "k", "e", 2);
        j.bucket = "b".into();
        j
    }

    fn p(id: &str, label: &str, probability: f64) -> Prediction {
        Prediction { id: id.into(), label: label.into(), probability }
    }

    #[test]
    fn the_unsure_rows_become_a_job_of_their_own_without_the_models_guess() {
        let ids = unsure(&[p("1", "a", 0.95), p("2", "b", 0.6), p("3", "a", 0.79)], 0.8);
        assert_eq!(ids, HashSet::from(["2".to_string(), "3".to_string()]));
        let manifest = b"id,url,x\n1,u1,0.1\n2,u2,0.2\n3,u3,0.3\n";
        let f = verification_files(&job(), "rest", manifest, &ids).unwrap();
        assert_eq!(f.job_id, verification_job_id("iris", "rest"));
        assert_eq!(String::from_utf8(f.manifest).unwrap(), "id,url,x\n2,u2,0.2\n3,u3,0.3\n");
        let spec = JobSpec::parse(&f.job_json).unwrap();
        assert_eq!(spec.budget_usd.map(|b| b.to_string()).as_deref(), Some("3.00"), "the verify budget");
        assert!(spec.training.is_none() && spec.deploy.is_none() && spec.verify.is_none());
        assert_eq!(spec.verifies, Some(Verifies { job: "iris".into(), batch: "rest".into() }));
        assert_eq!((spec.labels, f.template.as_str()), (job().spec.labels, "<p>${url}</p>"));
        assert!(!f.job_json.contains("probability"));
    }

    #[test]
    fn ids_are_derived_and_fit() {
        assert_eq!(verification_job_id("iris", "rest"), verification_job_id("iris", "rest"));
        assert_ne!(verification_job_id("iris", "rest"), verification_job_id("iris", "other"));
        let long = verification_job_id(&"a".repeat(48), "rest");
        assert!(long.len() <= 48 && crate::ids::check_job_id(&long).is_ok(), "{long}");
    }

    #[test]
    fn peoples_labels_replace_the_models() {
        let csv = b"id,label,probability,model_version,source\n1,a,0.9500,1,model\n2,b,0.6000,1,model\n";
        let people = BTreeMap::from([("2".to_string(), ("a".to_string(), 0.97))]);
        let merged = String::from_utf8(merge_verified(csv, &people).unwrap()).unwrap();
        assert_eq!(merged, "id,label,probability,model_version,source\n1,a,0.9500,1,model\n2,a,0.9700,1,people\n");
    }

    #[test]
    fn labeled_rows_of_labels_csv_are_peoples() {
        let csv = b"id,url,label,confidence,answers,agreed,status\n1,u,a,0.9000,2,2,labeled\n2,u,,,3,1,unresolved\n3,u,b,,2,2,labeled\n";
        let people = people_labels(csv).unwrap();
        assert_eq!(people.len(), 2);
        assert_eq!(people["1"], ("a".to_string(), 0.9));
        assert_eq!(people["3"], ("b".to_string(), 1.0));
    }

    #[test]
    fn a_retrain_adds_the_verified_rows_to_the_last_versions() {
        let mut parent = job();
        parent.columns = vec!["id".into(), "url".into(), "x".into()];
        let item = |id: &str, x: &str, label: Option<&str>| {
            let mut i = Item::pending(
                "v",
                id,
                2,
                [("x".to_string(), x.to_string()), ("url".to_string(), "u".to_string())].into(),
                0,
            );
            i.label = label.map(str::to_string);
            i
        };
        let (rows, added) =
            retrain_rows(&parent, b"0,0.5\n1,0.7\n", &[item("2", "0.2", Some("b")), item("3", "0.3", None)]).unwrap();
        assert_eq!((String::from_utf8(rows).unwrap().as_str(), added), ("0,0.5\n1,0.7\n1,0.2\n", 1));
        assert_eq!(train_prefix("iris", 1), "jobs/iris/output/train/");
        assert_eq!(train_prefix("iris", 2), "jobs/iris/output/train-v2/");
    }
}
