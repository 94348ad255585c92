//! job.json uploaded again for a live job: the way a user raises (or lowers)
//! its budget and resumes a paused job. A job's HITs were posted with its
//! task, labels and rules, so the budget is the only thing that may change;
//! any other difference is refused, in `upload-refused.json`, and the job
//! goes on as it was.

use crate::job::JobSpec;
use crate::money::Usd;
use crate::problems::Problem;
use crate::records::{Job, JobStatus};

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// No job yet (job.json comes before the manifest), or a failed one
    /// (uploading the manifest again retries it).
    NotLive,
    /// Refuse the upload, saying why; the job is untouched.
    Refuse(Vec<Problem>),
    /// Read the new job.json.
    Read,
    /// Apply it: set the budget to `budget` (if it `changes`) and resume
    /// the job if it was paused.
    Apply { budget: Option<Usd>, changes: bool },
}

/// Before reading the upload: is there a live job to amend?
pub fn before_reading(job: Option<&Job>) -> Plan {
    let Some(job) = job else { return Plan::NotLive };
    match job.status {
        JobStatus::Failed => Plan::NotLive,
        JobStatus::Publishing | JobStatus::Labeling | JobStatus::Paused => Plan::Read,
        done => Plan::Refuse(vec![Problem::new(
            "job.json",
            format!("job {} is {done}: labeling is over and job.json changes nothing now", job.job_id),
        )]),
    }
}

/// The new job.json (parsed, or its problems) against the live job.
pub fn with_upload(job: &Job, upload: Result<JobSpec, Vec<Problem>>) -> Plan {
    let spec = match upload {
        Ok(s) => s,
        Err(problems) => return Plan::Refuse(problems),
    };
    let changed = job.spec.changes_besides_budget(&spec);
    if !changed.is_empty() {
        return Plan::Refuse(
            changed
                .iter()
                .map(|f| {
                    Problem::field(
                        "job.json",
                        f,
                        format!("{f} differs from the running job's; its HITs were posted with it, so only budget_usd may change (start a new job for a different task)"),
                    )
                })
                .collect(),
        );
    }
    Plan::Apply { budget: spec.budget_usd, changes: spec.budget_usd != job.spec.budget_usd }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: JobStatus) -> Job {
        Job::new("j", status, JobSpec::parse(r#"{"labels": ["a", "b"]}"#).unwrap(), String::new(), "k", "e", 1)
    }

    #[test]
    fn only_live_jobs_are_amended() {
        assert_eq!(before_reading(None), Plan::NotLive);
        assert_eq!(before_reading(Some(&job(JobStatus::Failed))), Plan::NotLive);
        assert_eq!(before_reading(Some(&job(JobStatus::Paused))), Plan::Read);
        let Plan::Refuse(p) = before_reading(Some(&job(JobStatus::Trained))) else { panic!() };
        assert!(p[0].message.contains("labeling is over"));
    }

    #[test]
    fn only_the_budget_may_change() {
        let j = job(JobStatus::Labeling);
        let mut richer = j.spec.clone();
        richer.budget_usd = Some(Usd::from_cents(500));
        let more = Some(Usd::from_cents(500));
        assert_eq!(with_upload(&j, Ok(richer.clone())), Plan::Apply { budget: more, changes: true });
        assert_eq!(with_upload(&j, Ok(j.spec.clone())), Plan::Apply { budget: None, changes: false });
        richer.labels.push("c".into());
        let Plan::Refuse(p) = with_upload(&j, Ok(richer)) else { panic!() };
        assert_eq!(p[0].field.as_deref(), Some("labels"));
        let bad = vec![Problem::new("job.json", "not JSON")];
        assert_eq!(with_upload(&j, Err(bad.clone())), Plan::Refuse(bad));
    }
}
