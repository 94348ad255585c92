//! ingest's rules: which uploads are a job's files, and every check a
//! manifest row must pass before anything is created. The checks take rows
//! one at a time and keep digests, not rows, so memory stays flat whatever
//! the manifest's size.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::ids::check_job_id;
use crate::job::JobSpec;
use crate::manifest::{Format, Row};
use crate::problems::{self, Problem};
use crate::quality::{gold_label, GOLD_COLUMN};
use crate::template;

pub const MAX_JOB_JSON: usize = 256 * 1024;
/// The largest manifest one job takes, and its most rows: ingest must
/// validate and write every row within one invocation (15 minutes; 200,000
/// rows take about 5, see `make bench`). Bigger datasets are several jobs.
pub const MAX_MANIFEST_BYTES: u64 = 100 * 1024 * 1024;
pub const MAX_ROWS: u64 = 200_000;
pub const MAX_TEMPLATE: usize = template::MAX_QUESTION_BYTES;

/// Where a job's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFiles {
    pub job_id: String,
    pub prefix: String,
    pub format: Format,
}

/// `jobs/<job>/manifest.csv|jsonl` -> the job; None: not a manifest key.
pub fn job_files(key: &str) -> Option<Result<JobFiles, String>> {
    let format = Format::from_key(key)?;
    let parts: Vec<&str> = key.split('/').collect();
    if parts.len() != 3 || parts[0] != "jobs" {
        return None;
    }
    Some(check_job_id(parts[1]).map(|()| JobFiles {
        job_id: parts[1].into(),
        prefix: format!("jobs/{}/", parts[1]),
        format,
    }))
}

/// `jobs/<job>/job.json` -> the job id.
pub fn job_json_key(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("jobs/")?.strip_suffix("/job.json")?;
    check_job_id(rest).ok().map(|()| rest)
}

/// The problem of a manifest too big to read.
pub fn too_big(format: Format, size: u64) -> Problem {
    Problem::new(
        format.file_name(),
        format!(
            "the manifest has {size} bytes; a job takes at most {MAX_MANIFEST_BYTES} bytes ({} MiB) and {MAX_ROWS} rows: split the data into several jobs",
            MAX_MANIFEST_BYTES >> 20
        ),
    )
}

/// The checks of every row, fed one row at a time.
pub struct ManifestCheck<'a> {
    spec: Option<&'a JobSpec>,
    template: Option<&'a str>,
    format: Format,
    placeholders: Vec<String>,
    /// 128-bit digests, not the ids: memory stays flat for big manifests.
    ids: HashSet<u128>,
    missing_reported: HashSet<String>,
    /// Known once the columns are (the header, or the first JSON row).
    numeric_features: Option<Vec<String>>,
    /// The problems listed (at most `problems::MAX_LISTED` rows' worth).
    pub problems: Vec<Problem>,
    /// Every problem, listed or not.
    pub total: usize,
    pub rows: u64,
    /// Rows whose `gold` column holds one of the job's labels.
    pub gold_rows: u64,
}

/// Whether to read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    Stop,
}

impl<'a> ManifestCheck<'a> {
    /// `problems`: what was found before the rows (job.json, the template).
    pub fn new(spec: Option<&'a JobSpec>, template: Option<&'a str>, format: Format, problems: Vec<Problem>) -> Self {
        ManifestCheck {
            spec,
            template,
            format,
            placeholders: template.map(template::placeholders).unwrap_or_default(),
            ids: HashSet::new(),
            missing_reported: HashSet::new(),
            numeric_features: None,
            total: problems.len(),
            problems,
            rows: 0,
            gold_rows: 0,
        }
    }

    /// The manifest could not be opened at all.
    pub fn unreadable(&mut self, p: Problem) {
        self.problems.push(p);
        self.total += 1;
    }

