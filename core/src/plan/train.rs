//! train's decisions: whether a job's completion starts anything, the files
//! a complete job yields (as bytes, so that two invocations racing write the
//! same thing), the training request, and what a state change from
//! SageMaker does to the job (states only move forward).

use crate::dataset::{self, OutputKeys};
use crate::job::ConsensusMethod;
use crate::plan::deploy::{next_deployment, wants_deployment};
use crate::plan::retrain::SETTLED;
use crate::quality;
use crate::records::{DeploymentRecord, Item, Job, JobStatus, TrainingRecord, VerifiedBatch, WorkerStanding};
use crate::training::{training_job_name, versioned_training_job_name, BuiltIn, SageMakerSpec};
use crate::training_job::{TrainingRequest, TrainingView};

/// What the train function knows from its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainSettings {
    /// The stack's SageMaker execution role (SAGEMAKER_ROLE_ARN).
    pub default_role_arn: Option<String>,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not something to act on (unknown job, not complete, not ours).
    Ignored(String),
    /// Done before (a duplicate or late message).
    AlreadyHandled,
    /// Outputs written; the job asks for no training job.
    OutputsWritten,
    Started(String),
    Failed(String),
    Moved(JobStatus),
}

/// Whether a complete job's outputs (and training job) are still to do.
pub fn on_complete(job: &Job) -> Result<Option<Outcome>, String> {
    match job.status {
        JobStatus::Complete => {}
        JobStatus::Training
        | JobStatus::Trained
        | JobStatus::TrainingFailed
        | JobStatus::Deploying
        | JobStatus::Deployed
        | JobStatus::DeployFailed
        | JobStatus::TornDown => return Ok(Some(Outcome::AlreadyHandled)),
        other => return Ok(Some(Outcome::Ignored(format!("job {} is {other}, not complete", job.job_id)))),
    }
    if sagemaker(job).is_none() && job.outputs_at.is_some() {
        return Ok(Some(Outcome::AlreadyHandled));
    }
    if job.bucket.is_empty() {
        return Err(format!("job {} has no bucket recorded; it was ingested by an older hitloop", job.job_id));
    }
    Ok(None)
}

fn sagemaker(job: &Job) -> Option<&SageMakerSpec> {
    job.spec.training.as_ref().and_then(|t| t.sagemaker.as_ref())
}

/// One file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: &'static str,
}

/// A complete job's files, and its training request (or why it cannot be
/// made) when the job asks for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// In the order they are written; report.json last.
    pub files: Vec<OutputFile>,
    pub training: Option<Result<TrainingRequest, String>>,
}

