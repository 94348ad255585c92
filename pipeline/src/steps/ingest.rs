//! ingest: a manifest was uploaded. Validate everything first (job.json, the
//! template, every row); then write the job and its items and hand the items
//! to the publish queue. Invalid input creates nothing and says why in
//! `jobs/<job>/errors.json`. job.json uploaded for a live job goes to
//! `amend`.

use std::sync::Arc;

use hitloop_core::error::{Error, Result};
use hitloop_core::job::JobSpec;
use hitloop_core::manifest::{Format, Rows};
use hitloop_core::messages::PublishItem;
use hitloop_core::plan::ingest::{
    job_files, job_json_key, rejection_summary, too_big, Flow, JobFiles, ManifestCheck, MAX_JOB_JSON,
    MAX_MANIFEST_BYTES, MAX_TEMPLATE,
};
use hitloop_core::predict::batch_key;
use hitloop_core::problems::{self, Problem};
use hitloop_core::publish_order::{Shuffler, SHUFFLE_BUFFER};
use hitloop_core::quality::{gold_label, GoldMix};
use hitloop_core::records::{now_ms, Item, Job, JobStatus};
use hitloop_core::template;

use crate::ports::{Batches, Blobs, Items, Jobs, Queue};
use crate::steps::{amend, predict};

pub trait IngestStore: Jobs + Items + Batches {}
impl<T: Jobs + Items + Batches + ?Sized> IngestStore for T {}

#[derive(Clone)]
pub struct IngestDeps {
    pub store: Arc<dyn IngestStore>,
    pub blobs: Arc<dyn Blobs>,
    pub queue: Arc<dyn Queue>,
    pub publish_queue_url: String,
    /// Where prediction batches go once checked (train).
    pub training_queue_url: String,
}

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
    JobJson(amend::Outcome),
    /// A prediction batch: see `predict`.
    Batch(predict::Received),
}

pub async fn ingest(deps: &IngestDeps, bucket: &str, key: &str) -> Result<Outcome> {
    if let Some(job_id) = job_json_key(key) {
        return amend::job_json_uploaded(deps, bucket, job_id).await.map(Outcome::JobJson);
    }
    match batch_key(key) {
        Some(Ok(batch)) => return predict::receive(deps, bucket, &batch).await.map(Outcome::Batch),
        Some(Err(e)) => {
            tracing::error!(key, "{e}");
            return Ok(Outcome::Ignored);
        }
        None => {}
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
            return second_upload(deps, bucket, key, &files, &existing).await;
        }
    }

    // 1. job.json and the template
    let mut problems: Vec<Problem> = Vec::new();
    let spec = match deps.blobs.text(bucket, &format!("{}job.json", files.prefix), MAX_JOB_JSON).await {
        Ok(Some(text)) => JobSpec::parse(&text).map_err(|p| problems.extend(p)).ok(),
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
        Some(spec) => read_template(deps, bucket, &files, spec, &mut problems).await?,
        None => None,
    };

    // 2. every row, without keeping the rows
    match deps.blobs.head(bucket, key).await? {
        None => {
            tracing::warn!(job_id, key, "the manifest was deleted before it could be read");
            return Ok(Outcome::Vanished);
        }
        Some(head) if head.size > MAX_MANIFEST_BYTES => {
            problems.push(too_big(files.format, head.size));
            let total = problems.len();
            return reject(deps, bucket, &files, key, &head.etag, problems, total).await;
        }
        Some(_) => {}
    }
    let Some((reader, etag)) = deps.blobs.open(bucket, key).await? else {
        tracing::warn!(job_id, key, "the manifest was deleted before it could be read");
        return Ok(Outcome::Vanished);
    };
    let mut check = ManifestCheck::new(spec.as_ref(), template_text.as_deref(), files.format, problems);
    let mut columns: Vec<String> = Vec::new();
    match Rows::open(reader, files.format).await {
        Err(p) => check.unreadable(p),
        Ok(mut rows) => {
            while let Some(row) = rows.next().await {
                if check.row(row, &rows.columns) == Flow::Stop {
                    break;
                }
            }
            columns = rows.columns.clone();
            check.finish();
        }
    }
    let (rows_seen, total, gold_rows) = (check.rows, check.total, check.gold_rows);
    let problems = check.problems;
    let (Some(spec), Some(template_text), 0) = (spec, template_text, total) else {
        return reject(deps, bucket, &files, key, &etag, problems, total).await;
    };
    // Gold rows past the job's share are left out.
    let mix = GoldMix::new(&spec.gold, gold_rows, rows_seen - gold_rows);
    let items = rows_seen - (gold_rows - mix.quota);

    // 3. the job, then the items, then the queue
    let mut job = Job::new(job_id, JobStatus::Publishing, spec, template_text, key, &etag, items);
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
    if !write_items(deps, bucket, key, &job, &etag, files.format, Some(mix)).await? {
        return Ok(Outcome::Vanished);
    }
    deps.store.transition(job_id, &[JobStatus::Publishing], JobStatus::Labeling, None).await?;
    tracing::info!(job_id, items, gold = mix.quota, "job accepted");
    Ok(Outcome::Accepted { items })
}

