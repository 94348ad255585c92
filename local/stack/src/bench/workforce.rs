//! The MTurk-compatible service under load: requests per second and latency
//! (p50, p99) per operation, every request through HTTP as a client sends it
//! (the requester's signed with SigV4 by aws-sdk-mturk, the worker's through
//! the control API), `concurrency` at a time, served as a deployment serves
//! them (concurrent turns). On the memory store, and on the DynamoDB store
//! (moto) with the DynamoDB requests each operation made.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use hitloop_workforce::server::{start, GivenStore, ServerConfig, Turns};
use hitloop_workforce::store::Store;
use hitloop_workforce_dynamodb::{Calls, DynamoStore};
use serde_json::{json, Value};

const QUESTION: &str = r#"<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[<!DOCTYPE html><html><body><form><input name="label"></form></body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#;

pub struct Figures {
    pub operation: &'static str,
    pub requests: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// DynamoDB requests the operation made, all of them (DynamoDB store).
    pub calls: Option<Calls>,
}

/// Where the service keeps its records during the bench.
pub enum BenchStore {
    Memory,
    /// A fresh table on the DynamoDB endpoint (moto).
    DynamoDb(String),
}

/// Runs `calls` with `concurrency` in flight; each returns its output, timed.
async fn measure<T, F, Fut>(
    operation: &'static str,
    inputs: Vec<T>,
    concurrency: usize,
    call: F,
) -> Result<(Figures, Vec<String>), String>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let requests = inputs.len();
    let started = Instant::now();
    let results: Vec<Result<(Duration, String), String>> = stream::iter(inputs)
        .map(|input| {
            let fut = call(input);
            async move {
                let t = Instant::now();
                let out = fut.await?;
                Ok((t.elapsed(), out))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let mut latencies = Vec::with_capacity(requests);
    let mut outputs = Vec::with_capacity(requests);
    for r in results {
        let (d, out) = r.map_err(|e| format!("{operation}: {e}"))?;
        latencies.push(d);
        outputs.push(out);
    }
    latencies.sort();
    let at = |q: f64| latencies.get(((requests as f64 * q) as usize).min(requests.saturating_sub(1))).copied();
    let figures = Figures {
        operation,
        requests,
        per_second: requests as f64 / elapsed.as_secs_f64().max(1e-9),
        p50: at(0.50).unwrap_or_default(),
        p99: at(0.99).unwrap_or_default(),
        calls: None,
    };
    Ok((figures, outputs))
}

async fn control(http: &reqwest::Client, url: &str, path: &str, body: Value) -> Result<Value, String> {
    let resp = http.post(format!("{url}{path}")).json(&body).send().await.map_err(|e| e.to_string())?;
    let ok = resp.status().is_success();
    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
    if ok {
        Ok(v)
    } else {
        Err(v.to_string())
    }
}

pub(crate) async fn dynamodb_store(endpoint: &str) -> Result<Arc<DynamoStore>, String> {
    let ddb = aws_sdk_dynamodb::Client::new(&hitloop_aws::local_sdk_config(endpoint).await);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let table = format!("bench-workforce-{stamp}");
    let funds = "1000000.00".parse().map_err(|e| format!("{e}"))?;
    let store = Arc::new(DynamoStore::create_funded(ddb, &table, funds).await?);
    Ok(store)
}

/// The service as the benches run it: concurrent turns, a frozen clock, a
/// large balance, on `store` (and that DynamoDB store, to count its calls).
pub(crate) async fn bench_service(
    store: &BenchStore,
) -> Result<(hitloop_workforce::server::Running, Option<Arc<DynamoStore>>), String> {
    let dynamodb = match store {
        BenchStore::Memory => None,
        BenchStore::DynamoDb(endpoint) => Some(dynamodb_store(endpoint).await?),
    };
    let service = start(ServerConfig {
        speed: 0.0,
        balance: "1000000.00".parse().map_err(|e| format!("{e}"))?,
        store: dynamodb.clone().map(|d| GivenStore(d as Arc<dyn Store>)),
        turns: Turns::Concurrent { pass_every: None },
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok((service, dynamodb))
}

pub async fn run(requests: usize, concurrency: usize, store: BenchStore) -> Result<Vec<Figures>, String> {
    let (service, dynamodb) = bench_service(&store).await?;
    // Each operation's DynamoDB requests: the store's count across it.
    let counted = |mut f: Figures, before: Option<Calls>| {
        if let (Some(d), Some(before)) = (&dynamodb, before) {
            f.calls = Some(d.calls().since(&before));
        }
        f
    };
    let calls_now = || dynamodb.as_ref().map(|d| d.calls());
    let mturk =
        aws_sdk_mturk::Client::new(&hitloop_aws::local_sdk_config_as(&service.url, service.credentials()).await);
    let http = reqwest::Client::new();
    let url = service.url.clone();
    let mut all = Vec::new();

    let before = calls_now();
    let (f, hits) = measure("CreateHIT", (0..requests).collect(), concurrency, |i| {
        let mturk = mturk.clone();
        async move {
            let out = mturk
                .create_hit()
                .title("Label one item")
                .description("bench")
                .reward("0.01")
                .max_assignments(1)
                .lifetime_in_seconds(86_400)
                .assignment_duration_in_seconds(600)
                .question(QUESTION)
                .requester_annotation(format!("bench/{i}"))
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_mturk::error::DisplayErrorContext(e)))?;
            out.hit.and_then(|h| h.hit_id).ok_or_else(|| "no HIT id".to_string())
        }
    })
    .await?;
    all.push(counted(f, before));

    let before = calls_now();
    let (f, assignments) = measure("accept (worker)", hits.clone(), concurrency, |hit| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let v =
                control(&http, &url, "/_hitloop/workers/accept", json!({ "HITId": hit, "WorkerId": "A1BENCHWORKER" }))
                    .await?;
            v["AssignmentId"].as_str().map(str::to_string).ok_or_else(|| v.to_string())
        }
    })
    .await?;
    all.push(counted(f, before));

    let before = calls_now();
    let (f, _) = measure("submit (worker)", assignments.clone(), concurrency, |a| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            control(&http, &url, "/_hitloop/workers/submit", json!({ "AssignmentId": a, "Fields": [["label", "a"]] }))
                .await
                .map(|_| String::new())
        }
    })
    .await?;
    all.push(counted(f, before));

    let pages = (requests / 10).max(1);
    let before = calls_now();
    let (f, _) = measure("ListReviewableHITs (100)", (0..pages).collect(), concurrency, |_| {
        let mturk = mturk.clone();
        async move {
            let page = mturk
                .list_reviewable_hits()
                .max_results(100)
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_mturk::error::DisplayErrorContext(e)))?;
            Ok(page.num_results().unwrap_or(0).to_string())
        }
    })
    .await?;
    all.push(counted(f, before));

    let before = calls_now();
    let (f, _) = measure("ApproveAssignment", assignments, concurrency, |a| {
        let mturk = mturk.clone();
        async move {
            mturk
                .approve_assignment()
                .assignment_id(a)
                .send()
                .await
                .map(|_| String::new())
                .map_err(|e| format!("{}", aws_sdk_mturk::error::DisplayErrorContext(e)))
        }
    })
    .await?;
    all.push(counted(f, before));
    service.stop().await;
    Ok(all)
}