/// labels.csv, manifest.jsonl, the split and report.json. `items` in
/// manifest order.
/// `standings`: what the job knows of its workers from gold (whom it
/// blocked, and why).
pub fn outputs(
    job: &Job,
    items: &[Item],
    settings: &TrainSettings,
    name: &str,
    standings: &[WorkerStanding],
) -> Result<Outputs, String> {
    let keys = OutputKeys::of(&job.job_id);
    let columns = dataset::value_columns(job, items);
    // The worker model over every answer but those of blocked workers: a
    // confidence job's labels, and every job's estimates in workers.csv and
    // report.json.
    let fit = quality::fit_counted(&job.spec, items, standings);
    // Gold items measured the workers; they are not the job's output.
    let mut output: Vec<Item> = items.iter().filter(|i| quality::gold_of(&job.spec, i).is_none()).cloned().collect();
    let gold_items = items.len() - output.len();
    if job.spec.consensus.method == ConsensusMethod::Confidence {
        quality::relabel(&mut output, &fit);
    }
    let items = &output[..];
    let mut report = dataset::report(job, items, &fit);
    report.gold_items = gold_items;
    report.workers_blocked = standings.iter().filter(|s| s.blocked.is_some()).count();
    let mut files = vec![
        OutputFile { key: keys.labels.clone(), body: dataset::labels_csv(&columns, items)?, content_type: "text/csv" },
        OutputFile {
            key: keys.manifest.clone(),
            body: dataset::ground_truth_manifest(job, &columns, items)?,
            content_type: "application/x-ndjson",
        },
        OutputFile {
            key: keys.workers.clone(),
            body: crate::worker_agreement::workers_csv(
                &crate::worker_agreement::agreement_by_worker(items),
                &fit.workers,
                standings,
            )?,
            content_type: "text/csv",
        },
    ];
    report.files.insert("labels".into(), keys.labels.clone());
    report.files.insert("workers".into(), keys.workers.clone());
    report.files.insert("manifest".into(), keys.manifest.clone());
    let mut training = None;
    if let Some(spec) = &job.spec.training {
        match dataset::split_files(job, spec, items) {
            Ok(split) => {
                files.push(OutputFile { key: keys.train.clone(), body: split.train, content_type: "text/csv" });
                report.files.insert("train".into(), keys.train.clone());
                let has_test = split.test.is_some();
                if let Some(test) = split.test {
                    files.push(OutputFile { key: keys.test.clone(), body: test, content_type: "text/csv" });
                    report.files.insert("test".into(), keys.test.clone());
                }
                if let Some(sm) = &spec.sagemaker {
                    let features = split.summary.features.len();
                    training = Some(training_request(job, sm, settings, name, &keys, has_test, features));
                }
                report.split = Some(split.summary);
            }
            Err(reason) => {
                if spec.sagemaker.is_some() {
                    training = Some(Err(format!("the labeled data cannot be trained on: {reason}")));
                } else {
                    report.training_problem = Some(reason);
                }
            }
        }
        if spec.sagemaker.is_some() {
            report.training_job = Some(name.to_string());
        }
    }
    if let Some(Err(reason)) = &training {
        report.training_problem = Some(reason.clone());
    }
    report.files.insert("report".into(), keys.report.clone());
    let body = serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?;
    files.push(OutputFile { key: keys.report, body, content_type: "application/json" });
    Ok(Outputs { files, training })
}

/// CreateTrainingJob's request, or why it cannot be made.
pub fn training_request(
    job: &Job,
    sm: &SageMakerSpec,
    settings: &TrainSettings,
    name: &str,
    keys: &OutputKeys,
    has_test: bool,
    features: usize,
) -> Result<TrainingRequest, String> {
    let problems = sm.problems();
    if !problems.is_empty() {
        let all: Vec<String> = problems.into_iter().map(|(f, m)| format!("training.sagemaker.{f}: {m}")).collect();
        return Err(all.join("; "));
    }
    let image = match (&sm.image, sm.built_in()) {
        (Some(image), _) => image.clone(),
        (None, Some(algorithm)) => algorithm.image(&settings.region).ok_or_else(|| {
            format!(
                "SageMaker does not offer the built-in {} in {} (as far as hitloop knows); give training.sagemaker.image",
                algorithm.name(),
                settings.region
            )
        })?,
        (None, None) => return Err("training.sagemaker names no algorithm and no image".into()),
    };
    let role_arn = sm.role_arn.clone().or_else(|| settings.default_role_arn.clone()).ok_or_else(|| {
        "no IAM role for SageMaker: set training.sagemaker.role_arn in job.json, or deploy the stack, whose SageMakerRole is the default (SAGEMAKER_ROLE_ARN)".to_string()
    })?;
    let s3 = |key: &str| format!("s3://{}/{key}", job.bucket);
    Ok(TrainingRequest {
        name: name.into(),
        image,
        role_arn,
        instance_type: sm.instance_type.clone(),
        instance_count: sm.instance_count,
        volume_size_gb: sm.volume_size_gb,
        max_runtime_seconds: sm.max_runtime_seconds,
        hyperparameters: sm.hyperparameters(job.spec.labels.len(), features),
        train_uri: s3(&keys.train_prefix),
        test_uri: has_test.then(|| s3(&keys.test_prefix)),
        test_channel: match sm.built_in() {
            Some(BuiltIn::Xgboost) => "validation".into(),
            _ => "test".into(),
        },
        content_type: "text/csv".into(),
        output_uri: s3(&keys.model_prefix),
        tags: vec![("hitloop:job-id".into(), job.job_id.clone())],
    })
}

