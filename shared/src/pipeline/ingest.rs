//! ingest: a manifest was uploaded. Validate everything first (job.json, the
//! template, every row); then write the job and its items and hand the items
//! to the publish queue. Invalid input creates nothing and says why in
//! `jobs/<job>/errors.json`.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::job::JobSpec;
use crate::manifest::{Format, Rows};
use crate::pipeline::{check_job_id, PublishItem};
use crate::problems::{self, Problem};
use crate::records::*;
use crate::template;
use crate::wiring::Deps;

pub(crate) const MAX_JOB_JSON: usize = 256 * 1024;
/// The largest manifest one job takes, and its most rows: ingest must
/// validate and write every row within one invocation (15 minutes; 200,000
/// rows take about 5, see `make bench`). Bigger datasets are several jobs.
pub const MAX_MANIFEST_BYTES: u64 = 100 * 1024 * 1024;
pub const MAX_ROWS: u64 = 200_000;
const MAX_TEMPLATE: usize = template::MAX_QUESTION_BYTES;
const WRITE_CHUNK: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not a manifest key: nothing to do.
    Ignored,
    /// Items written and queued.
    Accepted { items: u64 },
    /// Invalid input: the job failed, errors.json lists why.
    Rejected { problems: usize },
    /// The same manifest again (or a retried event): nothing created.
    Duplicate,
    /// A different manifest for a live job: refused, the job is untouched.
    Refused,
    /// The object was gone before it could be read.
    Vanished,
    /// job.json for a live job: see `amend`.
    JobJson(crate::pipeline::amend::Outcome),
}

/// Where the job's files live.
pub struct JobFiles {
    pub job_id: String,
    pub prefix: String,
    pub format: Format,
}

