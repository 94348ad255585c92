//! A function's release binary run as Lambda runs it: a process that polls
//! a Runtime API (ours, on loopback) for events, with the environment Lambda
//! sets and the function's own variables.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::runtime_api::RuntimeApi;

/// Clock ticks per second in /proc (USER_HZ: 100 on Linux, fixed by its ABI).
const TICKS_PER_SECOND: f64 = 100.0;

pub struct FunctionProcess {
    child: tokio::process::Child,
    pub api: RuntimeApi,
    pub spawned: Instant,
}

impl FunctionProcess {
    /// Starts `binary`; `env` is the function's configuration and AWS's.
    pub async fn start(binary: &Path, name: &str, env: &BTreeMap<String, String>) -> std::io::Result<FunctionProcess> {
        let api = RuntimeApi::start().await?;
        let mut command = tokio::process::Command::new(binary);
        command.env_clear();
        for keep in ["PATH", "HOME"] {
            if let Ok(v) = std::env::var(keep) {
                command.env(keep, v);
            }
        }
        command
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let spawned = Instant::now();
        let child = command.spawn()?;
        Ok(FunctionProcess { child, api, spawned })
    }

    /// Process start until it asked for its first event.
    pub async fn cold_start(&self) -> Option<Duration> {
        self.api.first_poll(Duration::from_secs(30)).await.map(|at| at.duration_since(self.spawned))
    }

    /// CPU seconds the process has used (user + system).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let user: u64 = fields.get(11)?.parse().ok()?;
        let system: u64 = fields.get(12)?.parse().ok()?;
        Some((user + system) as f64 / TICKS_PER_SECOND)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.api.stop();
    }
}

/// What a function needs of AWS to start against a local endpoint.
pub fn aws_env(endpoint: &str) -> BTreeMap<String, String> {
    [
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("AWS_ENDPOINT_URL", endpoint),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
