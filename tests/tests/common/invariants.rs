//! What must hold when a job has finished labeling, whatever happened on
//! the way (crashes, races, faults, hostile input): every item decided, one
//! HIT per item, every assignment bought once, approved by hitloop and paid
//! once, counters equal to a recount, money equal to the fee rules applied
//! to what was approved, and never more than the budget.

use std::collections::BTreeSet;

use hitloop_core::money::Usd;
use hitloop_core::records::{ItemStatus, Job};

use super::Stack;

/// A requester's client of the stack's MTurk-compatible service.
pub async fn mturk_client(service: &hitloop_workforce::server::Running) -> aws_sdk_mturk::Client {
    aws_sdk_mturk::Client::new(&hitloop_aws::local_sdk_config_as(&service.url, service.credentials()).await)
}

/// Every HIT the marketplace holds: (id, annotation, max assignments).
pub async fn all_hits(stack: &Stack) -> Vec<(String, String, u32)> {
    let client = mturk_client(&stack.mturk).await;
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client.list_hits().max_results(100).set_next_token(token).send().await.unwrap();
        for h in page.hits() {
            out.push((
                h.hit_id().unwrap_or_default().to_string(),
                h.requester_annotation().unwrap_or_default().to_string(),
                h.max_assignments().unwrap_or(0) as u32,
            ));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

/// (status, worker) of every assignment of a HIT.
pub async fn assignments_of(stack: &Stack, hit_id: &str) -> Vec<(String, String)> {
    let client = mturk_client(&stack.mturk).await;
    let out = client.list_assignments_for_hit().hit_id(hit_id).max_results(100).send().await.unwrap();
    out.assignments()
        .iter()
        .map(|a| {
            (
                a.assignment_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                a.worker_id().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Checks the end state of a job that has left labeling; returns it.
pub async fn check_invariants(stack: &Stack, job_id: &str) -> Job {
    let job = stack.job(job_id).await.unwrap();
    assert!(!job.status.is_active(), "{job_id} is still {}: {}", job.status, stack.stuck(job_id).await);
    let items = stack.items(job_id).await;
    assert_eq!(items.len() as u64, job.items, "every row became one item");
    assert!(items.iter().all(|i| i.status.is_decided()), "every item labeled or unresolved");
    let labeled = items.iter().filter(|i| i.status == ItemStatus::Labeled).count() as u64;
    let unresolved = items.iter().filter(|i| i.status == ItemStatus::Unresolved).count() as u64;
    assert_eq!(
        (job.decided, job.labeled, job.unresolved),
        (job.items, labeled, unresolved),
        "the job's counters equal a recount"
    );
    assert!(items.iter().all(|i| i.status != ItemStatus::Labeled || i.label.is_some()));

    // One HIT per item, and no HIT that no item knows.
    let prefix = format!("hitloop:{job_id}/");
    let hits: Vec<_> = all_hits(stack).await.into_iter().filter(|(_, a, _)| a.starts_with(&prefix)).collect();
    let known: BTreeSet<&str> = items.iter().filter_map(|i| i.hit_id.as_deref()).collect();
    let created: BTreeSet<&str> = hits.iter().map(|(h, _, _)| h.as_str()).collect();
    assert_eq!(hits.len(), items.len(), "one HIT per item, none twice");
    assert_eq!(known, created, "every HIT is recorded on its item");
    let sold: u64 = hits.iter().map(|(_, _, m)| u64::from(*m)).sum();
    assert_eq!(sold, job.assignments_bought, "what MTurk sold equals what the job bought");

    // Every assignment approved by hitloop, once; every approval recorded and paid once.
    let mut approved = 0u64;
    for (hit, _, _) in &hits {
        let list = assignments_of(stack, hit).await;
        assert!(list.iter().all(|(s, _)| s == "Approved"), "HIT {hit}: {list:?}");
        approved += list.len() as u64;
    }
    let state = stack.mturk_state().await;
    assert_eq!(state["Stats"]["assignments_auto_approved"], 0, "nothing approved unseen");
    assert_eq!(job.answers, approved, "one answer recorded per approved assignment");
    let unit = job.spec.assignment_cost(job.spec.consensus.initial_assignments);
    let mut paid = 0u64;
    for i in &items {
        let ids: BTreeSet<&str> = i.answers.iter().map(|a| a.assignment_id.as_str()).collect();
        assert_eq!(ids.len(), i.answers.len(), "item {}: no answer recorded twice", i.item_id);
        assert_eq!(i.spent, unit.times(i.answers.len() as i64), "item {}: each answer paid once", i.item_id);
        paid += i.answers.len() as u64;
    }
    assert_eq!(paid, approved, "every approved answer recorded and paid once");
    assert_eq!(job.spent, unit.times(approved as i64), "spent = fee rules x approved");
    assert!(job.reserved >= job.spent, "reserved {} < spent {}", job.reserved, job.spent);
    if let Some(budget) = job.spec.budget_usd {
        assert!(job.spent <= budget, "spent {} over the budget {budget}", job.spent);
    }
    job
}

/// What the marketplace charged in all (one job per stack: the job's spend).
pub async fn charged(stack: &Stack) -> Usd {
    stack.mturk_state().await["Account"]["Spent"].as_str().unwrap().parse().unwrap()
}