/// A job's move between training states: from `from` to `to`, recording
/// `record` (and `reason`, the user's explanation of a failure), and the
/// deployment a trained job that asks for one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Vec<JobStatus>,
    pub to: JobStatus,
    pub record: TrainingRecord,
    pub reason: Option<String>,
    pub deployment: Option<DeploymentRecord>,
}

/// The job's training job started: a complete job's first, or the retrain
/// a `training` job claimed (whose record, version and previous model, it
/// keeps).
pub fn started(job: &Job, request: &TrainingRequest, arn: String) -> Transition {
    let (from, mut record) = match job.status {
        JobStatus::Training => (JobStatus::Training, job.training.clone().unwrap_or_default()),
        _ => (JobStatus::Complete, TrainingRecord::default()),
    };
    record.name = request.name.clone();
    record.arn = Some(arn);
    record.status = Some("InProgress".into());
    Transition { from: vec![from], to: JobStatus::Training, record, reason: None, deployment: None }
}

/// The training job cannot be (or was not) started, for `reason`.
pub fn failed(name: &str, reason: &str) -> Transition {
    Transition {
        from: vec![JobStatus::Complete, JobStatus::Training],
        to: JobStatus::TrainingFailed,
        record: TrainingRecord { name: name.into(), failure_reason: Some(reason.into()), ..Default::default() },
        reason: Some(reason.into()),
        deployment: None,
    }
}

/// What SageMaker says of the job's training job, applied to the job.
/// States only move forward: the transition is from complete or training,
/// so a late InProgress never undoes Completed. A job that asks for a
/// deployment goes from training straight to `deploying` (in the same
/// write, so no crash leaves it trained and forgotten).
pub fn adopt(job: &Job, view: &TrainingView) -> Transition {
    let mut record = job.training.clone().unwrap_or_default();
    record.name = view.name.clone();
    record.arn = view.arn.clone().or(record.arn);
    record.status = Some(view.status.clone());
    let mut deployment = None;
    let (to, reason) = match view.status.as_str() {
        "Completed" if wants_deployment(job) => {
            record.model_artifacts = view.model_artifacts.clone();
            deployment = Some(next_deployment(job, record.model_version()));
            (JobStatus::Deploying, None)
        }
        "Completed" => {
            record.model_artifacts = view.model_artifacts.clone();
            (JobStatus::Trained, None)
        }
        "Failed" | "Stopped" => {
            let why = view.failure_reason.clone().unwrap_or_else(|| "stopped before it finished".into());
            record.failure_reason = Some(why.clone());
            (
                JobStatus::TrainingFailed,
                Some(format!("the training job {} {}: {why}", view.name, view.status.to_lowercase())),
            )
        }
        _ => (JobStatus::Training, None),
    };
    Transition { from: vec![JobStatus::Complete, JobStatus::Training], to, record, reason, deployment }
}

/// Whether a state change is about this job's current training job (a
/// name from an earlier job with the same id, or of an earlier model
/// version, is not).
pub fn is_own(job: &Job, view: &TrainingView) -> bool {
    match &job.training {
        Some(t) if !t.name.is_empty() => t.name == view.name,
        _ => training_job_name(&job.job_id, job.created_at) == view.name,
    }
}

