//! `hitloop export <job> <dir>`: download a job's outputs, and its
//! prediction batches (into `<dir>/predict/`).

use std::path::{Path, PathBuf};

use super::target::Target;

pub async fn export(target: &Target, job_id: &str, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = download(target, &format!("jobs/{job_id}/output/"), dir).await?;
    if written.is_empty() {
        return Err(format!(
            "job {job_id} has no outputs yet (they are written when every item is decided): see `hitloop status {job_id}`"
        ));
    }
    written.extend(download(target, &format!("jobs/{job_id}/predict/"), &dir.join("predict")).await?);
    Ok(written)
}

/// Every object under `prefix`, written under `dir` by its path below it.
async fn download(target: &Target, prefix: &str, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let s3 = &target.s3;
    let mut written = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(&target.bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| format!("cannot list {prefix}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            let relative = &key[prefix.len()..];
            if relative.is_empty() || relative.split('/').any(|p| p == ".." || p.is_empty()) {
                continue;
            }
            let body = target.get(key).await.ok_or_else(|| format!("cannot read {key}"))?;
            let path = dir.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::write(&path, body).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            written.push(path);
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() {
            return Ok(written);
        }
    }
}