    /// One row, or the problem reading it; `columns`: the manifest's.
    pub fn row(&mut self, row: Result<Row, Problem>, columns: &[String]) -> Flow {
        let problem = match row {
            Err(p) => Some(p),
            Ok(_) if self.rows == MAX_ROWS => {
                self.problems.push(Problem::new(
                    self.format.file_name(),
                    format!("the manifest has more than {MAX_ROWS} rows, the most one job takes: split the data into several jobs"),
                ));
                self.total += 1;
                return Flow::Stop;
            }
            Ok(row) => {
                self.rows += 1;
                if self.rows == 1 {
                    self.first_row(columns);
                }
                if self.spec.is_some_and(|s| gold_label(s, &row.values).is_some()) {
                    self.gold_rows += 1;
                }
                self.check_row(&row)
                    .or_else(|| self.numeric_features.as_deref().and_then(|f| check_features(&row, f, self.format)))
            }
        };
        if let Some(p) = problem {
            self.total += 1;
            if self.problems.len() < problems::MAX_LISTED {
                self.problems.push(p);
            }
        }
        Flow::Go
    }

    /// After the last row.
    pub fn finish(&mut self) {
        if self.rows == 0 && self.total == 0 {
            self.problems.push(Problem::new(self.format.file_name(), "the manifest has no rows"));
            self.total += 1;
        }
    }

    fn first_row(&mut self, columns: &[String]) {
        if let Some(t) = self.spec.and_then(|s| s.training.as_ref()) {
            let column_problems = t.column_problems(columns);
            self.total += column_problems.len();
            self.problems.extend(column_problems);
            if t.numeric_features() {
                self.numeric_features = Some(t.feature_columns(columns));
            }
        }
    }

    fn check_row(&mut self, row: &Row) -> Option<Problem> {
        let file = self.format.file_name();
        if !self.ids.insert(id_digest(&row.id)) {
            return Some(Problem::at(file, row.line, format!("id {:?} is used by an earlier row", row.id)));
        }
        if let Some(spec) = self.spec {
            let given = row.values.get(GOLD_COLUMN).map_or("", |g| g.trim());
            if !given.is_empty() && gold_label(spec, &row.values).is_none() {
                return Some(Problem::at(
                    file,
                    row.line,
                    format!("the {GOLD_COLUMN} column holds {given:?}, which is not one of the job's labels"),
                ));
            }
        }
        if let Some(missing) = self.placeholders.iter().find(|p| !row.values.contains_key(*p)) {
            if self.format == Format::Csv && !self.missing_reported.insert(missing.clone()) {
                return None; // a missing CSV column is reported once
            }
            return Some(Problem::at(
                file,
                row.line,
                format!("the template uses ${{{missing}}} but the row has no {missing:?} column"),
            ));
        }
        let (Some(t), Some(spec)) = (self.template, self.spec) else { return None };
        match template::render(t, &row.values) {
            Ok(page) => {
                let q = template::html_question(&page, spec.task.frame_height);
                (q.len() > template::MAX_QUESTION_BYTES).then(|| {
                    Problem::at(
                        file,
                        row.line,
                        format!(
                            "the question for row {:?} is {} bytes after substitution; MTurk allows {}",
                            row.id,
                            q.len(),
                            template::MAX_QUESTION_BYTES
                        ),
                    )
                })
            }
            Err(e) => Some(Problem::at(file, row.line, e)),
        }
    }
}

/// The features of a row, when the split layout needs numbers.
fn check_features(row: &Row, features: &[String], format: Format) -> Option<Problem> {
    for f in features {
        match row.values.get(f) {
            Some(v) if v.trim().parse::<f64>().is_ok_and(f64::is_finite) => {}
            Some(v) => {
                return Some(Problem::at(
                    format.file_name(),
                    row.line,
                    format!(
                    "{f} = {v:?} in row {:?} is not a number; training.layout \"label-first\" needs numeric features",
                    row.id
                ),
                ))
            }
            // A CSV column missing everywhere is reported once, by column_problems.
            None if format == Format::Csv => return None,
            None => {
                return Some(Problem::at(
                    format.file_name(),
                    row.line,
                    format!("row {:?} has no {f:?}, a training feature", row.id),
                ))
            }
        }
    }
    None
}

fn id_digest(id: &str) -> u128 {
    let d = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_le_bytes(b)
}

