//! Gold items and blocking end to end, against moto server and
//! hitloop-mturk: the iris job (the seed's agreement rule) with every third
//! flower's species known, on the demo's simulated crowd (careful, sloppy, a
//! spammer, one who always says setosa). A worker the job is sure gets gold
//! wrong too often is blocked: their access qualification revoked at the
//! service, their answers counted nowhere, the items they helped decide
//! decided again.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::BTreeSet;

use common::*;
use hitloop_core::dataset::OutputKeys;
use hitloop_core::records::{ItemStatus, JobStatus};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_wrong_on_gold_are_blocked_and_stop_counting() {
    let stack = Stack::new(Options::default()).await;
    let truth = iris_truth();
    // Every third flower is gold: its species in the `gold` column.
    let mut manifest = String::new();
    for (n, line) in iris_manifest().lines().enumerate() {
        let gold = match n {
            0 => "gold".to_string(),
            n if n % 3 == 0 => truth[line.split(',').next().unwrap()].clone(),
            _ => String::new(),
        };
        manifest.push_str(&format!("{line},{gold}\n"));
    }
    let mut spec = iris_job();
    spec["gold"] = json!({ "block_below": 0.7 });
    stack.submit("iris-g", &spec, &iris_template(), "manifest.csv", &manifest).await;
    let job = stack.run_until_settled("iris-g", true, 900).await;
    assert_eq!(job.status, JobStatus::Complete, "{:?} {}", job.reason, stack.stuck("iris-g").await);
    stack.router.pump_until_idle(100).await;
    let job = stack.job("iris-g").await.unwrap();

    // Who was blocked, and why.
    let blocked = blocks::blocked(&stack, "iris-g").await;
    let items = stack.items("iris-g").await;
    let measured = blocks::measured(&stack, "iris-g", &truth, &blocked).await;
    assert!(!blocked.is_empty(), "the spammer and the setosa-sayer get most gold wrong");
    for (w, why) in &blocked {
        let (right, all) = measured[w];
        assert!(f64::from(right) < 0.8 * f64::from(all), "{w} ({right}/{all} right) blocked: {why}");
        assert!(why.contains("answers right on items whose label is known"), "{why}");
    }
    assert_eq!((job.workers_blocked, job.redecided_blocks), (blocked.len() as u64, blocked.len() as u64));

    // Revoked at the service, with the qualification the job's HITs require.
    assert_eq!(blocks::revoked(&stack, "iris-g").await, blocked.keys().cloned().collect::<BTreeSet<_>>());

    // No label rests on a blocked worker: two other workers agree on each.
    let gold_ids: BTreeSet<&str> =
        items.iter().filter(|i| i.values["gold"].trim() != "").map(|i| i.item_id.as_str()).collect();
    assert_eq!(gold_ids.len(), 50);
    for i in items.iter().filter(|i| i.status == ItemStatus::Labeled && !gold_ids.contains(i.item_id.as_str())) {
        let label = i.label.as_deref().unwrap();
        let agreeing = i
            .answers
            .iter()
            .filter(|a| !blocked.contains_key(&a.worker_id) && a.label.as_deref() == Some(label))
            .count();
        assert!(agreeing >= 2, "{}: {label} on {agreeing} counted answers", i.item_id);
    }
    let ordinary: Vec<_> = items.iter().filter(|i| !gold_ids.contains(i.item_id.as_str())).collect();
    let right = ordinary.iter().filter(|i| i.label.as_deref() == Some(truth[&i.item_id].as_str())).count();
    eprintln!(
        "gold job: {} answers, ${}, {right}/{} right, {} blocked",
        job.answers,
        job.spent,
        ordinary.len(),
        blocked.len()
    );
    assert!(right >= 95, "{right} of 100 right");
    let state = stack.mturk_state().await;
    assert_eq!(state["Stats"]["hits_created"], 150, "one HIT per item, reopened ones included");
    assert_eq!(job.answers, state["Stats"]["assignments_approved"].as_u64().unwrap(), "each answer paid once");

    // The outputs: gold left out, the blocked named in workers.csv.
    let keys = OutputKeys::of("iris-g");
    let report: serde_json::Value = serde_json::from_str(&stack.get(&keys.report).await.unwrap()).unwrap();
    assert_eq!((report["gold_items"].as_u64(), report["items"].as_u64()), (Some(50), Some(100)), "{report}");
    assert_eq!(report["workers_blocked"].as_u64(), Some(blocked.len() as u64));
    let workers = stack.get(&keys.workers).await.unwrap();
    let mut reader = csv::Reader::from_reader(workers.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in reader.records().map(|r| r.unwrap()) {
        assert_eq!(&row[at("blocked")], blocked.get(&row[at("worker_id")]).map_or("", String::as_str));
    }
}