/// A manifest for a job that exists and is live: the same one again resumes
/// an ingest that died before it finished (its event redelivered, or the
/// upload repeated), else does nothing; another is refused in
/// upload-refused.json.
async fn second_upload(
    deps: &IngestDeps,
    bucket: &str,
    key: &str,
    files: &JobFiles,
    existing: &Job,
) -> Result<Outcome> {
    let job_id = files.job_id.as_str();
    let Some(head) = deps.blobs.head(bucket, key).await? else { return Ok(Outcome::Vanished) };
    if head.etag == existing.manifest_etag {
        if existing.status != JobStatus::Publishing {
            tracing::info!(job_id, "manifest already ingested; nothing to do");
            return Ok(Outcome::Duplicate);
        }
        // Validated when the job was created: write what is missing, queue it all.
        tracing::info!(job_id, "resuming an interrupted ingest");
        if !write_items(deps, bucket, key, existing, &head.etag, files.format, None).await? {
            return Ok(Outcome::Vanished);
        }
        deps.store.transition(job_id, &[JobStatus::Publishing], JobStatus::Labeling, None).await?;
        return Ok(Outcome::Accepted { items: existing.items });
    }
    let note = serde_json::json!({
        "job_id": job_id,
        "refused": key,
        "reason": format!("job {job_id} is {} with another manifest; a job takes one manifest. Start a new job to label more data.", existing.status),
    });
    deps.blobs
        .put(bucket, &format!("{}upload-refused.json", files.prefix), note.to_string().into_bytes(), "application/json")
        .await?;
    tracing::warn!(job_id, key, "refused a second manifest for a live job");
    Ok(Outcome::Refused)
}

