//! Problems found in a user's input, reported all at once in
//! `jobs/<job>/errors.json` with the file and line where each one is.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(file: &str, message: impl Into<String>) -> Self {
        Problem { file: file.into(), line: None, field: None, message: message.into() }
    }

    pub fn at(file: &str, line: u64, message: impl Into<String>) -> Self {
        Problem { file: file.into(), line: Some(line), field: None, message: message.into() }
    }

    pub fn field(file: &str, field: &str, message: impl Into<String>) -> Self {
        Problem { file: file.into(), line: None, field: Some(field.into()), message: message.into() }
    }
}

/// The most problems listed in one errors.json; the rest are counted.
pub const MAX_LISTED: usize = 1000;

/// The body of `errors.json`.
pub fn report(job_id: &str, problems: &[Problem], total: usize) -> serde_json::Value {
    serde_json::json!({
        "job_id": job_id,
        "status": "failed",
        "error_count": total,
        "listed": problems.len().min(MAX_LISTED),
        "errors": &problems[..problems.len().min(MAX_LISTED)],
        "hint": "Nothing was posted to workers. Fix these and upload the manifest again.",
    })
}
