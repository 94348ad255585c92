//! Verification on the local stack: a trained job with `verify` predicts a
//! batch; the rows it is unsure of become a labeling job of their own (its
//! own budget, the job's task, never the model's guess) that the simulated
//! crowd works like any other; when it completes, people's labels replace
//! the model's in predictions.csv, once however often the events come. A
//! deployed job's batch is answered by its endpoint, and the verified rows
//! retrain the model once, the endpoint moving to it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::BTreeMap;

use common::*;
use hitloop_core::job::JobSpec;
use hitloop_core::messages::JobMessage;
use hitloop_core::plan::verify::verification_job_id;
use hitloop_core::predict::BatchKeys;
use hitloop_core::records::{BatchStatus, JobStatus};
use hitloop_core::training::training_job_name;
use hitloop_local::trainer::LocalTrainer;
use hitloop_local::transforms::LocalTransforms;
use hitloop_pipeline::ports::Batches;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unsure_rows_are_verified_by_people_once() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    let mut job = with_training(iris_job(), training_settings());
    job["verify"] = json!({ "below": 0.9, "budget_usd": "4.00" });
    let labeled = stack.run_job("ver", &job, &iris_manifest_every(5)).await;
    assert!(LocalTrainer::new(&stack.sdk).run(&training_job_name("ver", labeled.created_at)).await.unwrap());
    stack.router.pump_until_idle(20).await;

    // The rest of iris, with the column the task's page shows.
    let mut csv = String::from("id,image_url,sepal_length,sepal_width,petal_length,petal_width\n");
    let mut truth = BTreeMap::new();
    for (k, (id, url, species, m)) in iris().into_iter().enumerate() {
        if k % 5 != 0 {
            csv.push_str(&format!("{id},{url},{}\n", m.join(",")));
            truth.insert(id, species);
        }
    }
    let keys = BatchKeys::of("ver", "rest");
    stack.put(&keys.manifest, csv).await;
    stack.router.pump_until_idle(20).await;
    LocalTransforms::new(&stack.sdk).run_pending().await;
    stack.router.pump_until_idle(20).await;
    let batch = stack.store.batch("ver", "rest").await.unwrap().unwrap();
    let vid = verification_job_id("ver", "rest");
    assert_eq!((batch.status, batch.verification.as_deref()), (BatchStatus::Predicted, Some(vid.as_str())));
    let unsure = batch.unsure.unwrap();
    let before = stack.get(&keys.predictions).await.unwrap();
    let below: Vec<&str> =
        before.lines().skip(1).filter(|l| l.split(',').nth(2).unwrap().parse::<f64>().unwrap() < 0.9).collect();
    assert_eq!(below.len() as u64, unsure, "every row below 0.9, and only those");
    assert!(unsure > 0 && unsure < 120, "{unsure} unsure of 120");

    // The verification job is a job like any other, with its own budget.
    let settled = stack.run_until_settled(&vid, false, 240).await;
    assert!(!settled.status.is_active(), "{}", stack.stuck(&vid).await);
    stack.router.pump_until_idle(20).await;
    let vjob = stack.job(&vid).await.unwrap();
    assert_eq!((vjob.status, vjob.items), (JobStatus::Complete, unsure));
    assert_eq!(vjob.spec.budget_usd.map(|b| b.to_string()).as_deref(), Some("4.00"));
    assert!(vjob.spent.cents() <= 400, "within its budget: ${}", vjob.spent);
    let vjson = stack.get(&format!("jobs/{vid}/job.json")).await.unwrap();
    let vspec = JobSpec::parse(&vjson).unwrap();
    assert!(vspec.training.is_none() && vspec.verify.is_none());
    let vmanifest = stack.get(&format!("jobs/{vid}/manifest.csv")).await.unwrap();
    assert!(!vmanifest.contains("probability") && !vmanifest.contains("setosa"), "never the model's guess");

    let after = stack.get(&keys.predictions).await.unwrap();
    assert_eq!(stack.store.batch("ver", "rest").await.unwrap().unwrap().status, BatchStatus::Verified);
    let rows: Vec<Vec<&str>> = after.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 120);
    let by_people: Vec<&Vec<&str>> = rows.iter().filter(|r| r[4] == "people").collect();
    assert!(by_people.len() as u64 >= unsure * 9 / 10, "{} of {unsure} verified", by_people.len());
    let right = by_people.iter().filter(|r| truth[r[0]] == r[1]).count();
    assert!(right * 10 >= by_people.len() * 9, "people: {right} of {} right", by_people.len());
    assert!(rows.iter().filter(|r| r[4] == "model").all(|r| r[2].parse::<f64>().unwrap() >= 0.9));

    // Again: the transform's completion and the verification's: nothing new.
    let transform = json!({ "source": "aws.sagemaker", "detail-type": "SageMaker Transform Job State Change",
        "resources": [], "detail": { "TransformJobName": batch.transform_job.clone().unwrap(),
        "TransformJobStatus": "Completed", "Tags": { "hitloop:job-id": "ver", "hitloop:batch": "rest" } } });
    stack.put_event(&transform).await;
    stack.send_training(&JobMessage::complete(&vid).body().unwrap()).await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.get(&keys.predictions).await.unwrap(), after);
    assert_eq!(stack.job(&vid).await.unwrap().items, unsure, "one verification job, posted once");
    assert_eq!(stack.get(&keys.model_predictions).await.unwrap(), before, "what the model said is kept");

    // A batch whose batch.json says not to verify sends nothing to people.
    let quiet = BatchKeys::of("ver", "measure");
    stack.put(&quiet.settings, r#"{"verify": false}"#).await;
    let rows: String =
        before.lines().take(1).map(|_| "id,image_url,sepal_length,sepal_width,petal_length,petal_width\n").collect();
    stack.put(&quiet.manifest, format!("{rows}x1,u,5.9,3.0,4.2,1.5\nx2,u,6.3,2.8,5.1,1.5\n")).await;
    stack.router.pump_until_idle(20).await;
    LocalTransforms::new(&stack.sdk).run_pending().await;
    stack.router.pump_until_idle(20).await;
    let measured = stack.store.batch("ver", "measure").await.unwrap().unwrap();
    assert_eq!((measured.status, measured.verify, measured.verification), (BatchStatus::Predicted, false, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_rows_retrain_the_model_once_and_the_endpoint_moves_to_it() {
    let stack = Stack::new(Options { crowd: Some(GOOD_CROWD), ..Default::default() }).await;
    let mut job = with_training(iris_job(), training_settings());
    job["deploy"] = json!({});
    job["verify"] = json!({ "below": 0.9, "budget_usd": "4.00" });
    let labeled = stack.run_job("loop", &job, &iris_manifest_every(5)).await;
    let trainer = LocalTrainer::new(&stack.sdk);
    assert!(trainer.run(&training_job_name("loop", labeled.created_at)).await.unwrap());
    stack.router.pump_until_idle(20).await;
    let mut endpoints = hitloop_local::endpoints::LocalEndpoints::new(&stack.sdk);
    endpoints.run_pending().await;
    stack.router.pump_until_idle(20).await;
    assert_eq!(stack.job("loop").await.unwrap().status, JobStatus::Deployed);

    let mut csv = String::from("id,image_url,sepal_length,sepal_width,petal_length,petal_width\n");
    for (k, (id, url, _, m)) in iris().into_iter().enumerate() {
        if k % 5 != 0 {
            csv.push_str(&format!("{id},{url},{}\n", m.join(",")));
        }
    }
    stack.put(&BatchKeys::of("loop", "rest").manifest, csv).await;
    stack.router.pump_until_idle(20).await;
    // Deployed, and 120 rows is small: the endpoint answered, no transform job.
    let predicted = stack.store.batch("loop", "rest").await.unwrap().unwrap();
    assert!(predicted.endpoint.is_some() && predicted.transform_job.is_none(), "{predicted:?}");
    let vid = verification_job_id("loop", "rest");
    stack.run_until_settled(&vid, false, 240).await;
    stack.router.pump_until_idle(20).await;
    // The verification's completion again: one retrain.
    stack.send_training(&JobMessage::complete(&vid).body().unwrap()).await;
    stack.router.pump_until_idle(20).await;

    let retraining = stack.job("loop").await.unwrap();
    assert_eq!(retraining.status, JobStatus::Training, "{:?}", retraining.reason);
    let record = retraining.training.clone().unwrap();
    assert_eq!(record.version, 2);
    let v2 = hitloop_core::training::versioned_training_job_name("loop", retraining.created_at, 2);
    assert_eq!((record.name.as_str(), stack.training_jobs(&v2).await.len()), (v2.as_str(), 1));
    let batch = stack.store.batch("loop", "rest").await.unwrap().unwrap();
    assert_eq!((batch.status, batch.retrain_version), (BatchStatus::Verified, Some(2)));
    let v1_rows = stack.get("jobs/loop/output/train/train.csv").await.unwrap().lines().count();
    let v2_rows = stack.get("jobs/loop/output/train-v2/train.csv").await.unwrap().lines().count();
    let verified = stack.get(&BatchKeys::of("loop", "rest").predictions).await.unwrap().matches(",people").count();
    assert_eq!(v2_rows, v1_rows + verified, "version 2 learns from version 1's rows and the verified ones");

    // Version 2 is trained, and the endpoint moves to it.
    assert!(trainer.run(&v2).await.unwrap());
    stack.router.pump_until_idle(20).await;
    let moving = stack.job("loop").await.unwrap();
    let d = moving.deployment.clone().unwrap();
    assert_eq!((moving.status, d.version, d.serving), (JobStatus::Deploying, 2, Some(1)), "{:?}", moving.reason);
    let ep = stack.sagemaker().describe_endpoint().endpoint_name(&d.endpoint).send().await.unwrap();
    assert_eq!(ep.endpoint_config_name(), Some(d.model.as_str()), "UpdateEndpoint to version 2");
    endpoints.run_pending().await;
    stack.router.pump_until_idle(20).await;
    let served = stack.job("loop").await.unwrap();
    assert_eq!((served.status, served.deployment.unwrap().serving), (JobStatus::Deployed, Some(2)));
    let models = stack.sagemaker().list_models().send().await.unwrap();
    let ours = models.models().iter().filter(|m| m.model_name().unwrap_or_default().starts_with(&d.endpoint)).count();
    assert_eq!(ours, 2, "version 1's model is kept");

    // report.json: each version's rows, held-out accuracy, and what the
    // verification cost against labeling every row of the batch.
    let report: serde_json::Value =
        serde_json::from_str(&stack.get("jobs/loop/output/report.json").await.unwrap()).unwrap();
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{report}");
    assert_eq!((models[0]["version"].as_u64(), models[1]["version"].as_u64()), (Some(1), Some(2)));
    assert_eq!(models[0]["train_rows"].as_u64().unwrap() as usize, v1_rows);
    assert_eq!(models[1]["train_rows"].as_u64().unwrap() as usize, v2_rows);
    assert!(models.iter().all(|m| m["held_out_accuracy"].as_f64().is_some_and(|a| a > 0.5)), "{report}");
    let v = &models[1]["verifications"][0];
    let vjob = stack.job(&vid).await.unwrap();
    assert_eq!((v["job"].as_str(), v["batch_rows"].as_u64()), (Some(vid.as_str()), Some(120)));
    assert_eq!(v["cost_usd"].as_str().unwrap(), vjob.spent.to_string());
    let every: f64 = v["labeling_every_row_usd"].as_str().unwrap().parse().unwrap();
    assert!(
        every > vjob.spent.to_string().parse::<f64>().unwrap(),
        "verifying the unsure cost less than labeling all: {v}"
    );
}
