//! collect's calls and CPU per notification, on a 200-item iris job: the
//! release binary run under the Runtime API emulator, every AWS and
//! marketplace request it makes counted by a proxy. ingest and publish run
//! in-process, uncounted; the simulated crowd answers; each notification is
//! handed to collect on its own, as its own invocation, so the calls it
//! caused are its own.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hitloop_core::records::JobStatus;
use hitloop_dynamodb::DynamoStore;
use hitloop_pipeline::ports::Jobs;
use hitloop_workforce::crowd::{Truth, WorkforceConfig};
use hitloop_workforce::server::{start, Requesters, ServerConfig};
use serde_json::json;

use super::process::{aws_env, FunctionProcess};
use super::proxy::{CountingProxy, Counts};
use crate::functions::Functions;
use crate::marketplace::Marketplace;
use crate::resources;
use crate::router::Router;

pub struct Report {
    pub items: usize,
    pub notifications: u64,
    pub counts: Counts,
    /// Notifications that wrote nothing: how many, and their calls.
    pub idle: (u64, u64),
    pub most_calls: u64,
    pub decided: u64,
    pub cpu_seconds: f64,
    pub cold_start: Duration,
    pub status: JobStatus,
}

/// The iris rows, `n` items cycling through the 150 flowers.
fn manifest(n: usize) -> Result<(String, Truth), String> {
    let text = std::fs::read_to_string("examples/iris/iris.csv").map_err(|e| format!("examples/iris/iris.csv: {e}"))?;
    let species = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"];
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .filter(|r: &Vec<String>| r.len() == 5)
        .collect();
    let mut csv = String::from("id,image_url,sepal_length,sepal_width,petal_length,petal_width\n");
    let mut truth = Vec::new();
    for k in 0..n {
        let (i, r) = (k % rows.len(), &rows[k % rows.len()]);
        let url = format!("https://images.hitloop.example/iris/{i:03}.jpg");
        csv.push_str(&format!("iris-{k:03},{url},{},{},{},{}\n", r[0], r[1], r[2], r[3]));
        let s = r[4].parse::<usize>().ok().and_then(|s| species.get(s)).ok_or("a species index")?;
        truth.push((url, s.to_string()));
    }
    Ok((csv, Truth::from_pairs(truth)))
}

