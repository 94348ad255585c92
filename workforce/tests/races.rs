//! Races through the HTTP API, requests signed as clients send them: many
//! callers at once for one slot, one approval, one token, one balance. Each
//! ends as if the calls had come one at a time. (On the memory store; the
//! DynamoDB store's writes race in `dynamodb/tests/marketplace.rs`, and these
//! run on it once the engine does.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::Arc;

use aws_sdk_mturk::operation::approve_assignment::ApproveAssignmentError;
use aws_sdk_mturk::operation::create_hit::CreateHITError;
use common::{frozen, plain_question, service, Service};
use hitloop_core::money::Usd;
use hitloop_workforce::server::ServerConfig;

/// Runs `n` copies of `f(i)` at once; what each returned, in order.
async fn race<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn create(s: &Service, max: i32, token: Option<&str>) -> Result<String, String> {
    s.mturk
        .create_hit()
        .max_assignments(max)
        .lifetime_in_seconds(3600)
        .assignment_duration_in_seconds(300)
        .reward("0.05")
        .title("Label a flower")
        .description("Pick the species")
        .question(plain_question("flower-1"))
        .set_unique_request_token(token.map(str::to_string))
        .send()
        .await
        .map(|o| o.hit.unwrap().hit_id.unwrap())
        .map_err(|e| match e.into_service_error() {
            CreateHITError::RequestError(r) => r.turk_error_code().unwrap_or_default().to_string(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_workers_accepting_a_hit_of_three_get_three_assignments() {
    let s = Arc::new(frozen().await);
    let hit = s.hit(3, "0.05").await.hit_id.unwrap();
    let results = race(50, |i| {
        let (s, hit) = (s.clone(), hit.clone());
        async move { s.accept(&hit, &format!("A{i:03}RACER")).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
    let h = s.mturk.get_hit().hit_id(&hit).send().await.unwrap().hit.unwrap();
    assert_eq!((h.number_of_assignments_pending(), h.number_of_assignments_available()), (Some(3), Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_approvals_of_one_assignment_charge_once() {
    let s = Arc::new(frozen().await);
    let (available_before, _) = s.balance().await;
    let hit = s.hit(1, "0.05").await.hit_id.unwrap();
    let assignment = s.work(&hit, "A1WORKER", "setosa").await;
    let results = race(20, |_| {
        let (s, a) = (s.clone(), assignment.clone());
        async move {
            s.mturk.approve_assignment().assignment_id(a).send().await.map(|_| ()).map_err(|e| {
                match e.into_service_error() {
                    ApproveAssignmentError::RequestError(r) => r.turk_error_code().unwrap_or_default().to_string(),
                    other => format!("{other:?}"),
                }
            })
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|c| c == "AWS.MechanicalTurk.InvalidAssignmentState"));
    let before: Usd = available_before.parse().unwrap();
    let (available, on_hold) = s.balance().await;
    let after: Usd = available.parse().unwrap();
    assert_eq!((before - after, on_hold.as_str()), (Usd::from_cents(6), "0.00"), "$0.05 + $0.01, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_create_hits_with_one_token_create_one_hit() {
    let s = Arc::new(frozen().await);
    let results = race(10, |_| {
        let s = s.clone();
        async move { create(&s, 2, Some("job1/item7")).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|c| c == "AWS.MechanicalTurk.HitAlreadyExists"));
    assert_eq!(s.mturk.list_hits().send().await.unwrap().num_results(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purchases_at_once_stop_where_the_balance_does() {
    // $1.00 pays for eight HITs of two assignments at $0.05 + $0.01, not nine.
    let s =
        Arc::new(service(ServerConfig { speed: 0.0, balance: "1.00".parse().unwrap(), ..Default::default() }).await);
    let results = race(20, |_| {
        let s = s.clone();
        async move { create(&s, 2, None).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 8, "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|c| c == "AWS.MechanicalTurk.InsufficientFunds"));
    assert_eq!(s.balance().await, ("0.04".into(), "0.96".into()));
}