/// The job's one-line reason for a rejected input.
pub fn rejection_summary(prefix: &str, problems: &[Problem], total: usize) -> String {
    match problems.first() {
        Some(p) => format!(
            "{total} problem(s) in the input, see {prefix}errors.json; first: {}{}: {}",
            p.file,
            p.line.map(|l| format!(" line {l}")).unwrap_or_default(),
            p.message
        ),
        None => "invalid input".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let f = job_files("jobs/iris/manifest.csv").unwrap().unwrap();
        assert_eq!((f.job_id.as_str(), f.prefix.as_str(), f.format), ("iris", "jobs/iris/", Format::Csv));
        assert!(job_files("jobs/bad id/manifest.csv").unwrap().is_err());
        for other in ["jobs/iris/job.json", "jobs/a/b/manifest.csv", "manifest.csv"] {
            assert!(job_files(other).is_none(), "{other}");
        }
        assert_eq!(job_json_key("jobs/iris/job.json"), Some("iris"));
        for other in ["jobs/iris/manifest.csv", "jobs/a/b/job.json", "jobs/bad id/job.json", "job.json"] {
            assert_eq!(job_json_key(other), None, "{other}");
        }
    }

    fn row(line: u64, id: &str, values: &[(&str, &str)]) -> Result<Row, Problem> {
        Ok(Row { line, id: id.into(), values: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() })
    }

    #[test]
    fn rows_are_checked_one_at_a_time() {
        let spec = JobSpec::parse(
            r#"{"labels": ["a", "b"], "training": {"features": ["x"], "sagemaker": {"algorithm": "xgboost"}}}"#,
        )
        .unwrap();
        let template = "<crowd-form>${url}</crowd-form>";
        let columns: Vec<String> = vec!["id".into(), "url".into(), "x".into()];
        let mut c = ManifestCheck::new(Some(&spec), Some(template), Format::Csv, vec![]);
        assert_eq!(c.row(row(2, "1", &[("url", "u"), ("x", "1.5")]), &columns), Flow::Go);
        c.row(row(3, "1", &[("url", "u"), ("x", "2")]), &columns);
        c.row(row(4, "2", &[("url", "u"), ("x", "two")]), &columns);
        c.row(Err(Problem::at("manifest.csv", 5, "ragged")), &columns);
        c.finish();
        assert_eq!((c.rows, c.total), (3, 3));
        let lines: Vec<_> = c.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(3), Some(4), Some(5)]);
        assert!(c.problems[0].message.contains("earlier row"));
        assert!(c.problems[1].message.contains("not a number"));
    }

    #[test]
    fn gold_rows_are_counted_and_a_gold_value_that_is_no_label_is_a_problem() {
        let spec = JobSpec::parse(r#"{"labels": ["a", "b"]}"#).unwrap();
        let columns: Vec<String> = vec!["id".into(), "gold".into()];
        let mut c = ManifestCheck::new(Some(&spec), None, Format::Csv, vec![]);
        c.row(row(2, "1", &[("gold", "a")]), &columns);
        c.row(row(3, "2", &[("gold", " ")]), &columns);
        c.row(row(4, "3", &[("gold", "z")]), &columns);
        assert_eq!((c.rows, c.gold_rows, c.total), (3, 1, 1));
        assert_eq!(c.problems[0].line, Some(4));
        assert!(
            c.problems[0].message.contains("\"z\", which is not one of the job's labels"),
            "{}",
            c.problems[0].message
        );
    }

    #[test]
    fn an_empty_manifest_is_a_problem() {
        let mut c = ManifestCheck::new(None, None, Format::Jsonl, vec![]);
        c.finish();
        assert_eq!(c.total, 1);
        assert!(c.problems[0].message.contains("no rows"));
    }

    #[test]
    fn the_summary_names_the_first_problem() {
        let p = vec![Problem::at("manifest.csv", 7, "bad")];
        assert_eq!(
            rejection_summary("jobs/j/", &p, 3),
            "3 problem(s) in the input, see jobs/j/errors.json; first: manifest.csv line 7: bad"
        );
    }
}