/// `jobs/<job>/manifest.csv|jsonl` -> the job; anything else is not ours.
pub fn job_files(key: &str) -> Option<std::result::Result<JobFiles, String>> {
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

pub async fn ingest(deps: &Deps, bucket: &str, key: &str) -> Result<Outcome> {
    if let Some(job_id) = crate::pipeline::amend::job_json_key(key) {
        return crate::pipeline::amend::job_json_uploaded(deps, bucket, job_id).await.map(Outcome::JobJson);
    }
    let files = match job_files(key) {
        None => return Ok(Outcome::Ignored),
        Some(Err(e)) => {
            // No job can have this id: say so next to the upload, where the
            // user looks (errors.json itself triggers nothing).
            tracing::error!(key, "{e}");
            let dir = key.rsplit_once('/').map_or("", |(dir, _)| dir);
            let problem = Problem::new(Format::from_key(key).map_or("manifest", Format::file_name), e);
            put_errors(deps, bucket, &format!("{dir}/"), dir.trim_start_matches("jobs/"), &[problem], 1).await?;
            return Ok(Outcome::Rejected { problems: 1 });
        }
        Some(Ok(f)) => f,
    };
    let job_id = files.job_id.as_str();

    if let Some(existing) = deps.store.job(job_id).await? {
        if existing.status != JobStatus::Failed {
            let Some(head) = deps.blobs.head(bucket, key).await? else {
                return Ok(Outcome::Vanished);
            };
            if head.etag == existing.manifest_etag {
                tracing::info!(job_id, "manifest already ingested; nothing to do");
                return Ok(Outcome::Duplicate);
            }
            let note = serde_json::json!({
                "job_id": job_id,
                "refused": key,
                "reason": format!("job {job_id} is {} with another manifest; a job takes one manifest. Start a new job to label more data.", existing.status),
            });
            deps.blobs
                .put(
                    bucket,
                    &format!("{}upload-refused.json", files.prefix),
                    note.to_string().into_bytes(),
                    "application/json",
                )
                .await?;
            tracing::warn!(job_id, key, "refused a second manifest for a live job");
            return Ok(Outcome::Refused);
        }
    }

    // 1. job.json and the template
    let mut problems: Vec<Problem> = Vec::new();
    let spec = match deps.blobs.text(bucket, &format!("{}job.json", files.prefix), MAX_JOB_JSON).await {
        Ok(Some(text)) => match JobSpec::parse(&text) {
            Ok(spec) => Some(spec),
            Err(p) => {
                problems.extend(p);
                None
            }
        },
        Ok(None) => {
            problems.push(Problem::new(
                "job.json",
                format!("no job.json next to the manifest: upload {}job.json before the manifest", files.prefix),
            ));
            None
        }
        Err(Error::Invalid(m)) => {
            problems.push(Problem::new("job.json", m));
            None
        }
        Err(e) => return Err(e),
    };
    let template_text = match &spec {
        Some(spec) => {
            match deps.blobs.text(bucket, &format!("{}{}", files.prefix, spec.template), MAX_TEMPLATE).await {
                Ok(Some(t)) => {
                    for p in template::check(&t, spec.answer.format, &spec.answer.field) {
                        problems.push(Problem::new(&spec.template, p));
                    }
                    Some(t)
                }
                Ok(None) => {
                    problems.push(Problem::new(
                        &spec.template,
                        format!("the template {} is missing next to the manifest", spec.template),
                    ));
                    None
                }
                Err(Error::Invalid(m)) => {
                    problems.push(Problem::new(&spec.template, m));
                    None
                }
                Err(e) => return Err(e),
            }
        }
        None => None,
    };

    // 2. every row, without keeping the rows
    match deps.blobs.head(bucket, key).await? {
        None => {
            tracing::warn!(job_id, key, "the manifest was deleted before it could be read");
            return Ok(Outcome::Vanished);
        }
        Some(head) if head.size > MAX_MANIFEST_BYTES => {
            problems.push(Problem::new(
                files.format.file_name(),
                format!(
                    "the manifest has {} bytes; a job takes at most {MAX_MANIFEST_BYTES} bytes ({} MiB) and {MAX_ROWS} rows: split the data into several jobs",
                    head.size,
                    MAX_MANIFEST_BYTES >> 20
                ),
            ));
            let total = problems.len();
            return reject(deps, bucket, &files, key, &head.etag, problems, total).await;
        }
        Some(_) => {}
    }
    let Some((reader, etag)) = deps.blobs.open(bucket, key).await? else {
        tracing::warn!(job_id, key, "the manifest was deleted before it could be read");
        return Ok(Outcome::Vanished);
    };
    let mut total_problems = problems.len();
    let mut rows_seen = 0u64;
    let mut columns: Vec<String> = Vec::new();
    match Rows::open(reader, files.format).await {
        Err(p) => {
            problems.push(p);
            total_problems += 1;
        }
        Ok(mut rows) => {
            // 128-bit digests, not the ids: memory stays flat for big manifests.
            let mut ids: HashSet<u128> = HashSet::new();
            let placeholders = template_text.as_deref().map(template::placeholders).unwrap_or_default();
            let mut missing_reported: HashSet<String> = HashSet::new();
            let training = spec.as_ref().and_then(|s| s.training.as_ref());
            // Known once the columns are (the header, or the first JSON row).
            let mut numeric_features: Option<Vec<String>> = None;
            while let Some(row) = rows.next().await {
                let problem = match row {
                    Err(p) => Some(p),
                    Ok(_) if rows_seen == MAX_ROWS => {
                        problems.push(Problem::new(
                            files.format.file_name(),
                            format!("the manifest has more than {MAX_ROWS} rows, the most one job takes: split the data into several jobs"),
                        ));
                        total_problems += 1;
                        break;
                    }
                    Ok(row) => {
                        rows_seen += 1;
                        if rows_seen == 1 {
                            if let Some(t) = training {
                                let column_problems = t.column_problems(&rows.columns);
                                total_problems += column_problems.len();
                                problems.extend(column_problems);
                                if t.numeric_features() {
                                    numeric_features = Some(t.feature_columns(&rows.columns));
                                }
                            }
                        }
                        check_row(
                            &row,
                            &mut ids,
                            &placeholders,
                            &mut missing_reported,
                            template_text.as_deref(),
                            spec.as_ref(),
                            files.format,
                        )
                        .or_else(|| numeric_features.as_deref().and_then(|f| check_features(&row, f, files.format)))
                    }
                };
                if let Some(p) = problem {
                    total_problems += 1;
                    if problems.len() < problems::MAX_LISTED {
                        problems.push(p);
                    }
                }
            }
            columns = rows.columns.clone();
            if rows_seen == 0 && total_problems == 0 {
                problems.push(Problem::new(files.format.file_name(), "the manifest has no rows"));
                total_problems += 1;
            }
        }
    }

    let now = now_ms();
    let (Some(spec), Some(template_text), 0) = (spec, template_text, total_problems) else {
        return reject(deps, bucket, &files, key, &etag, problems, total_problems).await;
    };

    // 3. the job, then the items, then the queue
    let mut job = Job::new(job_id, JobStatus::Publishing, spec, template_text, key, &etag, rows_seen);
    job.bucket = bucket.into();
    job.columns = columns;
    if !deps.store.create_job(&job).await? {
        // Another ingest of this upload got there first, or a crashed one is
        // being redelivered: the job record says which.
        match deps.store.job(job_id).await? {
            Some(j) if j.manifest_etag == etag && j.status == JobStatus::Publishing => {
                tracing::info!(job_id, "resuming an interrupted ingest");
            }
            _ => return Ok(Outcome::Duplicate),
        }
    }
    let _ = deps.blobs.delete(bucket, &format!("{}errors.json", files.prefix)).await;

    let Some((reader, etag_again)) = deps.blobs.open(bucket, key).await? else {
        deps.store
            .transition(
                job_id,
                &[JobStatus::Publishing],
                JobStatus::Failed,
                Some("the manifest was deleted during ingest; upload it again"),
            )
            .await?;
        return Ok(Outcome::Vanished);
    };
    if etag_again != etag {
        deps.store
            .transition(
                job_id,
                &[JobStatus::Publishing],
                JobStatus::Failed,
                Some("the manifest changed during ingest; upload it again"),
            )
            .await?;
        return Ok(Outcome::Vanished);
    }
    let mut rows = Rows::open(reader, files.format).await.map_err(|p| Error::Retryable(p.message))?;
    let mut chunk = Vec::with_capacity(WRITE_CHUNK);
    while let Some(row) = rows.next().await {
        let row =
            row.map_err(|p| Error::Retryable(format!("the manifest read differently the second time: {}", p.message)))?;
        chunk.push(Item {
            job_id: job_id.into(),
            item_id: row.id,
            line: row.line,
            values: row.values,
            status: ItemStatus::Pending,
            hit_id: None,
            bought: 0,
            rounds: 0,
            label: None,
            agreed: 0,
            answers: 0,
            updated_at: now,
        });
        if chunk.len() == WRITE_CHUNK {
            write_and_queue(deps, &chunk).await?;
            chunk.clear();
        }
    }
    write_and_queue(deps, &chunk).await?;
    deps.store.transition(job_id, &[JobStatus::Publishing], JobStatus::Labeling, None).await?;
    tracing::info!(job_id, items = rows_seen, "job accepted");
    Ok(Outcome::Accepted { items: rows_seen })
}

fn check_row(
    row: &crate::manifest::Row,
    ids: &mut HashSet<u128>,
    placeholders: &[String],
    missing_reported: &mut HashSet<String>,
    template_text: Option<&str>,
    spec: Option<&JobSpec>,
    format: Format,
) -> Option<Problem> {
    let file = format.file_name();
    if !ids.insert(id_digest(&row.id)) {
        return Some(Problem::at(file, row.line, format!("id {:?} is used by an earlier row", row.id)));
    }
    if let Some(missing) = placeholders.iter().find(|p| !row.values.contains_key(*p)) {
        if format == Format::Csv && !missing_reported.insert(missing.clone()) {
            return None; // a missing CSV column is reported once
        }
        return Some(Problem::at(
            file,
            row.line,
            format!("the template uses ${{{missing}}} but the row has no {missing:?} column"),
        ));
    }
    let (Some(t), Some(spec)) = (template_text, spec) else { return None };
    match template::render(t, &row.values) {
        Ok(page) => {
            let q = template::html_question(&page, spec.task.frame_height);
            if q.len() > template::MAX_QUESTION_BYTES {
                return Some(Problem::at(
                    file,
                    row.line,
                    format!(
                        "the question for row {:?} is {} bytes after substitution; MTurk allows {}",
                        row.id,
                        q.len(),
                        template::MAX_QUESTION_BYTES
                    ),
                ));
            }
            None
        }
        Err(e) => Some(Problem::at(file, row.line, e)),
    }
}

/// The features of a row, when the split layout needs numbers.
fn check_features(row: &crate::manifest::Row, features: &[String], format: Format) -> Option<Problem> {
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
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_le_bytes(b)
}

async fn write_and_queue(deps: &Deps, items: &[Item]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    deps.store.put_new_items(items).await?;
    let bodies = items.iter().map(PublishItem::body_for).collect::<Result<Vec<_>>>()?;
    deps.queue.send_all(&deps.config.publish_queue_url, bodies).await
}

/// `<prefix>errors.json`: every problem, where the user looks.
async fn put_errors(
    deps: &Deps,
    bucket: &str,
    prefix: &str,
    job_id: &str,
    problems: &[Problem],
    total: usize,
) -> Result<()> {
    let report = problems::report(job_id, problems, total);
    let body = serde_json::to_vec_pretty(&report).map_err(Error::permanent)?;
    deps.blobs.put(bucket, &format!("{prefix}errors.json"), body, "application/json").await
}

async fn reject(
    deps: &Deps,
    bucket: &str,
    files: &JobFiles,
    key: &str,
    etag: &str,
    problems: Vec<Problem>,
    total: usize,
) -> Result<Outcome> {
    let job_id = files.job_id.as_str();
    put_errors(deps, bucket, &files.prefix, job_id, &problems, total).await?;
    let summary = match problems.first() {
        Some(p) => format!(
            "{total} problem(s) in the input, see {}errors.json; first: {}{}: {}",
            files.prefix,
            p.file,
            p.line.map(|l| format!(" line {l}")).unwrap_or_default(),
            p.message
        ),
        None => "invalid input".into(),
    };
    let mut job = Job::new(job_id, JobStatus::Failed, JobSpec::unusable(), String::new(), key, etag, 0);
    job.bucket = bucket.into();
    job.reason = Some(summary);
    if let Err(e) = deps.store.put_failed_job(&job).await {
        tracing::warn!(job_id, error = %e, "could not record the failed job");
    }
    tracing::warn!(job_id, problems = total, "job rejected: see errors.json");
    Ok(Outcome::Rejected { problems: total })
}
