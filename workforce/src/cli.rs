//! The service's command line, shared by every binary that serves it
//! (`hitloop-mturk` on the memory store, `hitloop-mturk-dynamodb` on a table).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use std::sync::Arc;

use hitloop_core::money::Usd;

use crate::auth::{LocalKey, RequesterKeys};
use crate::crowd::{Truth, WorkforceConfig};
use crate::faults::RequestFaults;
use crate::notify::NotificationFaults;
use crate::server::{start, Requesters, ServerConfig, Turns};

/// How the service is run: address, clock, crowd, faults, who may call.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Port to listen on; 0 picks a free one. The first line printed is the URL.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Endpoint of the AWS services that receive notifications (SQS, SNS),
    /// e.g. a moto server: http://127.0.0.1:5000. Without it, no notification
    /// is delivered.
    #[arg(long, env = "HITLOOP_AWS_ENDPOINT")]
    pub aws_endpoint: Option<String>,
    /// AWS region of the SQS queues and SNS topics.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Workforce file (TOML) describing the simulated workers. Without it
    /// nobody works on HITs.
    #[arg(long)]
    pub workforce: Option<PathBuf>,
    /// Truth table (CSV: key,label) the simulated workers answer from.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Simulated seconds per real second (60 = a 5-minute task takes 5 s);
    /// 0 freezes the clock, which then moves only through /_hitloop/clock/advance.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Starting account balance in USD (the sandbox had 10000.00).
    #[arg(long, default_value = "10000.00")]
    pub balance: Usd,
    /// Seed for ids, faults and the workforce: same seed, same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of requests answered with ThrottlingException ("Rate exceeded").
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Share of requests answered with ServiceFault (HTTP 500).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Requests per second allowed per operation (token bucket); 0 = unlimited.
    #[arg(long, default_value_t = 0.0)]
    pub rate_limit: f64,
    /// Token bucket size (burst) for --rate-limit.
    #[arg(long, default_value_t = 10.0)]
    pub burst: f64,
    /// Milliseconds added to every API answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of requests carried out, then answered --late-reply-ms late.
    #[arg(long, default_value_t = 0.0)]
    pub late_reply_rate: f64,
    /// How late those answers come (milliseconds).
    #[arg(long, default_value_t = 0)]
    pub late_reply_ms: u64,
    /// Share of notification documents dropped.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Share of notification documents delivered twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_rate: f64,
    /// Share of notification documents delivered late, after newer ones.
    #[arg(long, default_value_t = 0.0)]
    pub reorder_rate: f64,
    /// Up to this many events per notification document.
    #[arg(long, default_value_t = 1)]
    pub batch_max: usize,
    /// Accept requests without checking their signature. Only for a sandbox
    /// on this machine: anyone who reaches the port can spend the balance.
    #[arg(long)]
    pub no_auth: bool,
    /// Serve requests at once, as a deployment does, instead of one at a time
    /// in simulated-time order; what falls due is then done by a pass every
    /// second. Not with --workforce (the crowd needs its turns).
    #[arg(long, conflicts_with = "workforce")]
    pub concurrent: bool,
}

/// Where the requester key comes from: the environment, never the command
/// line (which any user of the machine can read).
pub const KEY_VARIABLE: &str = "HITLOOP_MTURK_REQUESTER_KEY";

impl ServeArgs {
    /// The server's configuration, checked (the store: a memory one;
    /// requests signed with the key in HITLOOP_MTURK_REQUESTER_KEY).
    pub fn config(self) -> Result<ServerConfig, String> {
        self.config_with_keys(None)
    }

    /// The same, requests signed with any active key of `keys` instead of
    /// the one in the environment (unless --no-auth).
    pub fn config_with_keys(self, keys: Option<Arc<dyn RequesterKeys>>) -> Result<ServerConfig, String> {
        let workforce = match self.workforce.as_deref() {
            Some(p) => Some(WorkforceConfig::load(p).map_err(|e| e.to_string())?),
            None => None,
        };
        let truth = match self.truth.as_deref() {
            Some(p) => Truth::load(p).map_err(|e| e.to_string())?,
            None => Truth::default(),
        };
        for (name, rate) in [
            ("--throttle-rate", self.throttle_rate),
            ("--fault-rate", self.fault_rate),
            ("--drop-rate", self.drop_rate),
            ("--duplicate-rate", self.duplicate_rate),
            ("--reorder-rate", self.reorder_rate),
            ("--late-reply-rate", self.late_reply_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must lie between 0 and 1"));
            }
        }
        if self.speed < 0.0 {
            return Err("--speed cannot be negative".into());
        }
        let requesters = match (self.no_auth, keys, std::env::var(KEY_VARIABLE).ok()) {
            (true, _, _) => Requesters::Open,
            (false, Some(keys), _) => Requesters::Store(keys),
            (false, None, Some(text)) => Requesters::Key(
                LocalKey::parse(&text).ok_or_else(|| format!("{KEY_VARIABLE} must be ACCESS_KEY_ID:SECRET"))?,
            ),
            (false, None, None) => return Err(format!(
                "requests must be signed: put the key clients sign with in {KEY_VARIABLE} (ACCESS_KEY_ID:SECRET), or run with --no-auth on a machine nobody else reaches"
            )),
        };
        let config = ServerConfig {
            bind: SocketAddr::new(self.host, self.port),
            aws_endpoint: self.aws_endpoint,
            region: self.region,
            workforce,
            truth,
            speed: self.speed,
            balance: self.balance,
            seed: self.seed,
            request_faults: RequestFaults {
                throttle_rate: self.throttle_rate,
                fault_rate: self.fault_rate,
                rate_limit: self.rate_limit,
                burst: self.burst,
                latency_ms: self.latency_ms,
                late_reply_rate: self.late_reply_rate,
                late_reply_ms: self.late_reply_ms,
            },
            notification_faults: NotificationFaults {
                drop_rate: self.drop_rate,
                duplicate_rate: self.duplicate_rate,
                reorder_rate: self.reorder_rate,
                batch_max: self.batch_max,
                ..Default::default()
            },
            requesters,
            store: None,
            turns: match self.concurrent {
                true => Turns::Concurrent { pass_every: Some(std::time::Duration::from_secs(1)) },
                false => Turns::Simulated,
            },
            reply_after_delivery: false,
            worker_sign_in: None,
        };
        Ok(config)
    }
}

/// Logs to stderr, filtered by RUST_LOG (default info).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
}

/// Serves until SIGINT or SIGTERM. The first line printed is the URL, so
/// scripts can read it.
pub async fn serve(config: ServerConfig) -> Result<(), String> {
    let running = start(config).await.map_err(|e| format!("cannot listen: {e}"))?;
    println!("{}", running.url);
    let _ = std::io::stdout().flush();
    tracing::info!(url = %running.url, "MTurk-compatible service listening");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
        _ = terminate() => tracing::info!("stopping"),
    }
    running.stop().await;
    Ok(())
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await
}
