//! Prediction batches on in-memory ports: a small batch of a deployed job
//! answered by its endpoint (and a transform job when the endpoint refuses),
//! a transform job's lost state change found by sweep's check, a transform
//! job SageMaker lost, and batches verified while a model version trains and
//! deploys all taken by the next version, once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeMap;
use std::sync::Arc;

use hitloop_core::dataset::OutputKeys;
use hitloop_core::deploy::endpoint_name;
use hitloop_core::job::JobSpec;
use hitloop_core::messages::TrainingMessage;
use hitloop_core::plan::deploy::EndpointView;
use hitloop_core::plan::train::{Outcome, TrainSettings};
use hitloop_core::plan::verify::train_prefix;
use hitloop_core::predict::BatchKeys;
use hitloop_core::records::{BatchStatus, Item, Job, JobStatus, PredictionBatch, TrainingRecord, VerifiedBatch};
use hitloop_core::training::{training_job_name, versioned_training_job_name};
use hitloop_core::training_job::TrainingView;
use hitloop_pipeline::memory::{
    MemoryBlobs, MemoryDeployer, MemoryPredictor, MemoryStore, MemoryTrainer, MemoryTransformer,
};
use hitloop_pipeline::ports::{Batches, Blobs, Deployments, Items, Jobs};
use hitloop_pipeline::steps::train::{handle_message, TrainDeps};

struct World {
    store: Arc<MemoryStore>,
    blobs: Arc<MemoryBlobs>,
    trainer: Arc<MemoryTrainer>,
    transformer: Arc<MemoryTransformer>,
    predictor: Arc<MemoryPredictor>,
    deps: TrainDeps,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let blobs = Arc::new(MemoryBlobs::new());
    let trainer = Arc::new(MemoryTrainer::new());
    let transformer = Arc::new(MemoryTransformer::new());
    let predictor = Arc::new(MemoryPredictor::new());
    let deps = TrainDeps {
        store: store.clone(),
        blobs: blobs.clone(),
        trainer: trainer.clone(),
        deployer: Arc::new(MemoryDeployer::new()),
        transformer: transformer.clone(),
        predictor: predictor.clone(),
        settings: TrainSettings {
            default_role_arn: Some("arn:aws:iam::123456789012:role/sm".into()),
            region: "us-east-1".into(),
        },
    };
    World { store, blobs, trainer, transformer, predictor, deps }
}

const SPEC: &str = r#"{"labels": ["a", "b"], "training": {"features": ["x"], "sagemaker": {}}, "deploy": {},
    "verify": {"below": 0.8}}"#;

fn batch(name: &str, status: BatchStatus) -> PredictionBatch {
    PredictionBatch { status, ..PredictionBatch::received("j", name, 2, true, 1) }
}

impl World {
    async fn send(&self, message: TrainingMessage) -> Outcome {
        handle_message(&self.deps, message).await.unwrap()
    }

    async fn job(&self) -> Job {
        self.store.job("j").await.unwrap().unwrap()
    }

    async fn text(&self, key: &str) -> Option<String> {
        self.blobs.text("b", key, 1 << 20).await.unwrap()
    }

    /// Job `j`, version 1 trained (its rows in S3), in `status`.
    async fn trained(&self, status: JobStatus) -> Job {
        let mut job = Job::new("j", status, JobSpec::parse(SPEC).unwrap(), String::new(), "k", "e", 2);
        job.bucket = "b".into();
        job.columns = vec!["id".into(), "x".into()];
        job.training = Some(TrainingRecord {
            name: training_job_name("j", job.created_at),
            status: Some("Completed".into()),
            model_artifacts: Some("s3://b/m1/model.tar.gz".into()),
            ..Default::default()
        });
        self.store.create_job(&job).await.unwrap();
        let rows = "0,0.1\n1,0.9\n".as_bytes().to_vec();
        self.blobs.put("b", &format!("{}train.csv", train_prefix("j", 1)), rows, "text/csv").await.unwrap();
        job
    }

