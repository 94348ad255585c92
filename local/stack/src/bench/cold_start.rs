//! Each function's release binary: its size, and its cold start (process
//! start until it asks the Runtime API for its first event), the median of
//! several starts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::process::{aws_env, FunctionProcess};

pub const FUNCTIONS: [&str; 5] = ["ingest", "publish", "collect", "sweep", "train"];

pub struct ColdStart {
    pub function: String,
    pub bytes: u64,
    pub median: Duration,
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
        ("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/bench"),
    ] {
        env.insert(k.into(), v.into());
    }
    env
}

pub async fn measure(binaries: &Path, runs: usize) -> Result<Vec<ColdStart>, String> {
    let env = variables();
    let mut out = Vec::new();
    for name in FUNCTIONS {
        let binary = binaries.join(name);
        let bytes = std::fs::metadata(&binary).map_err(|e| format!("{}: {e}", binary.display()))?.len();
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let p = FunctionProcess::start(&binary, name, &env).await.map_err(|e| format!("{name}: {e}"))?;
            let t = p.cold_start().await.ok_or_else(|| format!("{name} never asked for an event"))?;
            times.push(t);
            p.stop().await;
        }
        times.sort();
        out.push(ColdStart { function: name.into(), bytes, median: times[times.len() / 2], runs });
    }
    Ok(out)
}