pub async fn run(binary: &Path, aws_endpoint: &str, items: usize) -> Result<Report, String> {
    let sdk = crate::local_sdk(aws_endpoint).await;
    let stack = resources::create(&sdk, &format!("bench{}", std::process::id())).await.map_err(|e| e.to_string())?;
    let (manifest, truth) = manifest(items)?;
    let workforce = WorkforceConfig::load(Path::new("workforce/workforces/iris.toml")).map_err(|e| e.to_string())?;
    let mturk = start(ServerConfig {
        speed: 0.0,
        aws_endpoint: Some(aws_endpoint.to_string()),
        workforce: Some(workforce),
        truth,
        // Open: the counting proxy in front of it forwards to another Host,
        // which a signature covers; collect signs its requests either way.
        requesters: Requesters::Open,
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let aws = CountingProxy::start(aws_endpoint).await.map_err(|e| e.to_string())?;
    let market = CountingProxy::start(&mturk.url).await.map_err(|e| e.to_string())?;

    // ingest and publish in-process; collect (and train) left to the binary and to nobody.
    let marketplace = Marketplace::of(&sdk, &stack.name, &mturk).await.map_err(|e| e.to_string())?;
    let functions = Functions::of(&stack, &marketplace, &sdk).map_err(|e| e.to_string())?;
    let mut routed = stack.clone();
    routed.consumers.retain(|_, f| f == "publish");
    let router = Router::new(functions, routed, &sdk);
    let mut env = aws_env(&aws.url);
    env.extend(stack.env_of("collect", &Marketplace { endpoint: market.url.clone(), ..marketplace.clone() }));
    let collect = FunctionProcess::start(binary, "collect", &env).await.map_err(|e| e.to_string())?;
    let cold_start = collect.cold_start().await.ok_or("collect never asked for an event")?;
    let cpu_at_start = collect.cpu_seconds().unwrap_or(0.0);

    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    for (name, body) in [
        ("job.json", std::fs::read("examples/iris/job.json").map_err(|e| e.to_string())?),
        ("template.html", std::fs::read("examples/iris/template.html").map_err(|e| e.to_string())?),
        ("manifest.csv", manifest.into_bytes()),
    ] {
        s3.put_object()
            .bucket(&stack.bucket)
            .key(format!("jobs/bench/{name}"))
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
    }

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let store = DynamoStore::from_sdk(&sdk, &stack.table);
    let http = reqwest::Client::new();
    let mut report = Report {
        items,
        notifications: 0,
        counts: Counts::default(),
        idle: (0, 0),
        most_calls: 0,
        decided: 0,
        cpu_seconds: 0.0,
        cold_start,
        status: JobStatus::Publishing,
    };
    for _minute in 0..720 {
        router.pump_until_idle(100).await;
        let control = |path: &str, body: serde_json::Value| {
            http.post(format!("{}/_hitloop/{path}", mturk.url)).json(&body).send()
        };
        control("clock/advance", json!({ "Seconds": 60 })).await.map_err(|e| e.to_string())?;
        control("notifications/flush", json!({})).await.map_err(|e| e.to_string())?;
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&stack.notification_queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
            if got.messages().is_empty() {
                break;
            }
            for m in got.messages() {
                let before = aws.counts().merged(&market.counts());
                let event = json!({ "Records": [{
                    "messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                    "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notifications" }] });
                let response = collect.api.invoke(event).await?;
                let delta = aws.counts().merged(&market.counts()).since(&before);
                report.notifications += 1;
                report.most_calls = report.most_calls.max(delta.total());
                if !delta.wrote() {
                    report.idle.0 += 1;
                    report.idle.1 += delta.total();
                }
                report.counts.add(&delta);
                let failed = response["batchItemFailures"].as_array().is_some_and(|f| !f.is_empty());
                if let Some(handle) = m.receipt_handle() {
                    let q = &stack.notification_queue_url;
                    if failed {
                        let _ = sqs
                            .change_message_visibility()
                            .queue_url(q)
                            .receipt_handle(handle)
                            .visibility_timeout(0)
                            .send()
                            .await;
                    } else {
                        let _ = sqs.delete_message().queue_url(q).receipt_handle(handle).send().await;
                    }
                }
            }
        }
        let job = store.job("bench").await.map_err(|e| e.to_string())?.ok_or("the job was not created")?;
        report.status = job.status;
        report.decided = job.decided;
        if !job.status.is_active() && job.status != JobStatus::Failed {
            break;
        }
        if job.status == JobStatus::Failed {
            return Err(format!("the bench job failed: {:?}", job.reason));
        }
    }
    report.cpu_seconds = collect.cpu_seconds().unwrap_or(0.0) - cpu_at_start;
    collect.stop().await;
    aws.stop();
    market.stop();
    mturk.stop().await;
    Ok(report)
}

impl Report {
    pub fn render(&self) -> String {
        let n = self.notifications.max(1) as f64;
        let mut out = format!(
            "collect on a {}-item iris job ({}): {} notifications, {} items decided\n\
             cold start {:.1} ms; CPU {:.2} ms per notification\n\
             AWS and marketplace calls: {:.2} per notification (most {}); {:.2} per notification that wrote nothing ({} of them)\n\
             writes to the job's state record: {:.2} per decided item (its tallies: {:.2}); refused conditional writes: {}\n\n\
             calls by operation (per notification):\n",
            self.items,
            self.status,
            self.notifications,
            self.decided,
            self.cold_start.as_secs_f64() * 1000.0,
            self.cpu_seconds * 1000.0 / n,
            self.counts.total() as f64 / n,
            self.most_calls,
            self.idle.1 as f64 / self.idle.0.max(1) as f64,
            self.idle.0,
            self.counts.job_writes as f64 / self.decided.max(1) as f64,
            self.counts.tally_writes as f64 / self.decided.max(1) as f64,
            self.counts.refused_writes,
        );
        let by_op: BTreeMap<&String, &u64> = self.counts.calls.iter().collect();
        for (op, calls) in by_op {
            out.push_str(&format!("  {op:<40} {calls:>6}  {:>6.2}\n", *calls as f64 / n));
        }
        out
    }
}