    /// Batch `name` predicted, its unsure rows (`x` values) labeled by
    /// people in a completed verification job.
    async fn verified_by_people(&self, name: &str, rows: &[(&str, &str, &str)]) -> String {
        let vid = format!("j-v-{name}");
        let spec = format!(r#"{{"labels": ["a", "b"], "verifies": {{"job": "j", "batch": "{name}"}}}}"#);
        let mut vjob = Job::new(&vid, JobStatus::Complete, JobSpec::parse(&spec).unwrap(), String::new(), "k", "e", 2);
        vjob.bucket = "b".into();
        vjob.outputs_at = Some(2);
        self.store.create_job(&vjob).await.unwrap();
        let items: Vec<Item> = rows
            .iter()
            .enumerate()
            .map(|(n, (id, x, _))| {
                Item::pending(&vid, id, n as u64 + 1, BTreeMap::from([("x".to_string(), x.to_string())]), 1)
            })
            .collect();
        self.store.put_new_items(&items).await.unwrap();
        let mut labels = String::from("id,status,label,confidence\n");
        let mut predictions = String::from("id,label,probability,model_version,source\n");
        for (id, _, label) in rows {
            labels.push_str(&format!("{id},labeled,{label},1\n"));
            predictions.push_str(&format!("{id},a,0.6,1,model\n"));
        }
        self.blobs.put("b", &OutputKeys::of(&vid).labels, labels.into_bytes(), "text/csv").await.unwrap();
        let keys = BatchKeys::of("j", name);
        self.blobs.put("b", &keys.predictions, predictions.into_bytes(), "text/csv").await.unwrap();
        let b = PredictionBatch {
            model_version: Some(1),
            unsure: Some(rows.len() as u64),
            verification: Some(vid.clone()),
            ..batch(name, BatchStatus::Predicted)
        };
        self.store.put_batch(&b).await.unwrap();
        vid
    }
}

#[tokio::test]
async fn a_transform_jobs_lost_state_change_is_found_by_sweeps_check() {
    let w = world();
    w.trained(JobStatus::Trained).await;
    let keys = BatchKeys::of("j", "rest");
    w.blobs.put("b", &format!("{}input/ids.txt", keys.prefix), b"r1\nr2".to_vec(), "text/plain").await.unwrap();
    let unverified = PredictionBatch { verify: false, ..batch("rest", BatchStatus::Received) };
    w.store.put_batch(&unverified).await.unwrap();
    // The predict message was lost too: the check starts the transform job.
    let check = || TrainingMessage::CheckBatch { job_id: "j".into(), batch: "rest".into() };
    assert!(matches!(w.send(check()).await, Outcome::Started(_)));
    let started = w.transformer.started();
    assert_eq!(started.len(), 1);
    assert_eq!(w.send(check()).await, Outcome::AlreadyHandled, "still running: nothing");
    // It completes; its state change never comes.
    w.transformer.finish(&started[0].name, "Completed", None).unwrap();
    w.blobs.put("b", &keys.output, b"0.9,0.1\n0.3,0.7\n".to_vec(), "text/csv").await.unwrap();
    assert_eq!(w.send(check()).await, Outcome::OutputsWritten);
    let predictions = w.text(&keys.predictions).await.unwrap();
    assert!(predictions.contains("r1,a,0.9") && predictions.contains("r2,b,0.7"), "{predictions}");
    let b = w.store.batch("j", "rest").await.unwrap().unwrap();
    assert_eq!(b.status, BatchStatus::Predicted);
    assert_eq!(w.send(check()).await, Outcome::AlreadyHandled, "once");
    assert_eq!(w.transformer.started().len(), 1, "one transform job");
}

#[tokio::test]
async fn a_transform_job_sagemaker_does_not_know_fails_its_batch_with_the_reason() {
    let w = world();
    w.trained(JobStatus::Trained).await;
    let lost =
        PredictionBatch { transform_job: Some("hitloop-gone".into()), ..batch("rest", BatchStatus::Transforming) };
    w.store.put_batch(&batch("rest", BatchStatus::Received)).await.unwrap();
    w.store.update_batch(&lost, &[BatchStatus::Received]).await.unwrap();
    let outcome = w.send(TrainingMessage::CheckBatch { job_id: "j".into(), batch: "rest".into() }).await;
    assert!(matches!(outcome, Outcome::Failed(ref why) if why.contains("hitloop-gone")), "{outcome:?}");
    let errors = w.text(&BatchKeys::of("j", "rest").errors).await.unwrap();
    assert!(errors.contains("SageMaker has no transform job hitloop-gone"), "{errors}");
}

#[tokio::test]
async fn batches_verified_while_a_version_deploys_all_train_the_next_version_once() {
    let w = world();
    let job = w.trained(JobStatus::Deploying).await;
    let endpoint = endpoint_name("j", job.created_at);
    let mut deploying = job.clone();
    deploying.deployment = Some(hitloop_core::records::DeploymentRecord {
        endpoint: endpoint.clone(),
        version: 1,
        model: format!("{endpoint}-v1"),
        ..Default::default()
    });
    w.store
        .record_deployment(
            "j",
            &hitloop_core::plan::deploy::DeployTransition {
                from: vec![JobStatus::Deploying],
                to: JobStatus::Deploying,
                record: deploying.deployment.clone().unwrap(),
                reason: None,
            },
        )
        .await
        .unwrap();
    let va = w.verified_by_people("a", &[("a1", "0.2", "a"), ("a2", "0.8", "b")]).await;
    let vb = w.verified_by_people("b", &[("b1", "0.7", "b")]).await;
    // Both verifications complete while version 1 is deploying: they wait.
    for vid in [&va, &vb] {
        w.send(TrainingMessage::JobComplete(vid.clone())).await;
    }
    for name in ["a", "b"] {
        let b = w.store.batch("j", name).await.unwrap().unwrap();
        assert_eq!((b.status, b.retrain_version), (BatchStatus::Verified, None), "{name} waits");
        assert!(b.is_open(), "sweep can find it");
    }
    assert_eq!(w.trainer.started(), 0, "no retrain while a version deploys");
    let predictions = w.text(&BatchKeys::of("j", "a").predictions).await.unwrap();
    assert!(predictions.contains("a2,b,1.0000,1,people"), "people's labels are in: {predictions}");

    // The endpoint comes into service: version 2 takes both batches.
    let in_service = || {
        TrainingMessage::EndpointChange(EndpointView {
            name: endpoint.clone(),
            status: "InService".into(),
            failure_reason: None,
            config: Some(format!("{endpoint}-v1")),
        })
    };
    assert_eq!(w.send(in_service()).await, Outcome::Moved(JobStatus::Deployed));
    let retraining = w.job().await;
    assert_eq!(retraining.status, JobStatus::Training);
    let record = retraining.training.clone().unwrap();
    let taken = |name: &str, vid: &str| VerifiedBatch { batch: name.into(), verification_job: vid.into() };
    assert_eq!((record.version, record.verified.clone()), (2, vec![taken("a", &va), taken("b", &vb)]));
    let v2 = versioned_training_job_name("j", job.created_at, 2);
    assert_eq!(w.trainer.started(), 1);
    assert!(w.trainer.request(&v2).is_some(), "version 2's training job");
    let rows = w.text(&format!("{}train.csv", train_prefix("j", 2))).await.unwrap();
    assert_eq!(rows, "0,0.1\n1,0.9\n0,0.2\n1,0.8\n1,0.7\n", "version 1's rows and every verified row");
    for name in ["a", "b"] {
        let b = w.store.batch("j", name).await.unwrap().unwrap();
        assert_eq!(b.retrain_version, Some(2), "{name}");
        assert!(!b.is_open());
    }

    // Duplicates and sweep's checks start nothing more.
    for vid in [&va, &vb] {
        w.send(TrainingMessage::JobComplete(vid.clone())).await;
    }
    w.send(in_service()).await;
    assert_eq!(
        w.send(TrainingMessage::CheckBatch { job_id: "j".into(), batch: "a".into() }).await,
        Outcome::AlreadyHandled
    );
    assert_eq!(w.trainer.started(), 1, "one retrain for both batches");

    // A batch verified while version 2 trains goes to version 3 when it is trained.
    let vc = w.verified_by_people("c", &[("c1", "0.5", "a")]).await;
    w.send(TrainingMessage::JobComplete(vc.clone())).await;
    let trained = TrainingView {
        name: v2.clone(),
        arn: None,
        status: "Completed".into(),
        failure_reason: None,
        model_artifacts: Some("s3://b/m2/model.tar.gz".into()),
        held_out_accuracy: Some(0.9),
    };
    w.send(TrainingMessage::StateChange(trained)).await;
    let deploying_v2 = w.job().await;
    assert_eq!(deploying_v2.status, JobStatus::Deploying, "version 2 moves onto the endpoint first");
    w.send(TrainingMessage::EndpointChange(EndpointView {
        name: endpoint.clone(),
        status: "InService".into(),
        failure_reason: None,
        config: Some(format!("{endpoint}-v2")),
    }))
    .await;
    let v3 = w.job().await;
    assert_eq!((v3.status, v3.training.unwrap().verified), (JobStatus::Training, vec![taken("c", &vc)]));
    assert_eq!(w.trainer.started(), 2);
}

/// Job `j` deployed, its endpoint serving version 1; a batch of `rows` rows
/// received (input written).
async fn deployed_with_batch(w: &World, rows: usize) -> String {
    let job = w.trained(JobStatus::Trained).await;
    let endpoint = endpoint_name("j", job.created_at);
    let record = hitloop_core::records::DeploymentRecord {
        endpoint: endpoint.clone(),
        version: 1,
        model: format!("{endpoint}-v1"),
        serving: Some(1),
        status: Some("InService".into()),
        ..Default::default()
    };
    let to = |status| hitloop_core::plan::deploy::DeployTransition {
        from: vec![JobStatus::Trained, JobStatus::Deploying],
        to: status,
        record: record.clone(),
        reason: None,
    };
    assert!(w.store.record_deployment("j", &to(JobStatus::Deploying)).await.unwrap());
    assert!(w.store.record_deployment("j", &to(JobStatus::Deployed)).await.unwrap());
    let keys = BatchKeys::of("j", "small");
    let input: String = (0..rows).map(|n| format!("0.{n}\n")).collect();
    let ids: Vec<String> = (0..rows).map(|n| format!("r{n}")).collect();
    w.blobs.put("b", &keys.input, input.into_bytes(), "text/csv").await.unwrap();
    w.blobs
        .put("b", &format!("{}input/ids.txt", keys.prefix), ids.join("\n").into_bytes(), "text/plain")
        .await
        .unwrap();
    let b = PredictionBatch { rows: rows as u64, verify: false, ..batch("small", BatchStatus::Received) };
    w.store.put_batch(&b).await.unwrap();
    endpoint
}

#[tokio::test]
async fn a_small_batch_of_a_deployed_job_is_answered_by_its_endpoint_in_requests_of_at_most_500_rows() {
    let w = world();
    let endpoint = deployed_with_batch(&w, 1200).await;
    w.predictor.serve(&endpoint, "0.25");
    let predict = || TrainingMessage::Predict { job_id: "j".into(), batch: "small".into() };
    assert_eq!(w.send(predict()).await, Outcome::OutputsWritten);
    let sizes: Vec<usize> = w.predictor.requests().into_iter().map(|(_, rows)| rows).collect();
    assert_eq!(sizes, [500, 500, 200]);
    assert!(w.transformer.started().is_empty(), "no transform job");
    let b = w.store.batch("j", "small").await.unwrap().unwrap();
    assert_eq!(
        (b.status, b.endpoint.as_deref(), b.model_version),
        (BatchStatus::Predicted, Some(endpoint.as_str()), Some(1))
    );
    let predictions = w.text(&BatchKeys::of("j", "small").predictions).await.unwrap();
    assert_eq!(predictions.lines().count(), 1201);
    assert!(
        predictions.contains("\nr0,a,0.7500,1,model\n") && predictions.contains("\nr1199,a,0.7500,1,model"),
        "{predictions}"
    );
    // The message again: nothing more is asked.
    assert_eq!(w.send(predict()).await, Outcome::AlreadyHandled);
    assert_eq!(w.predictor.requests().len(), 3);
}

#[tokio::test]
async fn a_batch_the_endpoint_refuses_or_too_large_for_it_goes_to_a_transform_job() {
    let w = world();
    // The endpoint does not answer (it is not served here).
    deployed_with_batch(&w, 10).await;
    let outcome = w.send(TrainingMessage::Predict { job_id: "j".into(), batch: "small".into() }).await;
    assert!(matches!(outcome, Outcome::Started(_)), "{outcome:?}");
    assert_eq!(w.predictor.requests().len(), 1, "asked once");
    let b = w.store.batch("j", "small").await.unwrap().unwrap();
    assert_eq!((b.status, b.endpoint), (BatchStatus::Transforming, None));

    // Beyond deploy.endpoint_max_rows (2000 by default): a transform job at once.
    let w = world();
    let endpoint = deployed_with_batch(&w, 2001).await;
    w.predictor.serve(&endpoint, "0.25");
    let outcome = w.send(TrainingMessage::Predict { job_id: "j".into(), batch: "small".into() }).await;
    assert!(matches!(outcome, Outcome::Started(_)), "{outcome:?}");
    assert!(w.predictor.requests().is_empty());
}
