//! Prediction batches: a user uploads `jobs/<job>/predict/<batch>/manifest.csv`
//! (rows with an `id` and the job's training features, no label); the job's
//! current model predicts every row in a SageMaker batch transform job, and
//! `predictions.csv` beside it gives each row's predicted label, its
//! probability and the model version. What a batch must be, what the
//! transform reads (the features only, in training order, as the built-in
//! algorithms take CSV) and how its output becomes predictions.

use std::collections::HashSet;

use crate::ids::check_job_id;
use crate::problems::{Problem, MAX_LISTED};

pub const BATCH_FILE: &str = "manifest.csv";
/// One batch is read into memory by ingest and by train: kept small enough
/// for a Lambda's memory and a transform job's single input file.
pub const MAX_BATCH_BYTES: u64 = 20 * 1024 * 1024;
pub const MAX_BATCH_ROWS: usize = 100_000;

/// A prediction batch's upload: `jobs/<job>/predict/<batch>/manifest.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchKey {
    pub job_id: String,
    pub batch: String,
}

/// None: not a prediction batch's manifest. Err: one whose ids cannot be.
pub fn batch_key(key: &str) -> Option<Result<BatchKey, String>> {
    let parts: Vec<&str> = key.split('/').collect();
    if parts.len() != 5 || parts[0] != "jobs" || parts[2] != "predict" || parts[4] != BATCH_FILE {
        return None;
    }
    let checked = check_job_id(parts[1])
        .and_then(|()| check_job_id(parts[3]).map_err(|e| format!("the batch name: {}", e.replace("job id", "name"))));
    Some(checked.map(|()| BatchKey { job_id: parts[1].into(), batch: parts[3].into() }))
}

/// Where a batch's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchKeys {
    pub prefix: String,
    pub manifest: String,
    /// What the transform job reads: the features, one row per line.
    pub input: String,
    /// Where the transform job writes (`<input file>.out` under it).
    pub output_prefix: String,
    pub output: String,
    pub predictions: String,
    /// What the model said, never changed by verification.
    pub model_predictions: String,
    /// Optional settings of the batch (`{"verify": false}`).
    pub settings: String,
    pub errors: String,
}

impl BatchKeys {
    pub fn of(job_id: &str, batch: &str) -> BatchKeys {
        let prefix = format!("jobs/{job_id}/predict/{batch}/");
        BatchKeys {
            manifest: format!("{prefix}{BATCH_FILE}"),
            input: format!("{prefix}input/rows.csv"),
            output_prefix: format!("{prefix}output/"),
            output: format!("{prefix}output/rows.csv.out"),
            predictions: format!("{prefix}predictions.csv"),
            model_predictions: format!("{prefix}model-predictions.csv"),
            settings: format!("{prefix}batch.json"),
            errors: format!("{prefix}errors.json"),
            prefix,
        }
    }
}

/// `batch.json`, uploaded before the batch's manifest: how this batch is
/// treated. `verify: false` keeps a job that verifies from sending this
/// batch's unsure rows to people (say, to measure a model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSettings {
    #[serde(default = "yes")]
    pub verify: bool,
}

fn yes() -> bool {
    true
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings { verify: true }
    }
}

/// A batch that passed: its ids in row order, and the transform's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub ids: Vec<String>,
    pub input: Vec<u8>,
}

/// What is wrong with a batch: the problems listed (at most `MAX_LISTED`)
/// and how many there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchProblems {
    pub problems: Vec<Problem>,
    pub total: usize,
}

impl BatchProblems {
    /// The body of the batch's errors.json.
    pub fn report(&self, job_id: &str, batch: &str) -> serde_json::Value {
        serde_json::json!({
            "job_id": job_id,
            "batch": batch,
            "status": "failed",
            "error_count": self.total,
            "listed": self.problems.len(),
            "errors": self.problems,
            "hint": "Nothing was predicted. Fix these and upload the batch's manifest.csv again.",
        })
    }
}

impl From<Vec<Problem>> for BatchProblems {
    fn from(problems: Vec<Problem>) -> Self {
        BatchProblems { total: problems.len(), problems }
    }
}

