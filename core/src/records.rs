//! What hitloop keeps: jobs, their items (each with its answers), and what
//! a worker model knows of each worker. The stores in `hitloop-pipeline` and
//! `hitloop-dynamodb` keep these; nothing here knows how.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::job::JobSpec;
use crate::money::Usd;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Failed,
    Publishing,
    Labeling,
    Paused,
    Complete,
    Training,
    Trained,
    TrainingFailed,
    /// The trained model is being put behind the job's endpoint.
    Deploying,
    /// The endpoint serves the job's model.
    Deployed,
    DeployFailed,
    /// `hitloop teardown` deleted what the job deployed.
    TornDown,
}

impl JobStatus {
    pub const ALL: [JobStatus; 12] = [
        JobStatus::Publishing,
        JobStatus::Labeling,
        JobStatus::Paused,
        JobStatus::Complete,
        JobStatus::Training,
        JobStatus::Trained,
        JobStatus::TrainingFailed,
        JobStatus::Deploying,
        JobStatus::Deployed,
        JobStatus::DeployFailed,
        JobStatus::TornDown,
        JobStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Failed => "failed",
            JobStatus::Publishing => "publishing",
            JobStatus::Labeling => "labeling",
            JobStatus::Paused => "paused",
            JobStatus::Complete => "complete",
            JobStatus::Training => "training",
            JobStatus::Trained => "trained",
            JobStatus::TrainingFailed => "training_failed",
            JobStatus::Deploying => "deploying",
            JobStatus::Deployed => "deployed",
            JobStatus::DeployFailed => "deploy_failed",
            JobStatus::TornDown => "torn_down",
        }
    }

    /// Every state past labeling: the outputs are written (or being
    /// written), the model trained, deployed or torn down.
    pub const PAST_LABELING: [JobStatus; 8] = [
        JobStatus::Complete,
        JobStatus::Training,
        JobStatus::Trained,
        JobStatus::TrainingFailed,
        JobStatus::Deploying,
        JobStatus::Deployed,
        JobStatus::DeployFailed,
        JobStatus::TornDown,
    ];

    /// States in which work may be bought for the job.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Publishing | JobStatus::Labeling)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "failed" => JobStatus::Failed,
            "publishing" => JobStatus::Publishing,
            "labeling" => JobStatus::Labeling,
            "paused" => JobStatus::Paused,
            "complete" => JobStatus::Complete,
            "training" => JobStatus::Training,
            "trained" => JobStatus::Trained,
            "training_failed" => JobStatus::TrainingFailed,
            "deploying" => JobStatus::Deploying,
            "deployed" => JobStatus::Deployed,
            "deploy_failed" => JobStatus::DeployFailed,
            "torn_down" => JobStatus::TornDown,
            other => return Err(format!("unknown job status {other:?}")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    Pending,
    Published,
    Labeled,
    Unresolved,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::Published => "published",
            ItemStatus::Labeled => "labeled",
            ItemStatus::Unresolved => "unresolved",
        }
    }

    pub fn is_decided(self) -> bool {
        matches!(self, ItemStatus::Labeled | ItemStatus::Unresolved)
    }
}

impl FromStr for ItemStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "pending" => ItemStatus::Pending,
            "published" => ItemStatus::Published,
            "labeled" => ItemStatus::Labeled,
            "unresolved" => ItemStatus::Unresolved,
            other => return Err(format!("unknown item status {other:?}")),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub job_id: String,
    pub status: JobStatus,
    pub reason: Option<String>,
    pub spec: JobSpec,
    pub template: String,
    pub manifest_key: String,
    pub manifest_etag: String,
    pub items: u64,
    pub decided: u64,
    pub labeled: u64,
    pub unresolved: u64,
    pub answers: u64,
    pub assignments_bought: u64,
    pub reserved: Usd,
    pub spent: Usd,
    pub hit_type_id: Option<String>,
    pub completion_sent: bool,
    /// The bucket the job's files are in.
    pub bucket: String,
    /// The manifest's columns, in the manifest's order.
    pub columns: Vec<String>,
    /// When the outputs (labels, split, report) were last written.
    pub outputs_at: Option<i64>,
    /// The SageMaker training job, once one was started or refused.
    pub training: Option<TrainingRecord>,
    /// The job's endpoint and the model version it serves or is moving to,
    /// once the job asked for a deployment.
    pub deployment: Option<DeploymentRecord>,
    /// Workers the job blocked for their gold answers, and how many of those
    /// blocks the job's items were re-decided for: the job completes only
    /// when the two are equal.
    pub workers_blocked: u64,
    pub redecided_blocks: u64,
    /// A confidence job's last look at its labels before it completes.
    pub final_check: FinalCheck,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A confidence job decides most items while its worker model is young:
