//! Races through the HTTP API, requests signed as clients send them and
//! served at once (concurrent turns, as a deployment serves them): many
//! callers for one slot, one approval, one rejection, one token, one balance,
//! and the scheduled pass running several times at once. Each ends as if the
//! calls had come one at a time. On the memory store, and on the DynamoDB
//! store when the suite runs there (`HITLOOP_WORKFORCE_STORE=dynamodb`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::Arc;

use aws_sdk_mturk::error::SdkError;
use aws_sdk_mturk::operation::approve_assignment::ApproveAssignmentError;
use aws_sdk_mturk::operation::create_additional_assignments_for_hit::CreateAdditionalAssignmentsForHITError;
use aws_sdk_mturk::operation::create_hit::CreateHITError;
use aws_sdk_mturk::operation::reject_assignment::RejectAssignmentError;
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

/// The TurkErrorCode of an operation's RequestError (or what else went wrong).
macro_rules! turk_code {
    ($error:path) => {
        |e: SdkError<_, _>| {
            use $error as E;
            match e.into_service_error() {
                E::RequestError(r) => r.turk_error_code().unwrap_or_default().to_string(),
                other => format!("{other:?}"),
            }
        }
    };
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
    if common::on_dynamodb() {
        // The requests did overlap: commits were refused and decided again.
        let conflicts = s.state().await["Stats"]["conflicts"].as_u64().unwrap();
        assert!(conflicts > 0, "no commit was refused: the requests did not race");
    }
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
            s.mturk
                .approve_assignment()
                .assignment_id(a)
                .send()
                .await
                .map(|_| ())
                .map_err(turk_code!(ApproveAssignmentError))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_asking_ten_times_at_once_gets_one_assignment() {
    let s = Arc::new(frozen().await);
    let hit = s.hit(9, "0.05").await.hit_id.unwrap();
    let results = race(10, |_| {
        let (s, hit) = (s.clone(), hit.clone());
        async move { s.accept(&hit, "A1SAMEWORKER").await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let h = s.mturk.get_hit().hit_id(&hit).send().await.unwrap().hit.unwrap();
    assert_eq!((h.number_of_assignments_pending(), h.number_of_assignments_available()), (Some(1), Some(8)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_rejections_at_once_reject_once_and_give_the_held_cost_back_once() {
    let s = Arc::new(frozen().await);
    let (before, _) = s.balance().await;
    let hit = s.hit(1, "0.05").await.hit_id.unwrap();
    let assignment = s.work(&hit, "A1WORKER", "setosa").await;
    let results = race(10, |_| {
        let (s, a) = (s.clone(), assignment.clone());
        async move {
            s.mturk
                .reject_assignment()
                .assignment_id(a)
                .requester_feedback("Not a flower")
                .send()
                .await
                .map(|_| ())
                .map_err(turk_code!(RejectAssignmentError))
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|c| c == "AWS.MechanicalTurk.InvalidAssignmentState"));
    assert_eq!(s.balance().await, (before, "0.00".into()), "nothing spent, nothing held");
    let a = s.mturk.get_assignment().assignment_id(&assignment).send().await.unwrap().assignment.unwrap();
    assert_eq!(a.assignment_status().map(|st| st.as_str()), Some("Rejected"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_extensions_with_one_token_add_once_and_hold_once() {
    let s = Arc::new(frozen().await);
    let hit = s.hit(2, "0.05").await.hit_id.unwrap();
    let (before, _) = s.balance().await;
    let results = race(10, |_| {
        let (s, hit) = (s.clone(), hit.clone());
        async move {
            s.mturk
                .create_additional_assignments_for_hit()
                .hit_id(hit)
                .number_of_additional_assignments(1)
                .unique_request_token("job1/item7/more1")
                .send()
                .await
                .map(|_| ())
                .map_err(turk_code!(CreateAdditionalAssignmentsForHITError))
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|c| c == "AWS.MechanicalTurk.DuplicateRequest"));
    let h = s.mturk.get_hit().hit_id(&hit).send().await.unwrap().hit.unwrap();
    assert_eq!(h.max_assignments(), Some(3));
    let before: Usd = before.parse().unwrap();
    let after: Usd = s.balance().await.0.parse().unwrap();
    assert_eq!(before - after, Usd::from_cents(6), "one more assignment held: $0.05 + $0.01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pass_running_ten_times_at_once_abandons_once_and_gives_the_slot_back_once() {
    let s = Arc::new(frozen().await);
    let hit = s.hit(1, "0.05").await.hit_id.unwrap();
    let assignment = s.accept(&hit, "A1SLOW").await.unwrap();
    // The deadline (300 s) passes; ten passes run at once, as overlapping
    // invocations of the scheduled function would.
    s.running.shared.clock.advance_ms(301_000);
    race(10, |_| {
        let s = s.clone();
        async move { s.running.shared.pass().await.unwrap() }
    })
    .await;
    let h = s.mturk.get_hit().hit_id(&hit).send().await.unwrap().hit.unwrap();
    assert_eq!((h.number_of_assignments_pending(), h.number_of_assignments_available()), (Some(0), Some(1)));
    assert_eq!(s.balance().await.1, "0.06", "the one slot is held once");
    let again = s.accept(&hit, "A2QUICK").await.unwrap();
    assert_ne!(again, assignment);
    assert!(s.submit(&assignment, &[("label", "late")]).await.is_err(), "the abandoned assignment is closed");
}