/// Checks a batch against the job's features: a header with `id` and every
/// feature, unique non-empty ids, a number for every feature. Every problem
/// is counted and listed (up to `MAX_LISTED`), with its line.
pub fn check_batch(features: &[String], text: &[u8]) -> Result<Batch, BatchProblems> {
    let file = BATCH_FILE;
    if text.len() as u64 > MAX_BATCH_BYTES {
        return Err(vec![Problem::new(
            file,
            format!(
                "the batch has {} bytes; a batch takes at most {} MiB: split it",
                text.len(),
                MAX_BATCH_BYTES >> 20
            ),
        )]
        .into());
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_string()).collect(),
        Err(e) => return Err(vec![Problem::at(file, 1, format!("the header cannot be read: {e}"))].into()),
    };
    let position = |name: &str| header.iter().position(|c| c == name);
    let mut problems = Vec::new();
    let id_at = position("id");
    if id_at.is_none() {
        problems.push(Problem::at(file, 1, "the header has no `id` column"));
    }
    let mut feature_at = Vec::new();
    for f in features {
        match position(f) {
            Some(k) => feature_at.push(k),
            None => problems.push(Problem::at(file, 1, format!("the header has no `{f}` column (a training feature)"))),
        }
    }
    let Some(id_at) = id_at.filter(|_| problems.is_empty()) else { return Err(problems.into()) };
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    let mut input = csv::Writer::from_writer(Vec::new());
    let mut total = 0usize;
    for (n, record) in reader.records().enumerate() {
        let line = n as u64 + 2;
        let mut say = |message: String| {
            total += 1;
            if problems.len() < MAX_LISTED {
                problems.push(Problem::at(file, line, message));
            }
        };
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                say(format!("the row cannot be read: {e}"));
                continue;
            }
        };
        if ids.len() >= MAX_BATCH_ROWS {
            say(format!("a batch takes at most {MAX_BATCH_ROWS} rows: split it"));
            break;
        }
        let id = record.get(id_at).unwrap_or_default().trim().to_string();
        if id.is_empty() {
            say("the row has no id".into());
        } else if !seen.insert(id.clone()) {
            say(format!("the id {id:?} is on an earlier row too"));
        }
        let mut values = Vec::with_capacity(feature_at.len());
        for (f, k) in features.iter().zip(&feature_at) {
            let v = record.get(*k).unwrap_or_default().trim();
            if v.parse::<f64>().is_ok_and(f64::is_finite) {
                values.push(v.to_string());
            } else {
                say(format!("{f} = {v:?} is not a number"));
            }
        }
        if values.len() == features.len() && input.write_record(&values).is_err() {
            say("the row cannot be written".into());
        }
        ids.push(id);
    }
    if ids.is_empty() && problems.is_empty() {
        problems.push(Problem::new(file, "the batch has no rows"));
        total += 1;
    }
    if !problems.is_empty() {
        return Err(BatchProblems { problems, total });
    }
    let input = input.into_inner().map_err(|e| BatchProblems::from(vec![Problem::new(file, e.to_string())]))?;
    Ok(Batch { ids, input })
}

/// A transform output line as probabilities over the job's `labels`: every
/// label's (`[0.1,0.7,0.2]` or `0.1,0.7,0.2`: XGBoost's multi:softprob), the
/// second label's for two labels (`0.83`: binary:logistic), or a label
/// index (multi:softmax: probability 1, the model said no more).
pub fn probabilities(line: &str, labels: usize) -> Result<Vec<f64>, String> {
    let inner = line.trim().trim_start_matches('[').trim_end_matches(']');
    let values: Vec<f64> = inner
        .split(',')
        .map(|v| v.trim().parse::<f64>().map_err(|_| format!("{v:?} is not a number")))
        .collect::<Result<_, _>>()?;
    let p = match values.as_slice() {
        v if v.len() == labels => v.to_vec(),
        [p] if labels == 2 && (0.0..=1.0).contains(p) => vec![1.0 - p, *p],
        [k] if k.fract() == 0.0 && *k >= 0.0 && (*k as usize) < labels => {
            (0..labels).map(|i| if i == *k as usize { 1.0 } else { 0.0 }).collect()
        }
        v => return Err(format!("{} values for {labels} labels", v.len())),
    };
    if p.iter().any(|x| !(0.0..=1.0 + 1e-6).contains(x)) {
        return Err("a probability outside 0 to 1".into());
    }
    Ok(p)
}

