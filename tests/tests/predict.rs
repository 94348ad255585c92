//! Prediction batches on the local stack: a trained job predicts an uploaded
//! batch of unlabeled rows through a SageMaker transform job (the real
//! adapter against moto; the local stand-in runs it with the model training
//! wrote and emits SageMaker's state change), and predictions.csv gives each
//! row's label, probability and model version. The transform job is started
//! once however often the batch arrives, and its lost state change is made
//! up by sweep; a malformed batch, or one for a job
//! without a model yet, gets its errors.json.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use common::*;
use hitloop_core::deploy::transform_job_name;
use hitloop_core::messages::JobMessage;
use hitloop_core::plan::sweep::SweepLimits;
use hitloop_core::predict::BatchKeys;
use hitloop_core::records::{BatchStatus, JobStatus};
use hitloop_core::training::training_job_name;
use hitloop_local::trainer::LocalTrainer;
use hitloop_local::transforms::LocalTransforms;
use hitloop_pipeline::ports::Batches;

/// The iris rows the job did not label (every 5th was), unlabeled.
fn rest_of_iris() -> (String, Vec<(String, String)>) {
    let mut csv = String::from("id,sepal_length,sepal_width,petal_length,petal_width\n");
    let mut truth = Vec::new();
    for (k, (id, _, species, m)) in iris().into_iter().enumerate() {
        if k % 5 != 0 {
            csv.push_str(&format!("{id},{}\n", m.join(",")));
            truth.push((id, species));
        }
    }
    (csv, truth)
}

async fn trained(stack: &Stack, job_id: &str) {
    let job = stack.run_job(job_id, &with_training(iris_job(), training_settings()), &iris_manifest_every(5)).await;
    assert_eq!(job.status, JobStatus::Training);
    assert!(LocalTrainer::new(&stack.sdk).run(&training_job_name(job_id, job.created_at)).await.unwrap());
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job(job_id).await.unwrap().status, JobStatus::Trained);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_predicted_once_with_the_jobs_model() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    trained(&stack, "pred").await;
    let (csv, truth) = rest_of_iris();
    let keys = BatchKeys::of("pred", "rest");
    stack.put(&keys.manifest, csv.clone()).await;
    stack.router.pump_until_idle(20).await;
    // The same upload again, and the message again: one transform job.
    stack.put(&keys.manifest, csv).await;
    stack.send_training(&JobMessage::predict("pred", "rest").body().unwrap()).await;
    stack.router.pump_until_idle(20).await;
    let batch = stack.store.batch("pred", "rest").await.unwrap().unwrap();
    assert_eq!((batch.status, batch.rows, batch.model_version), (BatchStatus::Transforming, 120, Some(1)));
    let job = stack.job("pred").await.unwrap();
    let name = transform_job_name("pred", job.created_at, "rest", 1);
    assert_eq!(batch.transform_job.as_deref(), Some(name.as_str()));
    let listed = stack.sagemaker().list_transform_jobs().name_contains(&name).send().await.unwrap();
    assert_eq!(listed.transform_job_summaries().len(), 1);

    // Only this test's transform job (moto's SageMaker is shared by the tests running at once).
    let ran = LocalTransforms::new(&stack.sdk).run(&name).await.unwrap();
    assert!(ran.rows == 120 && ran.failure.is_none(), "{ran:?}");
    // Its state change is lost: sweep finds the batch overdue and train asks SageMaker.
    let sqs = aws_sdk_sqs::Client::new(&hitloop_local::local_sdk(&aws_endpoint()).await);
    sqs.purge_queue().queue_url(&stack.resources.training_queue_url).send().await.unwrap();
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.store.batch("pred", "rest").await.unwrap().unwrap().status, BatchStatus::Transforming);
    let report = stack.router.sweep(SweepLimits { train_patience_ms: 0, ..Default::default() }).await;
    assert_eq!(report["batch_checks"], 1, "{report}");
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.store.batch("pred", "rest").await.unwrap().unwrap().status, BatchStatus::Predicted);

    let predictions = stack.get(&keys.predictions).await.expect("predictions.csv");
    let mut lines = predictions.lines();
    assert_eq!(lines.next(), Some("id,label,probability,model_version,source"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 120);
    let mut right = 0;
    for (row, (id, species)) in rows.iter().zip(&truth) {
        assert_eq!(row[0], id, "in the batch's order");
        let p: f64 = row[2].parse().unwrap();
        assert!((0.0..=1.0).contains(&p) && p >= 1.0 / 3.0, "the top label's probability: {row:?}");
        assert_eq!((row[3], row[4]), ("1", "model"));
        right += usize::from(row[1] == species);
    }
    // A model trained on 24 of 30 labeled flowers: computed, not canned.
    assert!(right >= 100, "{right} of 120 predicted right");
    assert!(rows.iter().any(|r| r[2] != "1.0000"), "some predictions are unsure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_batch_or_a_job_without_a_model_gets_an_errors_json() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    trained(&stack, "strict").await;
    let bad = BatchKeys::of("strict", "bad");
    stack.put(&bad.manifest, "id,sepal_length,sepal_width,petal_length\n1,5.1,3.5,x\n1,4.9,3.0,1.4\n").await;
    stack.router.pump_until_idle(20).await;
    let errors: serde_json::Value = serde_json::from_str(&stack.get(&bad.errors).await.expect("errors.json")).unwrap();
    let messages: Vec<&str> =
        errors["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages.len(), 1, "the header's problem stops the check: {messages:?}");
    assert!(messages[0].contains("petal_width"), "{messages:?}");
    assert!(stack.store.batch("strict", "bad").await.unwrap().is_none(), "nothing recorded, nothing started");
    // Fixed, it goes through.
    stack.put(&bad.manifest, "id,sepal_length,sepal_width,petal_length,petal_width\n1,5.1,3.5,1.4,0.2\n").await;
    stack.router.pump_until_idle(20).await;
    let fixed = stack.store.batch("strict", "bad").await.unwrap().unwrap();
    assert_eq!(fixed.status, BatchStatus::Transforming, "{fixed:?}");
    assert!(stack.get(&bad.errors).await.is_none(), "the old errors.json is gone");

    // A job still labeling has no model: the batch fails with the reason.
    let job = with_training(iris_job(), training_settings());
    stack.submit("early", &job, &iris_template(), "manifest.csv", &iris_manifest_every(7)).await;
    stack.router.pump_until_idle(20).await;
    let early = BatchKeys::of("early", "now");
    stack.put(&early.manifest, "id,sepal_length,sepal_width,petal_length,petal_width\n1,5.1,3.5,1.4,0.2\n").await;
    stack.router.pump_until_idle(20).await;
    let batch = stack.store.batch("early", "now").await.unwrap().unwrap();
    assert_eq!(batch.status, BatchStatus::Failed);
    assert!(batch.reason.as_deref().unwrap().contains("no trained model yet"), "{batch:?}");
    assert!(stack.get(&early.errors).await.unwrap().contains("no trained model yet"));
}
