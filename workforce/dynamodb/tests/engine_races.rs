//! The engine itself racing on the DynamoDB store (moto), with no lock
//! anywhere: many tasks share one engine, as many Lambda instances share one
//! table, and each race is settled by the commit's conditions alone (a
//! refused commit reads again and decides again).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::sync::Arc;

use hitloop_core::money::Usd;
use hitloop_workforce::api;
use hitloop_workforce::engine::{Engine, EngineConfig};
use hitloop_workforce::store::Store;
use hitloop_workforce_dynamodb::DynamoStore;
use serde_json::{json, Value};

const NOW: i64 = 1_800_000_000_000;

async fn engine(balance: &str) -> (Arc<Engine>, Arc<DynamoStore>) {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("run under `make test` (moto)");
    let ddb = aws_sdk_dynamodb::Client::new(&hitloop_aws::local_sdk_config(&endpoint).await);
    let name = format!("engine-{}", uuid::Uuid::new_v4().simple());
    let store = Arc::new(DynamoStore::create_funded(ddb, &name, balance.parse().unwrap()).await.unwrap());
    let config = EngineConfig { seed: None, ..Default::default() };
    (Arc::new(Engine::new(store.clone(), config, NOW)), store)
}

fn question() -> String {
    let html = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd";
    format!(
        r#"<HTMLQuestion xmlns="{html}"><HTMLContent><![CDATA[<html><body><form><input name="label"></form></body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#
    )
}

fn create_hit(max: i64, token: Option<&str>) -> Value {
    let mut input = json!({
        "Title": "Label a flower", "Description": "Pick the species", "Reward": "0.10",
        "AssignmentDurationInSeconds": 600, "LifetimeInSeconds": 3600, "MaxAssignments": max,
        "Question": question(),
    });
    if let Some(t) = token {
        input["UniqueRequestToken"] = json!(t);
    }
    input
}

fn worker(i: usize) -> String {
    format!("A{i:013}")
}

/// Runs `n` copies of `f(i)` on their own tasks at once; what each returned.
async fn race<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_workers_accepting_three_slots_get_three_assignments() {
    let (e, store) = engine("10.00").await;
    let hit = api::call(&e, "CreateHIT", &create_hit(3, None)).await.unwrap();
    let hit_id = hit["HIT"]["HITId"].as_str().unwrap().to_string();
    let won = race(50, |i| {
        let (e, hit_id) = (e.clone(), hit_id.clone());
        async move { e.accept(&hit_id, &worker(i)).await.is_ok() }
    })
    .await;
    assert_eq!(won.iter().filter(|w| **w).count(), 3);
    assert_eq!(store.assignments_of_hit(&hit_id).await.unwrap().len(), 3);
    let h = store.hit(&hit_id).await.unwrap().unwrap();
    assert_eq!((h.pending_until.len(), h.used_slots(e.now_ms())), (3, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_approvals_of_one_assignment_charge_once() {
    let (e, store) = engine("10.00").await;
    let hit = api::call(&e, "CreateHIT", &create_hit(1, None)).await.unwrap();
    let hit_id = hit["HIT"]["HITId"].as_str().unwrap().to_string();
    let a = e.accept(&hit_id, &worker(1)).await.unwrap();
    let answer = "<QuestionFormAnswers xmlns=\"http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd\"><Answer><QuestionIdentifier>label</QuestionIdentifier><FreeText>x</FreeText></Answer></QuestionFormAnswers>";
    e.submit(&a, answer.into()).await.unwrap();
    let before = store.account().await.unwrap();
    let ok = race(20, |_| {
        let (e, a) = (e.clone(), a.clone());
        async move { api::call(&e, "ApproveAssignment", &json!({ "AssignmentId": a })).await.is_ok() }
    })
    .await;
    assert_eq!(ok.iter().filter(|o| **o).count(), 1, "one approval");
    let after = store.account().await.unwrap();
    assert_eq!(after.spent - before.spent, "0.12".parse().unwrap(), "paid once: $0.10 and the 20% fee");
    assert_eq!(after.on_hold, Usd::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_unique_request_token_creates_one_hit() {
    let (e, store) = engine("10.00").await;
    let results = race(10, |_| {
        let e = e.clone();
        async move { api::call(&e, "CreateHIT", &create_hit(1, Some("tok-1"))).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.turk_code, Some("AWS.MechanicalTurk.HitAlreadyExists"), "{r}");
    }
    assert_eq!(store.account().await.unwrap().on_hold, "0.12".parse().unwrap(), "one HIT held for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_purchases_never_take_the_balance_below_zero() {
    let (e, store) = engine("1.00").await;
    // Each HIT holds $0.12: eight fit in $1.00, the ninth does not.
    let results = race(20, |_| {
        let e = e.clone();
        async move { api::call(&e, "CreateHIT", &create_hit(1, None)).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 8);
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.turk_code, Some("AWS.MechanicalTurk.InsufficientFunds"), "{r}");
    }
    let account = store.account().await.unwrap();
    assert_eq!(account.available(), "0.04".parse().unwrap());
}
