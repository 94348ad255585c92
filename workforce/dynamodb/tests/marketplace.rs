//! The marketplace's writes racing on DynamoDB (moto): each race settled by
//! the transaction's conditions alone.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use hitloop_workforce_dynamodb::marketplace::{HitSlots, Refusal, Release};
use hitloop_workforce_dynamodb::{table, DynamoMarketplace};

const NOW: i64 = 1_800_000_000_000;
const DEADLINE: i64 = NOW + 600_000;

async fn marketplace(balance_cents: i64) -> Arc<DynamoMarketplace> {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("run under `make test` (moto)");
    let sdk = hitloop_aws::local_sdk_config(&endpoint).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let name = format!("market-{}", uuid::Uuid::new_v4().simple());
    table::create(&ddb, &name).await.unwrap();
    let m = DynamoMarketplace::new(ddb, &name);
    m.deposit(balance_cents).await.unwrap();
    Arc::new(m)
}

fn slots(max: i64) -> HitSlots {
    HitSlots {
        max_assignments: max,
        used_slots: 0,
        pending: 0,
        submitted: 0,
        approved: 0,
        rejected: 0,
        expiration_ms: NOW + 3_600_000,
    }
}

/// Runs `n` copies of `f(i)` at once and collects what each returned.
async fn race<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_workers_accepting_three_slots_get_three_assignments() {
    let m = marketplace(10_000).await;
    m.create_hit("H1", &slots(3), 18, None, NOW).await.unwrap().unwrap();
    let results = race(50, |i| {
        let m = m.clone();
        async move { m.accept("H1", &format!("A{i:03}WORKER"), &format!("ASG{i:03}"), DEADLINE, NOW).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| *r == Err(Refusal::NotAssignable)));
    let hit = m.hit("H1").await.unwrap().unwrap();
    assert_eq!((hit.used_slots, hit.pending), (3, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_gets_one_assignment_of_a_hit_however_often_it_asks() {
    let m = marketplace(10_000).await;
    m.create_hit("H1", &slots(9), 54, None, NOW).await.unwrap().unwrap();
    let results = race(10, |i| {
        let m = m.clone();
        async move { m.accept("H1", "A1SAMEWORKER", &format!("ASG{i}"), DEADLINE, NOW).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| *r == Err(Refusal::AlreadyWorkedOn)));
    assert_eq!(m.hit("H1").await.unwrap().unwrap().used_slots, 1);
    assert_eq!(m.accept("NOPE", "A1", "ASGX", DEADLINE, NOW).await.unwrap(), Err(Refusal::NoSuchHit));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_hit_takes_no_one() {
    let m = marketplace(10_000).await;
    m.create_hit("H1", &slots(3), 18, None, NOW).await.unwrap().unwrap();
    let late = NOW + 3_600_000;
    assert_eq!(m.accept("H1", "A1", "ASG1", late + 600_000, late).await.unwrap(), Err(Refusal::NotAssignable));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_holder_submits_and_only_before_the_deadline() {
    let m = marketplace(10_000).await;
    m.create_hit("H1", &slots(3), 18, None, NOW).await.unwrap().unwrap();
    m.accept("H1", "A1HOLDER", "ASG1", DEADLINE, NOW).await.unwrap().unwrap();
    m.accept("H1", "A2LATE", "ASG2", DEADLINE, NOW).await.unwrap().unwrap();
    assert_eq!(m.submit("H1", "ASG1", "A2LATE", "x", NOW).await.unwrap(), Err(Refusal::CannotSubmit));
    assert_eq!(m.submit("H1", "ASG2", "A2LATE", "x", DEADLINE).await.unwrap(), Err(Refusal::CannotSubmit));
    m.submit("H1", "ASG1", "A1HOLDER", "setosa", NOW + 1).await.unwrap().unwrap();
    assert_eq!(m.submit("H1", "ASG1", "A1HOLDER", "again", NOW + 2).await.unwrap(), Err(Refusal::CannotSubmit));
    let a = m.assignment("ASG1").await.unwrap().unwrap();
    assert_eq!((a.status.as_str(), a.answer.as_deref()), ("Submitted", Some("setosa")));
    let hit = m.hit("H1").await.unwrap().unwrap();
    assert_eq!((hit.pending, hit.submitted), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_approvals_of_one_assignment_charge_once() {
    let m = marketplace(10_000).await;
    m.create_hit("H1", &slots(1), 6, None, NOW).await.unwrap().unwrap();
    m.accept("H1", "A1", "ASG1", DEADLINE, NOW).await.unwrap().unwrap();
    m.submit("H1", "ASG1", "A1", "a", NOW).await.unwrap().unwrap();
    let results = race(20, |_| {
        let m = m.clone();
        async move { m.approve("H1", "ASG1", 6, NOW).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| *r == Err(Refusal::NotSubmitted)));
    let account = m.account().await.unwrap();
    assert_eq!((account.available_cents, account.spent_cents), (10_000 - 6, 6), "held once, paid once");
    assert_eq!(m.hit("H1").await.unwrap().unwrap().approved, 1);
    assert_eq!(m.approve("H1", "NOPE", 6, NOW).await.unwrap(), Err(Refusal::NoSuchAssignment));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_unique_request_token_creates_one_hit() {
    let m = marketplace(10_000).await;
    let results = race(10, |i| {
        let m = m.clone();
        async move { m.create_hit(&format!("H{i}"), &slots(2), 12, Some("job1/item7"), NOW).await.unwrap() }
    })
    .await;
    let created: Vec<usize> = (0..10).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(created.len(), 1, "{results:?}");
    let winner = format!("H{}", created[0]);
    for r in results.iter().filter(|r| r.is_err()) {
        assert_eq!(*r, Err(Refusal::TokenUsed { hit_id: winner.clone() }));
    }
    assert_eq!(m.account().await.unwrap().available_cents, 10_000 - 12, "held for one HIT");
    // a day later the token may be used again
    let day = 24 * 3600 * 1000;
    assert!(m.create_hit("H99", &slots(2), 12, Some("job1/item7"), NOW + day + 1).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_purchases_never_take_the_balance_below_zero() {
    // $1.00 holds seven HITs of 14 cents (two assignments at $0.05 + $0.02 fee), not eight.
    let m = marketplace(100).await;
    let results = race(20, |i| {
        let m = m.clone();
        async move { m.create_hit(&format!("H{i}"), &slots(2), 14, None, NOW).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 7, "{results:?}");
    assert!(results.iter().filter(|r| r.is_err()).all(|r| *r == Err(Refusal::InsufficientFunds)));
    assert_eq!(m.account().await.unwrap().available_cents, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_returned_or_abandoned_assignment_gives_its_slot_back_once() {
    let m = marketplace(10_000).await;
    m.create_hit("H1", &slots(1), 6, None, NOW).await.unwrap().unwrap();
    m.accept("H1", "A1", "ASG1", DEADLINE, NOW).await.unwrap().unwrap();
    assert_eq!(m.accept("H1", "A2", "ASG2", DEADLINE, NOW).await.unwrap(), Err(Refusal::NotAssignable));
    let other = Release::Returned { worker_id: "A2" };
    assert_eq!(m.release("H1", "ASG1", other, NOW).await.unwrap(), Err(Refusal::NotReleasable), "not A2's to return");
    m.release("H1", "ASG1", Release::Returned { worker_id: "A1" }, NOW).await.unwrap().unwrap();
    m.accept("H1", "A2", "ASG2", DEADLINE, NOW).await.unwrap().unwrap();
    assert_eq!(
        m.accept("H1", "A1", "ASG3", DEADLINE, NOW).await.unwrap(),
        Err(Refusal::AlreadyWorkedOn),
        "as MTurk: once per HIT"
    );

    // A2 lets the deadline pass; the scheduled function, running twice at once, gives the slot back once.
    assert_eq!(m.release("H1", "ASG2", Release::Abandoned, DEADLINE - 1).await.unwrap(), Err(Refusal::NotReleasable));
    let results = race(10, |_| {
        let m = m.clone();
        async move { m.release("H1", "ASG2", Release::Abandoned, DEADLINE).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let hit = m.hit("H1").await.unwrap().unwrap();
    assert_eq!((hit.used_slots, hit.pending), (0, 0));
    assert_eq!(m.assignment("ASG2").await.unwrap().unwrap().status, "Abandoned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_rejections_at_once_reject_once_and_give_the_held_cost_back_once() {
    let m = marketplace(10_000).await;
    m.create_hit("H1", &slots(1), 6, None, NOW).await.unwrap().unwrap();
    m.accept("H1", "A1", "ASG1", DEADLINE, NOW).await.unwrap().unwrap();
    m.submit("H1", "ASG1", "A1", "a", NOW).await.unwrap().unwrap();
    assert_eq!(m.account().await.unwrap().available_cents, 10_000 - 6);
    let results = race(10, |_| {
        let m = m.clone();
        async move { m.reject("H1", "ASG1", 6, NOW).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let account = m.account().await.unwrap();
    assert_eq!((account.available_cents, account.spent_cents), (10_000, 0));
    assert_eq!(m.approve("H1", "ASG1", 6, NOW).await.unwrap(), Err(Refusal::NotSubmitted));
    let hit = m.hit("H1").await.unwrap().unwrap();
    assert_eq!((hit.submitted, hit.rejected, hit.used_slots), (0, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn extensions_decided_from_one_reading_apply_once() {
    let m = marketplace(10_000).await;
    m.create_hit("H1", &slots(2), 12, None, NOW).await.unwrap().unwrap();
    // Ten requests with one token: one adds its assignments.
    let results = race(10, |_| {
        let m = m.clone();
        async move { m.add_assignments("H1", 2, 1, 6, Some("more/1"), NOW).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert_eq!(m.hit("H1").await.unwrap().unwrap().max_assignments, 3);
    assert_eq!(m.account().await.unwrap().available_cents, 10_000 - 12 - 6, "held once");
    // Two decisions from the same stale reading: the second is told to read again.
    assert_eq!(m.add_assignments("H1", 2, 1, 6, None, NOW).await.unwrap(), Err(Refusal::Stale));
    assert!(m.add_assignments("H1", 3, 1, 6, None, NOW).await.unwrap().is_ok());
    assert_eq!(m.add_assignments("H1", 4, 1, 100_000, None, NOW).await.unwrap(), Err(Refusal::InsufficientFunds));

    let expires = NOW + 3_600_000;
    m.set_expiration("H1", expires, expires + 60_000, 0).await.unwrap().unwrap();
    assert_eq!(m.set_expiration("H1", expires, expires + 120_000, 0).await.unwrap(), Err(Refusal::Stale));
    assert_eq!(m.hit("H1").await.unwrap().unwrap().expiration_ms, expires + 60_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hits_are_listed_oldest_first_across_months_page_by_page() {
    let m = marketplace(100_000).await;
    let day = 24 * 3600 * 1000;
    let mut created = Vec::new();
    // 10 HITs this month, none the next, 15 the month after.
    for i in 0..25i64 {
        let at = if i < 10 { NOW + i } else { NOW + 62 * day + i };
        let id = format!("H{i:02}");
        let mut s = slots(1);
        s.expiration_ms = at + 3_600_000;
        m.create_hit(&id, &s, 6, None, at).await.unwrap().unwrap();
        created.push(id);
    }
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = m.list_hits(token.as_deref(), 10, NOW + 70 * day).await.unwrap().unwrap();
        listed.extend(page.hit_ids);
        pages += 1;
        token = page.next_token;
        if token.is_none() || pages > 10 {
            break;
        }
    }
    assert_eq!(listed, created, "every HIT once, oldest first");
    assert!(pages <= 4, "{pages} pages");
    assert_eq!(m.list_hits(Some("nonsense"), 10, NOW).await.unwrap(), Err(Refusal::BadToken));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hits_are_listed_by_status_and_a_stale_status_change_is_refused() {
    let m = marketplace(100_000).await;
    for i in 0..7 {
        m.create_hit(&format!("H{i}"), &slots(1), 6, None, NOW + i).await.unwrap().unwrap();
    }
    for i in [1, 3, 4, 6] {
        m.set_status(&format!("H{i}"), "Assignable", "Reviewable").await.unwrap().unwrap();
    }
    assert_eq!(m.set_status("H1", "Assignable", "Reviewable").await.unwrap(), Err(Refusal::Stale));
    let first = m.list_by_status("Reviewable", None, 3).await.unwrap().unwrap();
    assert_eq!(first.hit_ids, ["H1", "H3", "H4"]);
    let rest = m.list_by_status("Reviewable", first.next_token.as_deref(), 3).await.unwrap().unwrap();
    assert_eq!(rest.hit_ids, ["H6"]);
    assert_eq!(rest.next_token, None);
    let assignable = m.list_by_status("Assignable", None, 10).await.unwrap().unwrap();
    assert_eq!(assignable.hit_ids, ["H0", "H2", "H5"]);
    assert_eq!(m.list_by_status("Reviewable", Some("x"), 3).await.unwrap(), Err(Refusal::BadToken));
}