/// when every item is decided, each label is checked once more against the
/// target under the estimates as they then stand, and an item now short of
/// it (under its cap) is reopened and bought on. The job completes only
/// after that look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalCheck {
    /// The job has none (the agreement rule: its decisions depend on no model).
    #[default]
    NotWanted,
    /// To be made once every item is decided.
    Due,
    Done,
}

impl FinalCheck {
    /// What a job of this consensus method starts with.
    pub fn for_method(method: crate::job::ConsensusMethod) -> FinalCheck {
        match method {
            crate::job::ConsensusMethod::Confidence => FinalCheck::Due,
            crate::job::ConsensusMethod::Agreement => FinalCheck::NotWanted,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FinalCheck::NotWanted => "not_wanted",
            FinalCheck::Due => "due",
            FinalCheck::Done => "done",
        }
    }
}

impl FromStr for FinalCheck {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "not_wanted" => FinalCheck::NotWanted,
            "due" => FinalCheck::Due,
            "done" => FinalCheck::Done,
            other => return Err(format!("unknown final check {other:?}")),
        })
    }
}

/// What hitloop knows of a job's SageMaker training job.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrainingRecord {
    pub name: String,
    /// The model version this training job makes (1: the job's first;
    /// later ones retrain with verified predictions).
    #[serde(default = "first_version")]
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// SageMaker's TrainingJobStatus as last seen (InProgress, Completed, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Where the model is (`.../model.tar.gz`), once trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_artifacts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The previous model version's `model.tar.gz`, kept while this version
    /// trains: predictions go on with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_artifacts: Option<String>,
    /// A retrain's prediction batches and the verification jobs whose labels
    /// it learns from (every batch verified since the version before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<VerifiedBatch>,
}

/// A prediction batch whose unsure rows people labeled, and the
/// verification job that did.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VerifiedBatch {
    pub batch: String,
    pub verification_job: String,
}

/// What hitloop knows of a job's endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub endpoint: String,
    /// The model version being deployed or served (1: the first training
    /// job's model), and its model and endpoint configuration name.
    pub version: u32,
    pub model: String,
    /// The version the endpoint serves, once one is in service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<u32>,
    /// SageMaker's EndpointStatus as last seen (Creating, InService, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When SageMaker was last asked to create or move the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

fn yes() -> bool {
    true
}

fn first_version() -> u32 {
    1
}

impl TrainingRecord {
    /// The model version (a record made without one is version 1).
    pub fn model_version(&self) -> u32 {
        self.version.max(1)
    }
}

