//! sweep, on a schedule, finishes what no notification brought: items with
//! a HIT are reconciled (lost notifications, expiries), items without one
//! are queued for publishing again, and jobs that stopped between steps are
//! moved on. These say what to do with each; the step does it through the
//! same idempotent paths collect, publish and train take.

use crate::plan::retrain::settled;
use crate::records::{BatchStatus, Item, ItemStatus, Job, JobStatus, PredictionBatch};

#[derive(Debug, Clone, Copy)]
pub struct SweepLimits {
    /// Items untouched for less than this are left alone (notifications are
    /// probably on their way).
    pub stale_after_ms: i64,
    /// The most items looked at in one run.
    pub max_items: usize,
    /// How long the train function may take with a complete job, or a
    /// training job may stay silent, before sweep asks train to check.
    pub train_patience_ms: i64,
}

impl Default for SweepLimits {
    fn default() -> Self {
        SweepLimits { stale_after_ms: 2 * 60 * 1000, max_items: 2000, train_patience_ms: 30 * 60 * 1000 }
    }
}

/// How long ingest may stay on a job before sweep warns.
pub const INGEST_PATIENCE_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemAction {
    Skip,
    /// Bring it up to date from its HIT.
    Reconcile(String),
    /// Queue it for publishing again (its message was lost).
    Republish,
}