/// The two stores side by side, with DynamoDB's requests per operation.
pub fn render(memory: &[Figures], dynamodb: &[Figures], concurrency: usize) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut out = format!(
        "{concurrency} in flight, concurrent turns; DynamoDB on moto (one request at a time: its figures are moto's)\n\
         {:<26} | {:>8} {:>9} {:>8} {:>8} | {:>8} {:>9} {:>8} {:>8} | {:>9}  {}\n",
        "operation",
        "memory",
        "req/s",
        "p50 ms",
        "p99 ms",
        "dynamodb",
        "req/s",
        "p50 ms",
        "p99 ms",
        "ddb/op",
        "(get, query, batch get, transact, delete)"
    );
    for (m, d) in memory.iter().zip(dynamodb) {
        let (per_op, kinds) = match &d.calls {
            Some(c) => {
                let n = d.requests.max(1) as f64;
                (
                    format!("{:.2}", c.total() as f64 / n),
                    format!(
                        "({:.2}, {:.2}, {:.2}, {:.2}, {:.2})",
                        c.get_item as f64 / n,
                        c.query as f64 / n,
                        c.batch_get_item as f64 / n,
                        c.transact_write_items as f64 / n,
                        c.delete_item as f64 / n
                    ),
                )
            }
            None => ("-".into(), String::new()),
        };
        out.push_str(&format!(
            "{:<26} | {:>8} {:>9.0} {:>8.2} {:>8.2} | {:>8} {:>9.0} {:>8.2} {:>8.2} | {:>9}  {}\n",
            m.operation,
            m.requests,
            m.per_second,
            ms(m.p50),
            ms(m.p99),
            d.requests,
            d.per_second,
            ms(d.p50),
            ms(d.p99),
            per_op,
            kinds
        ));
    }
    out
}
