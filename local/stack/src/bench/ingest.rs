//! ingest and publish at scale: manifests of 10k and 200k rows against the
//! local stack; ingest's peak memory (measured in a child process, so the
//! peak is its own) and items per second through ingest and publish.

use std::time::{Duration, Instant};

use hitloop_lambda::env::Vars;
use hitloop_workforce::server::{start, Requesters, ServerConfig};

use crate::functions::Functions;
use crate::marketplace::Marketplace;
use crate::resources::{self, StackResources};
use crate::router::Router;

pub fn peak_rss_kb() -> u64 {
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

/// (in the child) ingest once in this process; prints what the parent reads.
pub async fn ingest_once(sdk: &hitloop_aws::SdkConfig, bucket: &str, key: &str) -> Result<(), String> {
    let deps = ingest::config::Config::from(&Vars::Process).map_err(|e| e.to_string())?.deps(sdk);
    let started = Instant::now();
    let outcome = hitloop_pipeline::steps::ingest::ingest(&deps, bucket, key).await;
    println!("outcome={outcome:?}");
    println!("seconds={}", started.elapsed().as_secs_f64());
    println!("peak_rss_kb={}", peak_rss_kb());
    Ok(())
}

/// The whole ingest benchmark; prints its table.
pub async fn run(
    sdk: &hitloop_aws::SdkConfig,
    endpoint: &str,
    sizes: &[usize],
    publish_seconds: u64,
) -> Result<(), String> {
    // Open: the bench measures ingest and publish, not the service's checks.
    let mturk = start(ServerConfig { speed: 0.0, requesters: Requesters::Open, ..Default::default() })
        .await
        .map_err(|e| e.to_string())?;
    println!("{:>8} | {:>14} | {:>16} | {:>17}", "rows", "ingest peak MB", "ingest items/s", "publish items/s");
    let mut peaks = Vec::new();
    for rows in sizes {
        let name = format!("bench{rows}x{}", std::process::id());
        let res = resources::create(sdk, &name).await.map_err(|e| e.to_string())?;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
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
                .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
        }
        let (peak_kb, ingest_s) = ingest_in_child(&res, endpoint)?;
        let marketplace = Marketplace::of(sdk, &name, &mturk).await.map_err(|e| e.to_string())?;
        let publish_rate = publish_rate(sdk, &res, &marketplace, Duration::from_secs(publish_seconds)).await?;
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
    Ok(())
}

fn ingest_in_child(res: &StackResources, endpoint: &str) -> Result<(u64, f64), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(me)
        .args(["ingest-once", &res.bucket, "jobs/bench/manifest.csv"])
        .env("HITLOOP_TEST_AWS_ENDPOINT", endpoint)
        .env("TABLE_NAME", &res.table)
        .env("PUBLISH_QUEUE_URL", &res.publish_queue_url)
        .output()
        .map_err(|e| format!("ingest does not run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("0").to_string();
    if !field("outcome=").contains("Accepted") {
        eprintln!("ingest did not accept the manifest: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((field("peak_rss_kb=").parse().unwrap_or(0), field("seconds=").parse().unwrap_or(f64::NAN)))
}

async fn publish_rate(
    sdk: &hitloop_aws::SdkConfig,
    res: &StackResources,
    marketplace: &Marketplace,
    budget: Duration,
) -> Result<f64, String> {
    let functions = Functions::of(res, marketplace, sdk).map_err(|e| e.to_string())?;
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
    Ok(published as f64 / started.elapsed().as_secs_f64())
}
