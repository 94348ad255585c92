//! The MTurk-compatible service under load: requests per second and latency
//! (p50, p99) per operation, every request through HTTP as a client sends it
//! (the requester's signed with SigV4 by aws-sdk-mturk, the worker's through
//! the control API), `concurrency` at a time. Store: the memory store; the
//! DynamoDB store's column comes with it.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use hitloop_workforce::server::{start, ServerConfig};
use serde_json::{json, Value};

const QUESTION: &str = r#"<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[<!DOCTYPE html><html><body><form><input name="label"></form></body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#;

pub struct Figures {
    pub operation: &'static str,
    pub requests: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
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

pub async fn run(requests: usize, concurrency: usize) -> Result<Vec<Figures>, String> {
    let service = start(ServerConfig {
        speed: 0.0,
        balance: "1000000.00".parse().map_err(|e| format!("{e}"))?,
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let mturk =
        aws_sdk_mturk::Client::new(&hitloop_aws::local_sdk_config_as(&service.url, service.credentials()).await);
    let http = reqwest::Client::new();
    let url = service.url.clone();
    let mut all = Vec::new();

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
    all.push(f);

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
    all.push(f);

    let (f, _) = measure("submit (worker)", assignments.clone(), concurrency, |a| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            control(&http, &url, "/_hitloop/workers/submit", json!({ "AssignmentId": a, "Fields": [["label", "a"]] }))
                .await
                .map(|_| String::new())
        }
    })
    .await?;
    all.push(f);

    let pages = (requests / 10).max(1);
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
    all.push(f);

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
    all.push(f);
    service.stop().await;
    Ok(all)
}

pub fn render(figures: &[Figures], concurrency: usize) -> String {
    let mut out = format!(
        "{:<26} {:>9} {:>9} {:>8} {:>8}   (memory store, {concurrency} in flight)\n",
        "operation", "requests", "req/s", "p50 ms", "p99 ms"
    );
    for f in figures {
        out.push_str(&format!(
            "{:<26} {:>9} {:>9.0} {:>8.2} {:>8.2}\n",
            f.operation,
            f.requests,
            f.per_second,
            f.p50.as_secs_f64() * 1000.0,
            f.p99.as_secs_f64() * 1000.0
        ));
    }
    out
}