/// One row of predictions.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub id: String,
    pub label: String,
    pub probability: f64,
}

/// The transform's output, line by line against the batch's ids.
pub fn predictions(ids: &[String], output: &str, labels: &[String]) -> Result<Vec<Prediction>, String> {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != ids.len() {
        return Err(format!("the transform wrote {} predictions for {} rows", lines.len(), ids.len()));
    }
    ids.iter()
        .zip(lines)
        .enumerate()
        .map(|(n, (id, line))| {
            let p = probabilities(line, labels.len()).map_err(|e| format!("prediction {}: {e}", n + 1))?;
            let (best, probability) =
                p.iter()
                    .copied()
                    .enumerate()
                    .fold((0, f64::MIN), |(bi, bp), (i, x)| if x > bp { (i, x) } else { (bi, bp) });
            Ok(Prediction { id: id.clone(), label: labels[best].clone(), probability })
        })
        .collect()
}

/// The most rows in one endpoint request, and the most bytes: far below
/// the 4 MB a serverless endpoint takes (6 MB for instances).
pub const INVOKE_MAX_ROWS: usize = 500;
pub const INVOKE_MAX_BYTES: usize = 1024 * 1024;

/// The transform input (rows.csv) cut into endpoint requests, whole lines
/// each, in order.
pub fn invocation_chunks(input: &str, max_rows: usize, max_bytes: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut chunk = String::new();
    let mut rows = 0;
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        if rows > 0 && (rows == max_rows || chunk.len() + line.len() + 1 > max_bytes) {
            chunks.push(std::mem::take(&mut chunk));
            rows = 0;
        }
        chunk.push_str(line);
        chunk.push('\n');
        rows += 1;
    }
    if rows > 0 {
        chunks.push(chunk);
    }
    chunks
}

