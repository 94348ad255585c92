//! `hitloop resume <job> [--budget <usd>]`: upload the job's job.json again,
//! with a new budget if given. That upload is what resumes a paused job (and
//! changes a running job's budget); ingest refuses any other change.

use hitloop_core::job::JobSpec;
use hitloop_core::money::Usd;
use hitloop_core::records::JobStatus;
use hitloop_pipeline::ports::Jobs;

use super::target::Target;

pub async fn resume(target: &Target, job_id: &str, budget: Option<&str>) -> Result<String, String> {
    let key = format!("jobs/{job_id}/job.json");
    let before = target.store.job(job_id).await.map_err(|e| e.to_string())?;
    let text = target.get(&key).await.ok_or_else(|| format!("there is no s3://{}/{key}", target.bucket))?;
    let mut job: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{key} is not JSON any more: {e}"))?;
    if let Some(b) = budget {
        let usd: Usd = b.parse().map_err(|e| format!("--budget {b}: {e}"))?;
        job["budget_usd"] = serde_json::Value::String(usd.to_string());
    }
    let body = serde_json::to_string_pretty(&job).map_err(|e| e.to_string())?;
    JobSpec::parse(&body).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(|p| format!("  {}", p.message)).collect();
        format!("the new job.json would be refused:\n{}", lines.join("\n"))
    })?;
    target
        .s3
        .put_object()
        .bucket(&target.bucket)
        .key(&key)
        .content_type("application/json")
        .body(body.into_bytes().into())
        .send()
        .await
        .map_err(|e| format!("cannot upload {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let uploaded = match budget {
        Some(_) => format!("uploaded {key} with budget_usd {}", job["budget_usd"].as_str().unwrap_or_default()),
        None => format!("uploaded {key} again"),
    };
    if !before.is_some_and(|j| j.status == JobStatus::Paused) {
        return Ok(uploaded);
    }
    // A paused job: wait for ingest to take the upload, and say what came of it.
    let refused = format!("jobs/{job_id}/upload-refused.json");
    let _ = target.s3.delete_object().bucket(&target.bucket).key(&refused).send().await;
    for _ in 0..120 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if let Some(note) = target.get(&refused).await {
            return Err(format!("{uploaded}, but it was refused: {}", String::from_utf8_lossy(&note)));
        }
        match target.store.job(job_id).await.map_err(|e| e.to_string())? {
            Some(j) if j.status != JobStatus::Paused => {
                return Ok(format!("{uploaded}; job {job_id} is {} again", j.status))
            }
            _ => {}
        }
    }
    Err(format!("{uploaded}, but job {job_id} is still paused after 30 seconds: is the stack running?"))
}
