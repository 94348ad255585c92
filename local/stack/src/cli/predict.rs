//! `hitloop predict <job> <file> [--batch NAME] [--watch]`: upload a
//! prediction batch (`jobs/<job>/predict/<batch>/manifest.csv`) and, with
//! `--watch`, wait until it is predicted (and verified, for a job that
//! verifies) or refused, then say where it stands.

use std::path::Path;
use std::time::{Duration, Instant};

use hitloop_core::ids::check_job_id;
use hitloop_core::predict::BatchKeys;
use hitloop_core::records::{BatchStatus, PredictionBatch};
use hitloop_pipeline::ports::Batches;

use super::target::Target;

/// The batch name a file gets by default: its stem, made valid.
pub fn batch_from_file(file: &Path) -> String {
    let stem = file.file_stem().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let id: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).take(48).collect();
    id.trim_start_matches('-').to_string()
}

/// Uploads the batch (its settings first: the manifest starts it).
pub async fn upload(target: &Target, job_id: &str, file: &Path, batch: &str, verify: bool) -> Result<String, String> {
    check_job_id(batch).map_err(|e| format!("the batch name: {}", e.replace("job id", "name")))?;
    let body = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let keys = BatchKeys::of(job_id, batch);
    let settings = serde_json::json!({ "verify": verify }).to_string().into_bytes();
    for (key, body, kind) in [(&keys.settings, settings, "application/json"), (&keys.manifest, body, "text/csv")] {
        target
            .s3
            .put_object()
            .bucket(&target.bucket)
            .key(key)
            .content_type(kind)
            .body(body.into())
            .send()
            .await
            .map_err(|e| format!("cannot upload {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    }
    Ok(format!("uploaded s3://{}/{}", target.bucket, keys.manifest))
}

/// Waits until the batch settles: refused (errors.json), failed, predicted
/// (when nothing is to verify) or verified.
pub async fn watch(target: &Target, job_id: &str, batch: &str, timeout: Duration) -> Result<String, String> {
    let keys = BatchKeys::of(job_id, batch);
    let started = Instant::now();
    loop {
        let record = target.store.batch(job_id, batch).await.map_err(|e| e.to_string())?;
        if let Some(b) = &record {
            if settled(b) {
                return Ok(describe(target, b, &keys));
            }
        } else if let Some(errors) = target.get(&keys.errors).await {
            return Ok(format!("batch {batch} refused; {}:\n{}", keys.errors, String::from_utf8_lossy(&errors)));
        }
        if started.elapsed() > timeout {
            let now = record.map(|b| format!("{:?}", b.status).to_lowercase()).unwrap_or_else(|| "not received".into());
            return Err(format!("batch {batch} is still {now} after {} s", timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn settled(b: &PredictionBatch) -> bool {
    match b.status {
        BatchStatus::Failed => true,
        // Settled once a retrain has taken its rows.
        BatchStatus::Verified => !b.waits_for_retrain(),
        BatchStatus::Predicted => b.verification.is_none(),
        BatchStatus::Received | BatchStatus::Transforming => false,
    }
}

fn describe(target: &Target, b: &PredictionBatch, keys: &BatchKeys) -> String {
    let mut out = format!("batch {} of job {}: {:?}\n", b.batch, b.job_id, b.status).to_lowercase();
    out.push_str(&format!("  rows: {}, model version {}\n", b.rows, b.model_version.unwrap_or_default()));
    match (&b.endpoint, &b.transform_job) {
        (Some(e), _) => out.push_str(&format!("  predicted by: endpoint {e}\n")),
        (None, Some(t)) => out.push_str(&format!("  predicted by: transform job {t}\n")),
        (None, None) => {}
    }
    if let Some(why) = &b.reason {
        out.push_str(&format!("  reason: {why}\n"));
    }
    if let (Some(n), Some(v)) = (b.unsure, &b.verification) {
        out.push_str(&format!("  unsure rows sent to people: {n} (verification job {v})\n"));
    }
    match b.retrain_version {
        Some(v) => out.push_str(&format!("  retraining: model version {v}\n")),
        None if b.waits_for_retrain() => {
            out.push_str("  retraining: waits for the model version in training or deploying\n")
        }
        None => {}
    }
    if b.status != BatchStatus::Failed {
        out.push_str(&format!("  predictions: s3://{}/{}\n", target.bucket, keys.predictions));
    }
    out
}