/// Retraining after verification: the job moves from where it rests to
/// `training` model version `version` (the claim: one invocation wins),
/// before the training job is started; `verified` names the batches whose
/// people-labeled rows it learns from.
pub fn retraining(job: &Job, version: u32, verified: Vec<VerifiedBatch>) -> Transition {
    Transition {
        from: SETTLED.to_vec(),
        to: JobStatus::Training,
        record: TrainingRecord {
            name: versioned_training_job_name(&job.job_id, job.created_at, version),
            version,
            status: Some("InProgress".into()),
            previous_artifacts: job
                .training
                .as_ref()
                .and_then(|t| t.model_artifacts.clone().or_else(|| t.previous_artifacts.clone())),
            verified,
            ..Default::default()
        },
        reason: None,
        deployment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::ItemStatus;

    fn job(status: JobStatus, training: &str) -> Job {
        let spec = JobSpec::parse(&format!(r#"{{"labels": ["a", "b"], "training": {training}}}"#)).unwrap();
        let mut j = Job::new("j", status, spec, String::new(), "k", "e", 2);
        j.bucket = "b".into();
        j.columns = vec!["id".into(), "x".into()];
        j
    }

    fn items() -> Vec<Item> {
        ["a", "b", "a", "b"]
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let mut i =
                    Item::pending("j", &format!("i{k}"), k as u64 + 2, [("x".to_string(), k.to_string())].into(), 0);
                i.status = ItemStatus::Labeled;
                i.label = Some(l.to_string());
                i
            })
            .collect()
    }

    fn settings(role: Option<&str>) -> TrainSettings {
        TrainSettings { default_role_arn: role.map(str::to_string), region: "us-east-1".into() }
    }

    #[test]
    fn only_a_complete_job_is_worked_on() {
        let sm = r#"{"features": ["x"], "sagemaker": {"algorithm": "xgboost"}}"#;
        assert_eq!(on_complete(&job(JobStatus::Complete, sm)), Ok(None));
        assert_eq!(on_complete(&job(JobStatus::Trained, sm)), Ok(Some(Outcome::AlreadyHandled)));
        assert!(matches!(on_complete(&job(JobStatus::Labeling, sm)), Ok(Some(Outcome::Ignored(_)))));
        let mut written = job(JobStatus::Complete, r#"{"features": ["x"]}"#);
        written.outputs_at = Some(1);
        assert_eq!(on_complete(&written), Ok(Some(Outcome::AlreadyHandled)), "no training: outputs were all");
        let mut old = job(JobStatus::Complete, sm);
        old.bucket.clear();
        assert!(on_complete(&old).is_err());
    }

    #[test]
    fn outputs_end_with_the_report_and_carry_the_request() {
        let j = job(
            JobStatus::Complete,
            r#"{"features": ["x"], "test_fraction": 0.5, "sagemaker": {"algorithm": "xgboost"}}"#,
        );
        let out = outputs(&j, &items(), &settings(Some("arn:aws:iam::1:role/r")), "hitloop-j-abcdef", &[]).unwrap();
        let keys: Vec<&str> = out.files.iter().map(|f| f.key.rsplit('/').next().unwrap()).collect();
        assert_eq!(keys, ["labels.csv", "manifest.jsonl", "workers.csv", "train.csv", "test.csv", "report.json"]);
        let request = out.training.unwrap().unwrap();
        assert_eq!((request.test_channel.as_str(), request.test_uri.is_some()), ("validation", true));
        assert_eq!(request.output_uri, "s3://b/jobs/j/output/model/");
        let none = outputs(&j, &items(), &settings(None), "n", &[]).unwrap();
        assert!(none.training.unwrap().unwrap_err().contains("no IAM role"));
    }

    #[test]
    fn gold_items_are_left_out_and_a_confidence_job_takes_the_models_labels() {
        let mut j = job(JobStatus::Complete, r#"{"features": ["x"], "test_fraction": 0}"#);
        j.spec.consensus = crate::job::ConsensusSpec::confidence();
        let mut all = items();
        let answer = |item: &str, worker: &str, label: &str| crate::records::AnswerRecord {
            assignment_id: format!("{item}-{worker}"),
            worker_id: worker.into(),
            label: Some(label.into()),
            invalid_reason: None,
            submitted_at: 0,
        };
        for i in &mut all {
            let truth = i.label.clone().unwrap();
            let other = if truth == "a" { "b" } else { "a" };
            i.answers = vec![
                answer(&i.item_id, "ann", &truth),
                answer(&i.item_id, "bob", &truth),
                answer(&i.item_id, "eve", other),
            ];
        }
        all[3].values.insert("gold".into(), "b".into());
        // Decided early on eve's answer; the model over everything says "a".
        all[0].label = Some("b".into());
        let out = outputs(&j, &all, &settings(None), "n", &[]).unwrap();
        let text = |name: &str| {
            String::from_utf8(out.files.iter().find(|f| f.key.ends_with(name)).unwrap().body.clone()).unwrap()
        };
        let labels = text("labels.csv");
        assert_eq!(labels.lines().count(), 1 + 3, "the gold item is not output: {labels}");
        assert!(labels.lines().nth(1).unwrap().starts_with("i0,0,a,0.9"), "{labels}");
        let report: serde_json::Value = serde_json::from_str(&text("report.json")).unwrap();
        assert_eq!((report["items"].as_u64(), report["gold_items"].as_u64()), (Some(3), Some(1)));
        let workers = text("workers.csv");
        let eve = workers.lines().find(|l| l.starts_with("eve,")).unwrap();
        assert!(eve.ends_with(",1,0.0000,"), "eve missed her one gold answer: {eve}");
        // Blocked, eve is out of the model: her wrong answers no longer pull
        // anything, and workers.csv says why.
        let eve = WorkerStanding {
            worker_id: "eve".into(),
            gold_answers: 1,
            gold_correct: 0,
            blocked: Some("wrong on gold".into()),
            blocked_at: Some(1),
        };
        let out = outputs(&j, &all, &settings(None), "n", &[eve]).unwrap();
        let text = |name: &str| {
            String::from_utf8(out.files.iter().find(|f| f.key.ends_with(name)).unwrap().body.clone()).unwrap()
        };
        let workers = text("workers.csv");
        let row = workers.lines().find(|l| l.starts_with("eve,")).unwrap();
        assert!(row.ends_with(",,1,0.0000,wrong on gold"), "no estimate, her gold record, the reason: {row}");
        let report: serde_json::Value = serde_json::from_str(&text("report.json")).unwrap();
        assert_eq!(report["workers_blocked"].as_u64(), Some(1));
    }

    #[test]
    fn state_changes_move_forward_only() {
        let j = job(JobStatus::Training, "{}");
        let view = |status: &str| TrainingView {
            name: "hitloop-j-abcdef".into(),
            arn: None,
            status: status.into(),
            failure_reason: None,
            model_artifacts: Some("s3://b/m.tar.gz".into()),
            held_out_accuracy: None,
        };
        let done = adopt(&j, &view("Completed"));
        assert_eq!((done.to, done.record.model_artifacts.as_deref()), (JobStatus::Trained, Some("s3://b/m.tar.gz")));
        assert!(!done.from.contains(&JobStatus::Trained), "a late message cannot leave trained");
        let stopped = adopt(&j, &view("Stopped"));
        assert_eq!(stopped.to, JobStatus::TrainingFailed);
        assert!(stopped.reason.unwrap().contains("stopped before it finished"));
        assert_eq!(adopt(&j, &view("InProgress")).to, JobStatus::Training);
        assert!(!is_own(&j, &view("Completed")), "another job's name");
        let own = TrainingView { name: training_job_name("j", j.created_at), ..view("Completed") };
        assert!(is_own(&j, &own));
    }

    #[test]
    fn a_job_that_deploys_goes_from_training_to_deploying() {
        let mut j = job(JobStatus::Training, r#"{"features": ["x"], "sagemaker": {}}"#);
        j.spec.deploy = Some(Default::default());
        let done = adopt(
            &j,
            &TrainingView {
                name: training_job_name("j", j.created_at),
                arn: None,
                status: "Completed".into(),
                failure_reason: None,
                model_artifacts: Some("s3://b/m.tar.gz".into()),
                held_out_accuracy: None,
            },
        );
        assert_eq!(done.to, JobStatus::Deploying);
        let d = done.deployment.unwrap();
        assert_eq!((d.version, d.requested_at, d.serving), (1, None, None));
        assert_eq!(d.endpoint, crate::deploy::endpoint_name("j", j.created_at));
        assert_eq!(
            on_complete(&{
                let mut k = j.clone();
                k.status = JobStatus::Deployed;
                k
            }),
            Ok(Some(Outcome::AlreadyHandled))
        );
    }
}
