//! Each function's release binary: its size, and its cold start (process
//! start until it asks the Runtime API for its first event), the median and
//! the fastest of several starts. Two builds are measured interleaved (one
//! start of each in turn), so that what else the machine does falls on both.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::process::{aws_env, FunctionProcess};

pub const FUNCTIONS: [&str; 5] = ["ingest", "publish", "collect", "sweep", "train"];

/// The workforce service's functions, and beside them a minimal lambda_http
/// function built the same way (`functions/workforce-api/examples`): what
/// any HTTP function pays before its first request. Measured where built.
pub const WORKFORCE: [&str; 3] = ["workforce-api", "workforce-pass", "lambda-http-hello"];

/// Where a build keeps `name`'s binary (the hello-world is an example).
fn binary_of(dir: &Path, name: &str) -> std::path::PathBuf {
    match name {
        "lambda-http-hello" => dir.join("examples").join(name),
        _ => dir.join(name),
    }
}

pub struct ColdStart {
    pub function: String,
    pub bytes: u64,
    pub median: Duration,
    pub fastest: Duration,
    pub runs: usize,
}

/// Every variable any version of the functions reads: a binary is given
/// them all (extra ones are ignored), so older builds start too.
fn variables() -> BTreeMap<String, String> {
    let mut env = aws_env("http://127.0.0.1:9");
    for (k, v) in [
        ("TABLE_NAME", "bench-table"),
        ("PUBLISH_QUEUE_URL", "http://127.0.0.1:9/123456789012/publish"),
        ("NOTIFICATION_QUEUE_URL", "http://127.0.0.1:9/123456789012/notifications"),
        ("TRAINING_QUEUE_URL", "http://127.0.0.1:9/123456789012/training"),
        ("MTURK_ENDPOINT", "http://127.0.0.1:9"),
        ("MTURK_KEY_SECRET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-mturk-key-AbCdEf"),
        ("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/bench"),
        ("HITLOOP_WORKFORCE_TABLE", "bench-workforce"),
        ("HITLOOP_WORKFORCE_KMS_KEY", "alias/bench-workforce"),
        ("HITLOOP_WORKFORCE_USER_POOL", "us-east-1_bench"),
        ("HITLOOP_WORKFORCE_USER_POOL_CLIENT", "benchclient"),
    ] {
        env.insert(k.into(), v.into());
    }
    env
}

async fn start_once(binary: &Path, name: &str, env: &BTreeMap<String, String>) -> Result<Duration, String> {
    let p = FunctionProcess::start(binary, name, env).await.map_err(|e| format!("{}: {e}", binary.display()))?;
    let t = p.cold_start().await.ok_or_else(|| format!("{} never asked for an event", binary.display()))?;
    p.stop().await;
    Ok(t)
}

fn summary(name: &str, binary: &Path, mut times: Vec<Duration>) -> Result<ColdStart, String> {
    let bytes = std::fs::metadata(binary).map_err(|e| format!("{}: {e}", binary.display()))?.len();
    times.sort();
    Ok(ColdStart { function: name.into(), bytes, median: times[times.len() / 2], fastest: times[0], runs: times.len() })
}

/// Each build's five functions (the directories hold the binaries), `runs`
/// starts each, the builds taking turns.
pub async fn measure(builds: &[&Path], runs: usize) -> Result<Vec<Vec<ColdStart>>, String> {
    let env = variables();
    let mut out: Vec<Vec<ColdStart>> = builds.iter().map(|_| Vec::new()).collect();
    for name in FUNCTIONS.iter().chain(&WORKFORCE) {
        // A pipeline function must be in every build; the others where built.
        let present: Vec<bool> =
            builds.iter().map(|dir| FUNCTIONS.contains(name) || binary_of(dir, name).exists()).collect();
        let mut times: Vec<Vec<Duration>> = builds.iter().map(|_| Vec::with_capacity(runs)).collect();
        for _ in 0..runs.max(1) {
            for (b, dir) in builds.iter().enumerate().filter(|(b, _)| present[*b]) {
                times[b].push(start_once(&binary_of(dir, name), name, &env).await?);
            }
        }
        for (b, dir) in builds.iter().enumerate().filter(|(b, _)| present[*b]) {
            out[b].push(summary(name, &binary_of(dir, name), std::mem::take(&mut times[b]))?);
        }
    }
    Ok(out)
}