/// An endpoint's answer to one request as output lines, one per row: a line
/// per row, or one JSON array of rows (`[[0.1,0.9],[0.8,0.2]]`, as some
/// containers answer several CSV rows).
pub fn endpoint_lines(response: &str) -> Vec<String> {
    let trimmed = response.trim();
    if let Some(inner) = trimmed.strip_prefix("[[").and_then(|t| t.strip_suffix("]]")) {
        return inner.split("],").map(|row| row.trim().trim_start_matches('[').to_string()).collect();
    }
    trimmed.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

/// predictions.csv: id, predicted label, its probability, the model version
/// that predicted it, and its source (`model`).
pub fn predictions_csv(predictions: &[Prediction], version: u32) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "label", "probability", "model_version", "source"]).map_err(|e| e.to_string())?;
    for p in predictions {
        let probability = format!("{:.4}", p.probability);
        let version = version.to_string();
        w.write_record([p.id.as_str(), p.label.as_str(), probability.as_str(), version.as_str(), "model"])
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn batch_keys_name_job_and_batch() {
        assert_eq!(
            batch_key("jobs/iris/predict/rest/manifest.csv"),
            Some(Ok(BatchKey { job_id: "iris".into(), batch: "rest".into() }))
        );
        assert!(batch_key("jobs/iris/predict/bad name/manifest.csv").unwrap().is_err());
        for other in
            ["jobs/iris/manifest.csv", "jobs/iris/predict/rest/predictions.csv", "jobs/iris/x/rest/manifest.csv"]
        {
            assert_eq!(batch_key(other), None, "{other}");
        }
        let k = BatchKeys::of("iris", "rest");
        assert_eq!(k.output, "jobs/iris/predict/rest/output/rows.csv.out");
        assert_eq!(k.predictions, "jobs/iris/predict/rest/predictions.csv");
    }

    #[test]
    fn a_batch_becomes_the_features_in_training_order() {
        let b = check_batch(&features(), b"b,id,a,extra\n2,x1,1,q\n4.5,x2,3,r\n").unwrap();
        assert_eq!(b.ids, ["x1", "x2"]);
        assert_eq!(String::from_utf8(b.input).unwrap(), "1,2\n3,4.5\n");
    }

    #[test]
    fn every_problem_of_a_batch_is_listed_with_its_line() {
        let p = check_batch(&features(), b"id,a\n1,2\n").unwrap_err();
        assert_eq!((p.problems.len(), p.total), (1, 1));
        assert!(p.problems[0].message.contains("`b`"));
        let p = check_batch(&features(), b"id,a,b\n1,2,x\n1,3,4\n,5,6\n").unwrap_err();
        let lines: Vec<Option<u64>> = p.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(4)], "{p:?}");
        assert!(p.problems[1].message.contains("earlier row"));
        assert_eq!(p.report("j", "b")["error_count"], 3);
        assert!(check_batch(&features(), b"id,a,b\n").unwrap_err().problems[0].message.contains("no rows"));
    }

    #[test]
    fn endpoint_requests_are_whole_lines_within_both_limits() {
        let input = "1,2\n3,4\n5,6\n\n7,8\n";
        assert_eq!(invocation_chunks(input, 2, 1 << 20), ["1,2\n3,4\n", "5,6\n7,8\n"]);
        assert_eq!(invocation_chunks(input, 10, 8), ["1,2\n3,4\n", "5,6\n7,8\n"], "8 bytes: two lines");
        assert_eq!(invocation_chunks("a-very-long-line\n", 10, 4), ["a-very-long-line\n"], "a line alone");
        assert!(invocation_chunks("", 10, 10).is_empty());
        let rejoined: String = invocation_chunks(input, 3, 100).concat();
        assert_eq!(rejoined, "1,2\n3,4\n5,6\n7,8\n");
        assert_eq!(endpoint_lines("0.1,0.9\n0.8,0.2\n"), ["0.1,0.9", "0.8,0.2"]);
        assert_eq!(endpoint_lines("[[0.1, 0.9], [0.8, 0.2]]"), ["0.1, 0.9", "0.8, 0.2"]);
        assert_eq!(probabilities(&endpoint_lines("[[0.1, 0.9]]")[0], 2).unwrap(), [0.1, 0.9]);
        assert_eq!(endpoint_lines("[0.3,0.7]\n"), ["[0.3,0.7]"], "a row per line, bracketed");
    }

    #[test]
    fn transform_output_in_each_algorithms_form() {
        assert_eq!(probabilities("[0.1,0.7,0.2]", 3).unwrap(), [0.1, 0.7, 0.2]);
        assert_eq!(probabilities("0.1,0.7,0.2", 3).unwrap(), [0.1, 0.7, 0.2]);
        assert_eq!(probabilities("0.75", 2).unwrap(), [0.25, 0.75]);
        assert_eq!(probabilities("2.0", 3).unwrap(), [0.0, 0.0, 1.0]);
        assert!(probabilities("0.5,0.5", 3).is_err());
        assert!(probabilities("x", 2).is_err());
        let labels: Vec<String> = vec!["setosa".into(), "versicolor".into(), "virginica".into()];
        let ids: Vec<String> = vec!["1".into(), "2".into()];
        let p = predictions(&ids, "[0.1,0.7,0.2]\n[0.9,0.05,0.05]\n", &labels).unwrap();
        assert_eq!((p[0].label.as_str(), p[1].label.as_str()), ("versicolor", "setosa"));
        assert!(predictions(&ids, "[0.1,0.7,0.2]\n", &labels).unwrap_err().contains("1 predictions for 2 rows"));
        let csv = String::from_utf8(predictions_csv(&p, 2).unwrap()).unwrap();
        assert_eq!(
            csv,
            "id,label,probability,model_version,source\n1,versicolor,0.7000,2,model\n2,setosa,0.9000,2,model\n"
        );
    }
}
