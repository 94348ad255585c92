//! Benchmark: ingest manifests of 10k and 200k rows against the local stack
//! and print the ingest handler's peak memory and items per second through
//! ingest and publish. Needs a moto server (HITLOOP_TEST_AWS_ENDPOINT, as
//! `make bench` sets it). Ingest runs in a child process so its peak RSS is
//! its own.

#![allow(clippy::expect_used)] // a benchmark tool: stopping loudly on a broken setup is right

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use hitloop_lambda::env::Vars;
use hitloop_local::functions::Functions;
use hitloop_local::resources::{self, StackResources};
use hitloop_local::router::Router;
use hitloop_mturk::server::{start, ServerConfig};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Manifest sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "10000,200000")]
    rows: Vec<usize>,
    /// How long to measure publishing for, per size (seconds).
    #[arg(long, default_value_t = 30)]
    publish_seconds: u64,
}

#[derive(Subcommand)]
enum Command {
    /// (internal) run ingest once in this process and report peak memory
    IngestOnce { bucket: String, key: String },
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn manifest(rows: usize) -> Vec<u8> {
    let mut csv = String::with_capacity(rows * 80);
    csv.push_str("id,image_url,sepal_length,sepal_width\n");
    for i in 0..rows {
        csv.push_str(&format!("item-{i:07},https://images.hitloop.example/bench/{i:07}.jpg,5.1,3.5\n"));
    }
    csv.into_bytes()
}

const TEMPLATE: &str = r#"<crowd-form><crowd-image-classifier name="category" src="${image_url}" header="Which species?" categories="['a','b']"></crowd-image-classifier></crowd-form>"#;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let endpoint = match std::env::var("HITLOOP_TEST_AWS_ENDPOINT") {
        Ok(e) => e,
        Err(_) => {
            eprintln!("hitloop-bench: set HITLOOP_TEST_AWS_ENDPOINT to a moto server (make bench does)");
            std::process::exit(2);
        }
    };
    let sdk = hitloop_local::local_sdk(&endpoint).await;
    if let Some(Command::IngestOnce { bucket, key }) = args.command {
        let deps = ingest::config::Config::from(&Vars::Process).expect("the ingest environment").deps(&sdk);
        let started = Instant::now();
        let outcome = hitloop_pipeline::steps::ingest::ingest(&deps, &bucket, &key).await;
        println!("outcome={outcome:?}");
        println!("seconds={}", started.elapsed().as_secs_f64());
        println!("peak_rss_kb={}", peak_rss_kb());
        return;
    }

    let mturk = start(ServerConfig { speed: 0.0, ..Default::default() }).await.expect("the MTurk service starts");
    println!("{:>8} | {:>14} | {:>16} | {:>17}", "rows", "ingest peak MB", "ingest items/s", "publish items/s");
    let mut peaks = Vec::new();
    for rows in &args.rows {
        let name = format!("bench{rows}x{}", std::process::id());
        let res = resources::create(&sdk, &name).await.expect("resources");
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        let job = serde_json::json!({"labels": ["a", "b"]});
        for (key, body) in [
            ("job.json", job.to_string().into_bytes()),
            ("template.html", TEMPLATE.as_bytes().to_vec()),
            ("manifest.csv", manifest(*rows)),
        ] {
            s3.put_object()
                .bucket(&res.bucket)
                .key(format!("jobs/bench/{key}"))
                .body(aws_sdk_s3::primitives::ByteStream::from(body))
                .send()
                .await
                .expect("upload");
        }
        let (peak_kb, ingest_s) = ingest_in_child(&res, &endpoint);
        let publish_rate = publish_rate(&sdk, &res, &mturk.url, Duration::from_secs(args.publish_seconds)).await;
        println!(
            "{rows:>8} | {:>14.1} | {:>16.0} | {:>17.1}",
            peak_kb as f64 / 1024.0,
            *rows as f64 / ingest_s,
            publish_rate
        );
        peaks.push(peak_kb);
    }
    if let (Some(first), Some(last)) = (peaks.first(), peaks.last()) {
        println!("peak memory ratio (largest / smallest manifest): {:.2}", *last as f64 / *first as f64);
    }
    mturk.stop().await;
}

fn ingest_in_child(res: &StackResources, endpoint: &str) -> (u64, f64) {
    let me = std::env::current_exe().expect("own path");
    let out = std::process::Command::new(me)
        .args(["ingest-once", &res.bucket, "jobs/bench/manifest.csv"])
        .env("HITLOOP_TEST_AWS_ENDPOINT", endpoint)
        .env("TABLE_NAME", &res.table)
        .env("PUBLISH_QUEUE_URL", &res.publish_queue_url)
        .output()
        .expect("ingest runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("0").to_string();
    if !field("outcome=").contains("Accepted") {
        eprintln!("ingest did not accept the manifest: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    (field("peak_rss_kb=").parse().unwrap_or(0), field("seconds=").parse().unwrap_or(f64::NAN))
}

async fn publish_rate(sdk: &hitloop_aws::SdkConfig, res: &StackResources, mturk_url: &str, budget: Duration) -> f64 {
    let functions = Functions::of(res, mturk_url, sdk).expect("the functions' environment");
    let router = Router::new(functions, res.clone(), sdk);
    let started = Instant::now();
    let mut published = 0usize;
    while started.elapsed() < budget {
        let p = router.pump_once().await;
        if p.total() == 0 {
            break;
        }
        published += p.published;
    }
    published as f64 / started.elapsed().as_secs_f64()
}