impl PredictionBatch {
    /// A batch just checked: nothing started for it yet.
    pub fn received(job_id: &str, batch: &str, rows: u64, verify: bool, now: i64) -> PredictionBatch {
        PredictionBatch {
            job_id: job_id.into(),
            batch: batch.into(),
            status: BatchStatus::Received,
            rows,
            model_version: None,
            transform_job: None,
            endpoint: None,
            unsure: None,
            verification: None,
            retrain_version: None,
            verify,
            reason: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Verified, and no retrain has claimed its rows yet.
    pub fn waits_for_retrain(&self) -> bool {
        self.status == BatchStatus::Verified && self.retrain_version.is_none()
    }

    /// Its unsure rows are with people.
    pub fn waits_for_people(&self) -> bool {
        self.status == BatchStatus::Predicted && self.verification.is_some()
    }

    /// Something is still to happen to it without a new upload: sweep looks
    /// at open batches (a lost message or state change would leave them).
    pub fn is_open(&self) -> bool {
        matches!(self.status, BatchStatus::Received | BatchStatus::Transforming)
            || self.waits_for_people()
            || self.waits_for_retrain()
    }
}

impl Job {
    /// The job's status and counts as the stores report them.
    pub fn progress(&self) -> JobProgress {
        JobProgress {
            status: self.status,
            items: self.items,
            decided: self.decided,
            completion_sent: self.completion_sent,
            blocks_pending: self.workers_blocked > self.redecided_blocks,
            final_check_due: self.final_check == FinalCheck::Due,
        }
    }

    /// A new job record with nothing bought, decided or spent yet.
    pub fn new(
        job_id: &str,
        status: JobStatus,
        spec: JobSpec,
        template: String,
        manifest_key: &str,
        manifest_etag: &str,
        items: u64,
    ) -> Job {
        let now = now_ms();
        let final_check = FinalCheck::for_method(spec.consensus.method);
        Job {
            job_id: job_id.into(),
            status,
            reason: None,
            spec,
            template,
            manifest_key: manifest_key.into(),
            manifest_etag: manifest_etag.into(),
            items,
            decided: 0,
            labeled: 0,
            unresolved: 0,
            answers: 0,
            assignments_bought: 0,
            reserved: Usd::ZERO,
            spent: Usd::ZERO,
            hit_type_id: None,
            completion_sent: false,
            bucket: String::new(),
            columns: Vec::new(),
            outputs_at: None,
            training: None,
            deployment: None,
            workers_blocked: 0,
            redecided_blocks: 0,
            final_check,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Where a prediction batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Checked and its transform input written; the transform job is next.
    Received,
    Transforming,
    /// predictions.csv is written (and the unsure rows' verification job
    /// created, when the job verifies).
    Predicted,
    /// People's labels replaced the model's for the unsure rows.
    Verified,
    Failed,
}

/// A prediction batch (`jobs/<job>/predict/<batch>/manifest.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictionBatch {
    pub job_id: String,
    pub batch: String,
    pub status: BatchStatus,
    pub rows: u64,
    /// The model version that predicts it, once its transform job started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform_job: Option<String>,
    /// The endpoint that predicted it instead of a transform job (a small
    /// batch while the job is deployed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Rows predicted below `verify.below`, and the job verifying them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsure: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// False: its unsure rows are not sent to people (`batch.json`).
    #[serde(default = "yes")]
    pub verify: bool,
    /// Once verified: the model version that trains on its rows, set when
    /// that retrain is claimed (until then the batch waits for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrain_version: Option<u32>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One manifest row and what became of it. The item carries its answers:
/// collect reads an item and everything said about it in one read, and
/// records, pays and decides in one conditional write on it (`version`).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub job_id: String,
    pub item_id: String,
    pub line: u64,
    pub values: BTreeMap<String, String>,
    pub status: ItemStatus,
    pub hit_id: Option<String>,
    /// Assignments bought (reserved) for this item so far.
    pub bought: u32,
    /// Buying rounds: 1 is the HIT itself, each later one an extension.
    pub rounds: u32,
    pub label: Option<String>,
    pub agreed: u32,
    /// The decision's confidence in its label (or in the best label of an
    /// unresolved item), when the rule gives one.
    pub confidence: Option<f64>,
    /// Every approved answer, in the order workers submitted them. Recorded
    /// once per assignment, and paid (on the item) when recorded.
    pub answers: Vec<AnswerRecord>,
    /// What the approved answers cost, fees included.
    pub spent: Usd,
    /// What the item gave back to the job's budget when it was decided.
    pub released: Usd,
    /// What the job's worker model last counted of the item (confidence
    /// jobs): kept so the next refit takes exactly that out.
    pub model: Option<ItemModel>,
    /// Bumped by every write: a write names the version it read.
    pub version: u64,
    pub updated_at: i64,
}

/// An item's part in its job's worker model: its posterior over the job's
/// labels, spread over these answers (worker, label index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemModel {
    pub posterior: Vec<f64>,
    pub counted: Vec<(String, u32)>,
}

/// A confidence job's worker model as a whole: every worker's soft counts
/// summed (`pooled[true][given]`) and each label's mass. `generation` is
/// bumped by every refit, which applies only to the generation it read: two
/// refits of one job never both count the same answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobModel {
    pub generation: u64,
    pub pooled: Vec<Vec<f64>>,
    pub label_mass: Vec<f64>,
    pub updated_at: i64,
}

impl Item {
    /// A manifest row, before anything was done for it.
    pub fn pending(job_id: &str, item_id: &str, line: u64, values: BTreeMap<String, String>, now: i64) -> Item {
        Item {
            job_id: job_id.into(),
            item_id: item_id.into(),
            line,
            values,
            status: ItemStatus::Pending,
            hit_id: None,
            bought: 0,
            rounds: 0,
            label: None,
            agreed: 0,
            confidence: None,
            answers: Vec::new(),
            spent: Usd::ZERO,
            released: Usd::ZERO,
            model: None,
            version: 0,
            updated_at: now,
        }
    }

