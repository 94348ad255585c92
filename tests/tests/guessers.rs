//! Blocking by the worker model end to end, against moto server and
//! hitloop-mturk: the iris job with `"method": "confidence"` and two answers
//! first (so every answer is counted), no gold, on the demo's simulated
//! crowd (careful, sloppy, a spammer, one who always says setosa). A worker
//! the refitted model finds closer to guessing than to the crowd is blocked:
//! the model's reason recorded, their access qualification revoked at the
//! service, their answers counted nowhere, the job complete once the items
//! they helped decide are decided again.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::BTreeSet;

use common::*;
use hitloop_core::records::JobStatus;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_model_blocks_those_it_finds_guessing() {
    let stack = Stack::new(Options::default()).await;
    let truth = iris_truth();
    let mut spec = iris_job();
    spec["consensus"] = json!({ "method": "confidence", "initial_assignments": 2, "target": 0.8 });
    stack.submit("iris-m", &spec, &iris_template(), "manifest.csv", &iris_manifest()).await;
    let job = stack.run_until_settled("iris-m", true, 900).await;
    assert_eq!(job.status, JobStatus::Complete, "{:?} {}", job.reason, stack.stuck("iris-m").await);
    stack.router.pump_until_idle(100).await;
    let job = stack.job("iris-m").await.unwrap();

    let blocked = blocks::blocked(&stack, "iris-m").await;
    let measured = blocks::measured(&stack, "iris-m", &truth, &blocked).await;
    assert!(!blocked.is_empty(), "the spammer and the setosa-sayer answer near chance");
    for (w, why) in &blocked {
        let (right, all) = measured[w];
        assert!(f64::from(right) < 0.6 * f64::from(all), "{w} ({right}/{all} right) blocked: {why}");
        assert!(why.contains("the job's model puts their accuracy at"), "{why}");
    }
    // Nobody careful is blocked.
    for (w, (right, all)) in &measured {
        if *all >= 10 && f64::from(*right) >= 0.9 * f64::from(*all) {
            assert!(!blocked.contains_key(w), "{w}: {right}/{all} right, blocked");
        }
    }
    assert_eq!((job.workers_blocked, job.redecided_blocks), (blocked.len() as u64, blocked.len() as u64));

    // Revoked at the service, with the qualification the job's HITs require.
    assert_eq!(blocks::revoked(&stack, "iris-m").await, blocked.keys().cloned().collect::<BTreeSet<_>>());

    let items = stack.items("iris-m").await;
    let right = items.iter().filter(|i| i.label.as_deref() == Some(truth[&i.item_id].as_str())).count();
    eprintln!("guessers job: {} answers, ${}, {right}/150 right, {} blocked", job.answers, job.spent, blocked.len());
    assert!(right >= 145, "{right} of 150 right");
    let state = stack.mturk_state().await;
    assert_eq!(job.answers, state["Stats"]["assignments_approved"].as_u64().unwrap(), "each answer paid once");
}
