//! `hitloop teardown`: what a job deployed, to delete, and from which states
//! a job may be torn down. The job moves to `torn_down` before anything is
//! deleted, so no deployment starts after (train moves only a `training` or
//! `deploying` job on, and deletes what it created if the job was torn down
//! while it was asking SageMaker).

use crate::deploy::{endpoint_name, model_name};
use crate::records::{Job, JobStatus};

/// Every state past labeling: a job still labeling (or paused) has deployed
/// nothing, and tearing it down would strand its HITs.
pub const TEARDOWN_FROM: [JobStatus; 8] = JobStatus::PAST_LABELING;

/// What to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teardown {
    /// The job's endpoint, if the job asks for one.
    pub endpoint: Option<String>,
    /// Every model version (each with its endpoint configuration of the
    /// same name) the job may have created.
    pub models: Vec<String>,
    /// Where the job's outputs are (`--outputs`).
    pub outputs_prefix: String,
}

pub fn teardown(job: &Job) -> Result<Teardown, String> {
    if !TEARDOWN_FROM.contains(&job.status) {
        return Err(format!(
            "job {} is {}: teardown deletes what a job deployed once its labeling is over",
            job.job_id, job.status
        ));
    }
    let versions = match (&job.deployment, &job.spec.deploy) {
        (Some(d), _) => d.version.max(1),
        (None, Some(_)) => 1,
        (None, None) => 0,
    };
    Ok(Teardown {
        endpoint: (versions > 0).then(|| endpoint_name(&job.job_id, job.created_at)),
        models: (1..=versions).map(|v| model_name(&job.job_id, job.created_at, v)).collect(),
        outputs_prefix: format!("jobs/{}/output/", job.job_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::DeploymentRecord;

    fn job(status: JobStatus, deploy: bool) -> Job {
        let extra = if deploy { r#", "deploy": {}"# } else { "" };
        let spec =
            JobSpec::parse(&format!(r#"{{"labels": ["a", "b"], "training": {{"sagemaker": {{}}}}{extra}}}"#)).unwrap();
        Job::new("j", status, spec, String::new(), "k", "e", 1)
    }

    #[test]
    fn every_model_version_and_the_endpoint_are_deleted() {
        let mut j = job(JobStatus::Deployed, true);
        j.deployment = Some(DeploymentRecord { version: 3, ..Default::default() });
        let t = teardown(&j).unwrap();
        assert_eq!(t.endpoint, Some(endpoint_name("j", j.created_at)));
        assert_eq!(t.models.len(), 3);
        assert!(t.models[2].ends_with("-v3"));
        assert_eq!(t.outputs_prefix, "jobs/j/output/");
        // Torn down while training: the first version may yet be created.
        let t = teardown(&job(JobStatus::Training, true)).unwrap();
        assert_eq!(t.models, [model_name("j", j.created_at, 1)]);
        let t = teardown(&job(JobStatus::Trained, false)).unwrap();
        assert_eq!((t.endpoint, t.models.len()), (None, 0), "nothing deployed: only outputs");
        assert!(teardown(&job(JobStatus::TornDown, true)).is_ok(), "twice");
    }

    #[test]
    fn a_job_still_labeling_is_not_torn_down() {
        for status in [JobStatus::Publishing, JobStatus::Labeling, JobStatus::Paused, JobStatus::Failed] {
            assert!(teardown(&job(status, true)).unwrap_err().contains("once its labeling is over"), "{status}");
        }
    }
}