async fn read_template(
    deps: &IngestDeps,
    bucket: &str,
    files: &JobFiles,
    spec: &JobSpec,
    problems: &mut Vec<Problem>,
) -> Result<Option<String>> {
    match deps.blobs.text(bucket, &format!("{}{}", files.prefix, spec.template), MAX_TEMPLATE).await {
        Ok(Some(t)) => {
            for p in template::check(&t, spec.answer.format, &spec.answer.field) {
                problems.push(Problem::new(&spec.template, p));
            }
            Ok(Some(t))
        }
        Ok(None) => {
            problems.push(Problem::new(
                &spec.template,
                format!("the template {} is missing next to the manifest", spec.template),
            ));
            Ok(None)
        }
        Err(Error::Invalid(m)) => {
            problems.push(Problem::new(&spec.template, m));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Reads the manifest again and writes its items, a chunk at a time, each
/// chunk queued for publishing once written, in the job's publish order
/// (shuffled unless it asks for the manifest's). Items that exist already (a
/// resumed or racing ingest) are left as they are and queued again: publish
/// skips what was posted. False: the manifest vanished or changed meanwhile
/// (the job failed, saying so). `mix`: which gold rows to use, counted when
/// the rows were checked (None: a resumed ingest counts them again).
async fn write_items(
    deps: &IngestDeps,
    bucket: &str,
    key: &str,
    job: &Job,
    etag: &str,
    format: Format,
    mix: Option<GoldMix>,
) -> Result<bool> {
    let job_id = job.job_id.as_str();
    let fail = |why: &'static str| async move {
        deps.store.transition(job_id, &[JobStatus::Publishing], JobStatus::Failed, Some(why)).await
    };
    let mut mix = match mix {
        Some(m) => m,
        None if job.spec.gold.share.is_none() => GoldMix::every(),
        None => match count_gold(deps, bucket, key, &job.spec, format).await? {
            Some((gold, ordinary)) => GoldMix::new(&job.spec.gold, gold, ordinary),
            None => {
                fail("the manifest was deleted during ingest; upload it again").await?;
                return Ok(false);
            }
        },
    };
    let Some((reader, etag_again)) = deps.blobs.open(bucket, key).await? else {
        fail("the manifest was deleted during ingest; upload it again").await?;
        return Ok(false);
    };
    if etag_again != etag {
        fail("the manifest changed during ingest; upload it again").await?;
        return Ok(false);
    }
    let now = now_ms();
    let mut rows = Rows::open(reader, format).await.map_err(|p| Error::Retryable(p.message))?;
    let mut chunk = Vec::with_capacity(WRITE_CHUNK);
    let mut order = Shuffler::new(job.spec.publish_order, job_id, SHUFFLE_BUFFER);
    while let Some(row) = rows.next().await {
        let row =
            row.map_err(|p| Error::Retryable(format!("the manifest read differently the second time: {}", p.message)))?;
        if gold_label(&job.spec, &row.values).is_some() && !mix.admit() {
            continue;
        }
        if let Some(item) = order.push(Item::pending(job_id, &row.id, row.line, row.values, now)) {
            add_to_chunk(deps, &mut chunk, item).await?;
        }
    }
    for item in order.drain() {
        add_to_chunk(deps, &mut chunk, item).await?;
    }
    write_and_queue(deps, &chunk).await?;
    Ok(true)
}

/// Adds `item` to `chunk`, written and queued once it is full.
async fn add_to_chunk(deps: &IngestDeps, chunk: &mut Vec<Item>, item: Item) -> Result<()> {
    chunk.push(item);
    if chunk.len() == WRITE_CHUNK {
        write_and_queue(deps, chunk).await?;
        chunk.clear();
    }
    Ok(())
}

/// The manifest's gold rows and other rows (None: it is gone).
async fn count_gold(
    deps: &IngestDeps,
    bucket: &str,
    key: &str,
    spec: &JobSpec,
    format: Format,
) -> Result<Option<(u64, u64)>> {
    let Some((reader, _)) = deps.blobs.open(bucket, key).await? else { return Ok(None) };
    let mut rows = Rows::open(reader, format).await.map_err(|p| Error::Retryable(p.message))?;
    let (mut gold, mut ordinary) = (0, 0);
    while let Some(row) = rows.next().await {
        let row = row.map_err(|p| Error::Retryable(p.message))?;
        match gold_label(spec, &row.values) {
            Some(_) => gold += 1,
            None => ordinary += 1,
        }
    }
    Ok(Some((gold, ordinary)))
}

async fn write_and_queue(deps: &IngestDeps, items: &[Item]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    deps.store.put_new_items(items).await?;
    let bodies = items.iter().map(PublishItem::body_for).collect::<Result<Vec<_>>>()?;
    deps.queue.send_all(&deps.publish_queue_url, bodies).await
}

/// `<prefix>errors.json`: every problem, where the user looks.
async fn put_errors(
    deps: &IngestDeps,
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
    deps: &IngestDeps,
    bucket: &str,
    files: &JobFiles,
    key: &str,
    etag: &str,
    problems: Vec<Problem>,
    total: usize,
) -> Result<Outcome> {
    let job_id = files.job_id.as_str();
    put_errors(deps, bucket, &files.prefix, job_id, &problems, total).await?;
    let mut job = Job::new(job_id, JobStatus::Failed, JobSpec::unusable(), String::new(), key, etag, 0);
    job.bucket = bucket.into();
    job.reason = Some(rejection_summary(&files.prefix, &problems, total));
    if let Err(e) = deps.store.put_failed_job(&job).await {
        tracing::warn!(job_id, error = %e, "could not record the failed job");
    }
    tracing::warn!(job_id, problems = total, "job rejected: see errors.json");
    Ok(Outcome::Rejected { problems: total })
}
