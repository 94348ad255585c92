//! Which verified batches the next model version learns from. A batch
//! verified waits until a retrain claims it; the retrain takes every batch
//! waiting when it is claimed, so two batches verified close together train
//! one version, and a batch verified while a version trains or deploys is
//! taken by the next one (its end asks again; sweep asks too).

use crate::records::{BatchStatus, Job, JobStatus, PredictionBatch, VerifiedBatch};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrainPlan {
    /// Claim version `version` and train it on these batches' rows.
    Start { version: u32, verified: Vec<VerifiedBatch> },
    /// A version is training or deploying: the waiting batches go to the one
    /// after it.
    AfterCurrent,
    /// No batch waits.
    Nothing,
    /// The job will not retrain (why, for the log).
    Cannot(String),
}

/// Where a job rests between model versions: a retrain may start (the
/// claim moves the job from one of these).
pub const SETTLED: [JobStatus; 3] = [JobStatus::Trained, JobStatus::Deployed, JobStatus::DeployFailed];

/// Whether the job rests where a retrain may start.
pub fn settled(status: JobStatus) -> bool {
    SETTLED.contains(&status)
}

/// What to do with the job's batches waiting for a retrain.
pub fn next_retrain(job: &Job, batches: &[PredictionBatch]) -> RetrainPlan {
    let mut verified: Vec<VerifiedBatch> = batches
        .iter()
        .filter(|b| b.waits_for_retrain() && !claimed(job, &b.batch))
        .filter_map(|b| {
            b.verification.as_ref().map(|v| VerifiedBatch { batch: b.batch.clone(), verification_job: v.clone() })
        })
        .collect();
    if verified.is_empty() {
        return RetrainPlan::Nothing;
    }
    verified.sort();
    match job.status {
        s if settled(s) => {
            let current = job.training.as_ref().map_or(1, |t| t.model_version());
            RetrainPlan::Start { version: current + 1, verified }
        }
        JobStatus::Training | JobStatus::Deploying => RetrainPlan::AfterCurrent,
        other => RetrainPlan::Cannot(format!("job {} is {other}: no retraining", job.job_id)),
    }
}

/// A batch the job's current training record already learns from.
fn claimed(job: &Job, batch: &str) -> bool {
    job.training.as_ref().is_some_and(|t| t.verified.iter().any(|v| v.batch == batch))
}

/// The batches the job's current retrain claimed that do not say so yet
/// (the claim is written first; a crash may come between): each with the
/// version to record on it.
pub fn unmarked(job: &Job, batches: &[PredictionBatch]) -> Vec<(PredictionBatch, u32)> {
    let Some(record) = job.training.as_ref() else { return Vec::new() };
    batches
        .iter()
        .filter(|b| b.waits_for_retrain() && claimed(job, &b.batch))
        .map(|b| (b.clone(), record.model_version()))
        .collect()
}

/// The batch, its rows claimed by model version `version`.
pub fn claimed_by(batch: &PredictionBatch, version: u32, now: i64) -> PredictionBatch {
    PredictionBatch { retrain_version: Some(version), updated_at: now, ..batch.clone() }
}

/// The statuses a batch is marked from when its retrain claims it.
pub const CLAIMABLE: [BatchStatus; 1] = [BatchStatus::Verified];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::TrainingRecord;

    fn job(status: JobStatus, version: u32) -> Job {
        let spec =
            JobSpec::parse(r#"{"labels": ["a", "b"], "training": {"features": ["x"], "sagemaker": {}}}"#).unwrap();
        let mut j = Job::new("iris", status, spec, String::new(), "k", "e", 2);
        j.training = Some(TrainingRecord { version, ..Default::default() });
        j
    }

    fn batch(name: &str, status: BatchStatus, retrain: Option<u32>) -> PredictionBatch {
        PredictionBatch {
            status,
            model_version: Some(1),
            unsure: Some(3),
            verification: Some(format!("iris-v-{name}")),
            retrain_version: retrain,
            ..PredictionBatch::received("iris", name, 10, true, 1)
        }
    }

    fn vb(name: &str) -> VerifiedBatch {
        VerifiedBatch { batch: name.into(), verification_job: format!("iris-v-{name}") }
    }

    #[test]
    fn every_batch_waiting_goes_into_the_next_version() {
        let batches = [
            batch("b", BatchStatus::Verified, None),
            batch("a", BatchStatus::Verified, None),
            batch("old", BatchStatus::Verified, Some(2)),
            batch("asking", BatchStatus::Predicted, None),
        ];
        for status in [JobStatus::Trained, JobStatus::Deployed, JobStatus::DeployFailed] {
            assert_eq!(
                next_retrain(&job(status, 2), &batches),
                RetrainPlan::Start { version: 3, verified: vec![vb("a"), vb("b")] },
                "{status}"
            );
        }
    }

    #[test]
    fn a_batch_verified_while_a_version_trains_waits_for_the_next() {
        let waiting = [batch("late", BatchStatus::Verified, None)];
        assert_eq!(next_retrain(&job(JobStatus::Training, 2), &waiting), RetrainPlan::AfterCurrent);
        assert_eq!(next_retrain(&job(JobStatus::Deploying, 2), &waiting), RetrainPlan::AfterCurrent);
        assert!(matches!(next_retrain(&job(JobStatus::TornDown, 2), &waiting), RetrainPlan::Cannot(_)));
        assert_eq!(next_retrain(&job(JobStatus::Trained, 2), &[]), RetrainPlan::Nothing);
    }

    #[test]
    fn a_claim_not_yet_on_its_batches_is_found_and_not_claimed_twice() {
        let mut training = job(JobStatus::Training, 3);
        training.training.as_mut().unwrap().verified = vec![vb("a")];
        let batches = [batch("a", BatchStatus::Verified, None), batch("b", BatchStatus::Verified, None)];
        let marks = unmarked(&training, &batches);
        assert_eq!(marks.len(), 1);
        assert_eq!((marks[0].0.batch.as_str(), marks[0].1), ("a", 3));
        assert_eq!(claimed_by(&marks[0].0, 3, 5).retrain_version, Some(3));
        // Settled again with "a" still unmarked: it is not taken a second time.
        training.status = JobStatus::Trained;
        assert_eq!(next_retrain(&training, &batches), RetrainPlan::Start { version: 4, verified: vec![vb("b")] });
    }
}