    pub fn has_answer(&self, assignment_id: &str) -> bool {
        self.answers.iter().any(|a| a.assignment_id == assignment_id)
    }
}

/// A worker's approved answer to an item: its label, or why it is invalid
/// (kept, never counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRecord {
    pub assignment_id: String,
    pub worker_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<String>,
    /// Epoch milliseconds, the marketplace's SubmitTime.
    pub submitted_at: i64,
}

/// For tests: the answers `given` as (worker, label), submitted in that
/// order, with assignment ids made from `item`.
#[cfg(test)]
pub(crate) fn answers_given(item: &str, given: &[(&str, &str)]) -> Vec<AnswerRecord> {
    given
        .iter()
        .enumerate()
        .map(|(n, (w, l))| AnswerRecord {
            assignment_id: format!("{item}-{n}"),
            worker_id: w.to_string(),
            label: Some(l.to_string()),
            invalid_reason: None,
            submitted_at: n as i64,
        })
        .collect()
}

/// The part of a job collect reads after deciding an item: is it the last?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobProgress {
    pub status: JobStatus,
    pub items: u64,
    pub decided: u64,
    pub completion_sent: bool,
    /// Workers blocked whose items are not all re-decided yet.
    pub blocks_pending: bool,
    /// The final check of a confidence job's labels is yet to be made.
    pub final_check_due: bool,
}

impl JobProgress {
    /// Every item decided, with nothing left for a block to undo: what the
    /// final check waits for.
    pub fn settled(&self) -> bool {
        self.status == JobStatus::Labeling && self.decided >= self.items && !self.blocks_pending
    }

    /// Settled, and no final check due: the job may complete.
    pub fn done(&self) -> bool {
        self.settled() && !self.final_check_due
    }
}

/// What a job knows of a worker from its gold items, and whether it blocked
/// them (their answers then count nowhere in the job).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerStanding {
    pub worker_id: String,
    pub gold_answers: u32,
    pub gold_correct: u32,
    /// Why the job blocked the worker; None: not blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_at: Option<i64>,
}

/// What a worker model knows of one worker on one job (fitted by a refit
/// step; read by collect for the workers who answered an item).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WorkerEstimate {
    pub worker_id: String,
    /// Answers the estimate was fitted on.
    pub answers: u32,
    /// The probability that the worker's answer is right.
    pub accuracy: f64,
    /// `confusion[true][given]` over the job's labels, in their order;
    /// empty for a one-coin model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confusion: Vec<Vec<f64>>,
    /// The soft counts behind the confusion matrix (`counts[true][given]`),
    /// which an incremental refit adds to; empty when not kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts: Vec<Vec<f64>>,
    pub updated_at: i64,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