pub fn item_action(item: &Item, job_active: bool, now: i64, limits: &SweepLimits) -> ItemAction {
    if now - item.updated_at < limits.stale_after_ms {
        return ItemAction::Skip;
    }
    match (&item.hit_id, item.status) {
        (Some(hit), _) => ItemAction::Reconcile(hit.clone()),
        (None, ItemStatus::Pending) if job_active => ItemAction::Republish,
        _ => ItemAction::Skip,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    Nothing,
    /// Every item is decided: complete the job (its last decision's
    /// completion was lost).
    Complete,
    /// Complete, but its message to train was never sent.
    SendCompletion,
    /// Train has not finished with it for long: ask train to check.
    CheckTraining,
    /// Its endpoint has been on its way for long: ask train to check.
    CheckDeployment,
    /// Ingest has not finished it for long.
    WarnIngest,
}

pub fn job_action(job: &Job, now: i64, limits: &SweepLimits) -> JobAction {
    let waited = now - job.updated_at;
    match job.status {
        JobStatus::Labeling if job.progress().done() => JobAction::Complete,
        JobStatus::Complete if !job.completion_sent => JobAction::SendCompletion,
        JobStatus::Complete if waits_for_train(job) && waited >= limits.train_patience_ms => JobAction::CheckTraining,
        JobStatus::Training if waited >= limits.train_patience_ms => JobAction::CheckTraining,
        JobStatus::Deploying if waited >= limits.train_patience_ms => JobAction::CheckDeployment,
        JobStatus::Publishing if waited > INGEST_PATIENCE_MS => JobAction::WarnIngest,
        _ => JobAction::Nothing,
    }
}

/// Whether sweep makes the job's final check now: a confidence job whose
/// items are all decided, with nothing left for its blocks to undo. (Its
/// model was refitted first in the same pass.)
pub fn final_check_due(job: &Job) -> bool {
    let p = job.progress();
    p.settled() && p.final_check_due
}

/// Whether sweep asks train to look at an open prediction batch again:
/// one that has waited past train's patience for what only a message or a
/// state change brings (its transform job started or ended, its
/// verification job's completion handled, its retrain claimed). `job`: the
/// batch's job's status; `verification`: its verification job's.
pub fn batch_needs_check(
    batch: &PredictionBatch,
    job: Option<JobStatus>,
    verification: Option<JobStatus>,
    now: i64,
    limits: &SweepLimits,
) -> bool {
    if now - batch.updated_at < limits.train_patience_ms {
        return false;
    }
    match batch.status {
        BatchStatus::Received | BatchStatus::Transforming => true,
        // People are still at it until their job completes.
        BatchStatus::Predicted => batch.waits_for_people() && verification == Some(JobStatus::Complete),
        // A version training or deploying takes the batch when it ends.
        BatchStatus::Verified => batch.waits_for_retrain() && job.is_some_and(settled),
        BatchStatus::Failed => false,
    }
}

/// The statuses whose jobs sweep looks at, in the order it does.
pub const SWEPT: [JobStatus; 5] =
    [JobStatus::Labeling, JobStatus::Complete, JobStatus::Training, JobStatus::Deploying, JobStatus::Publishing];

/// A complete job the train function has not finished with.
fn waits_for_train(job: &Job) -> bool {
    let wants_training = job.spec.training.as_ref().is_some_and(|t| t.sagemaker.is_some());
    job.outputs_at.is_none() || (wants_training && job.training.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::FinalCheck;

    fn item(hit: Option<&str>, status: ItemStatus, updated_at: i64) -> Item {
        let mut i = Item::pending("j", "i", 2, Default::default(), updated_at);
        i.hit_id = hit.map(str::to_string);
        i.status = status;
        i
    }

    #[test]
    fn items_are_reconciled_republished_or_left() {
        let l = SweepLimits::default();
        let now = 10 * 60 * 1000;
        let stale = now - l.stale_after_ms;
        assert_eq!(item_action(&item(Some("H"), ItemStatus::Published, now - 1), true, now, &l), ItemAction::Skip);
        assert_eq!(
            item_action(&item(Some("H"), ItemStatus::Published, stale), false, now, &l),
            ItemAction::Reconcile("H".into())
        );
        assert_eq!(item_action(&item(None, ItemStatus::Pending, stale), true, now, &l), ItemAction::Republish);
        assert_eq!(item_action(&item(None, ItemStatus::Pending, stale), false, now, &l), ItemAction::Skip, "paused");
    }

    fn job(status: JobStatus, training: bool) -> Job {
        let text = if training {
            r#"{"labels": ["a", "b"], "training": {"features": ["x"], "sagemaker": {"algorithm": "xgboost"}}}"#
        } else {
            r#"{"labels": ["a", "b"]}"#
        };
        let mut j = Job::new("j", status, JobSpec::parse(text).unwrap(), String::new(), "k", "e", 3);
        j.updated_at = 0;
        j
    }

    #[test]
    fn jobs_move_on_where_a_message_was_lost() {
        let l = SweepLimits::default();
        let late = l.train_patience_ms;
        let mut labeling = job(JobStatus::Labeling, false);
        assert_eq!(job_action(&labeling, late, &l), JobAction::Nothing);
        labeling.decided = 3;
        assert_eq!(job_action(&labeling, 0, &l), JobAction::Complete);
        let mut complete = job(JobStatus::Complete, true);
        assert_eq!(job_action(&complete, 0, &l), JobAction::SendCompletion);
        complete.completion_sent = true;
        assert_eq!(job_action(&complete, late - 1, &l), JobAction::Nothing, "train has time yet");
        assert_eq!(job_action(&complete, late, &l), JobAction::CheckTraining);
        complete.outputs_at = Some(1);
        complete.training = Some(Default::default());
        assert_eq!(job_action(&complete, late, &l), JobAction::Nothing, "train is done with it");
        assert_eq!(job_action(&job(JobStatus::Training, true), late, &l), JobAction::CheckTraining);
        assert_eq!(job_action(&job(JobStatus::Publishing, false), INGEST_PATIENCE_MS + 1, &l), JobAction::WarnIngest);
        assert_eq!(job_action(&job(JobStatus::Trained, true), late, &l), JobAction::Nothing);
        assert_eq!(job_action(&job(JobStatus::Deploying, true), late - 1, &l), JobAction::Nothing);
        assert_eq!(job_action(&job(JobStatus::Deploying, true), late, &l), JobAction::CheckDeployment);
        assert_eq!(job_action(&job(JobStatus::Deployed, true), late, &l), JobAction::Nothing);
    }

    #[test]
    fn a_confidence_job_completes_only_after_its_final_check() {
        let l = SweepLimits::default();
        let spec = JobSpec::parse(r#"{"labels": ["a", "b"], "consensus": {"method": "confidence"}}"#).unwrap();
        let mut j = Job::new("j", JobStatus::Labeling, spec, String::new(), "k", "e", 3);
        assert_eq!(j.final_check, FinalCheck::Due);
        j.decided = 2;
        assert!(!final_check_due(&j), "not while items are open");
        j.decided = 3;
        j.workers_blocked = 1;
        assert!(!final_check_due(&j), "not while a block may reopen items");
        j.redecided_blocks = 1;
        assert!(final_check_due(&j));
        assert_eq!(job_action(&j, 0, &l), JobAction::Nothing, "checked first");
        j.final_check = FinalCheck::Done;
        assert!(!final_check_due(&j));
        assert_eq!(job_action(&j, 0, &l), JobAction::Complete);
        assert_eq!(job(JobStatus::Labeling, false).final_check, FinalCheck::NotWanted, "the agreement rule has none");
    }

    fn batch(status: BatchStatus, verification: Option<&str>, retrain: Option<u32>) -> PredictionBatch {
        PredictionBatch {
            status,
            verification: verification.map(str::to_string),
            retrain_version: retrain,
            ..PredictionBatch::received("j", "b", 3, true, 0)
        }
    }

    #[test]
    fn batches_are_checked_when_what_moves_them_is_overdue() {
        let l = SweepLimits::default();
        let late = l.train_patience_ms;
        let check = |b: &PredictionBatch, job: JobStatus, v: Option<JobStatus>, now: i64| {
            batch_needs_check(b, Some(job), v, now, &l)
        };
        let trained = JobStatus::Trained;
        for status in [BatchStatus::Received, BatchStatus::Transforming] {
            assert!(!check(&batch(status, None, None), trained, None, late - 1), "train has time yet");
            assert!(check(&batch(status, None, None), trained, None, late), "{status:?}");
        }
        let asking = batch(BatchStatus::Predicted, Some("v"), None);
        assert!(!check(&asking, trained, Some(JobStatus::Labeling), late), "people are at it");
        assert!(check(&asking, trained, Some(JobStatus::Complete), late), "its completion went unhandled");
        assert!(!check(&batch(BatchStatus::Predicted, None, None), trained, None, late), "done");
        let waiting = batch(BatchStatus::Verified, Some("v"), None);
        assert!(check(&waiting, JobStatus::Deployed, None, late));
        assert!(!check(&waiting, JobStatus::Training, None, late), "the version in training's end takes it");
        assert!(!check(&batch(BatchStatus::Verified, Some("v"), Some(2)), trained, None, late), "claimed");
        assert!(!check(&batch(BatchStatus::Failed, None, None), trained, None, late));
        assert!(waiting.is_open() && asking.is_open());
        assert!(!batch(BatchStatus::Verified, Some("v"), Some(2)).is_open());
    }
}
