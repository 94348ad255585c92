//! `hitloop submit <dir>`: upload a job folder (job.json, its template, the
//! manifest last: that upload starts the job).

use std::path::Path;

use hitloop_core::ids::check_job_id;
use hitloop_core::job::JobSpec;

use super::target::Target;

/// The job id a folder gets by default: its name, made valid.
pub fn job_id_from_dir(dir: &Path) -> String {
    let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let id: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).take(48).collect();
    id.trim_start_matches('-').to_string()
}

pub async fn submit(target: &Target, dir: &Path, job_id: Option<String>) -> Result<String, String> {
    let job_id = job_id.unwrap_or_else(|| job_id_from_dir(dir));
    check_job_id(&job_id)?;
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| format!("cannot read {}: {e}", dir.join(name).display()))
    };
    let job_json = read("job.json")?;
    // Only to find the template's name; ingest checks everything and says what is wrong in errors.json.
    let template = match JobSpec::parse(&String::from_utf8_lossy(&job_json)) {
        Ok(spec) => spec.template,
        Err(_) => "template.html".into(),
    };
    let manifest = ["manifest.csv", "manifest.jsonl"]
        .into_iter()
        .find(|m| dir.join(m).exists())
        .ok_or_else(|| format!("{} has no manifest.csv or manifest.jsonl", dir.display()))?;
    let s3 = &target.s3;
    let mut files = vec![("job.json".to_string(), job_json)];
    if dir.join(&template).exists() {
        files.push((template.clone(), read(&template)?));
    }
    files.push((manifest.to_string(), read(manifest)?));
    for (name, body) in files {
        let key = format!("jobs/{job_id}/{name}");
        s3.put_object()
            .bucket(&target.bucket)
            .key(&key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| format!("cannot upload {key}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    }
    Ok(job_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_become_job_ids() {
        assert_eq!(job_id_from_dir(Path::new("examples/iris")), "iris");
        assert_eq!(job_id_from_dir(Path::new("/x/My Job_2")), "my-job-2");
    }
}
