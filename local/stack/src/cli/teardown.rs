//! `hitloop teardown <job> [--outputs]`: deletes the job's endpoint, its
//! endpoint configurations and models (and with `--outputs` everything under
//! `jobs/<job>/output/`). The job becomes `torn_down` first, so no deployment
//! starts after; every delete tolerates what is gone, so running it twice, or
//! while a deployment is in flight, is safe.

use hitloop_core::plan::teardown::{teardown as plan, TEARDOWN_FROM};
use hitloop_core::records::JobStatus;
use hitloop_pipeline::ports::Jobs;

use super::target::Target;

const REASON: &str = "torn down by hitloop teardown";

pub async fn teardown(target: &Target, job_id: &str, outputs: bool) -> Result<String, String> {
    let job = target
        .store
        .job(job_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no job {job_id} in this stack"))?;
    let what = plan(&job)?;
    let moved = target
        .store
        .transition(job_id, &TEARDOWN_FROM, JobStatus::TornDown, Some(REASON))
        .await
        .map_err(|e| e.to_string())?;
    if !moved {
        return Err(format!("job {job_id} changed state while being torn down; run hitloop teardown again"));
    }
    let mut out = format!("job {job_id}: torn_down\n");
    let said = |gone: bool, what: &str, name: &str| {
        if gone {
            format!("  deleted {what} {name}\n")
        } else {
            format!("  {what} {name}: none\n")
        }
    };
    if let Some(endpoint) = &what.endpoint {
        let gone = target.deployer.delete_endpoint(endpoint).await.map_err(|e| {
            format!("cannot delete the endpoint {endpoint}: {e} (it may still be being created: run hitloop teardown again in a few minutes)")
        })?;
        out.push_str(&said(gone, "endpoint", endpoint));
    }
    for model in &what.models {
        let gone =
            target.deployer.delete_model(model).await.map_err(|e| format!("cannot delete the model {model}: {e}"))?;
        out.push_str(&said(gone, "model and endpoint configuration", model));
    }
    if outputs {
        let n = delete_prefix(target, &what.outputs_prefix).await?;
        out.push_str(&format!("  deleted {n} objects under s3://{}/{}\n", target.bucket, what.outputs_prefix));
    }
    Ok(out)
}

/// Deletes every object under `prefix`; how many.
async fn delete_prefix(target: &Target, prefix: &str) -> Result<usize, String> {
    let mut deleted = 0;
    let mut pages = target.s3.list_objects_v2().bucket(&target.bucket).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("cannot list {prefix}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        for key in page.contents().iter().filter_map(|o| o.key()) {
            target
                .s3
                .delete_object()
                .bucket(&target.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| format!("cannot delete {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
