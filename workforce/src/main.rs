//! `hitloop-mturk`: run the MTurk-compatible service.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use hitloop_core::money::Usd;
use hitloop_workforce::auth::LocalKey;
use hitloop_workforce::crowd::{Truth, WorkforceConfig};
use hitloop_workforce::faults::RequestFaults;
use hitloop_workforce::notify::NotificationFaults;
use hitloop_workforce::server::{start, Requesters, ServerConfig, Turns};

/// An Amazon Mechanical Turk Requester API (2017-01-17) compatible service,
/// with a simulated workforce on a simulated clock.
///
/// Point any MTurk client at the URL it prints (boto3: endpoint_url=...; the
/// Rust SDK: endpoint_url(...)). Control endpoints live under /_hitloop/.
#[derive(Parser, Debug)]
#[command(name = "hitloop-mturk", version)]
struct Args {
    /// Port to listen on; 0 picks a free one. The first line printed is the URL.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Endpoint of the AWS services that receive notifications (SQS, SNS),
    /// e.g. a moto server: http://127.0.0.1:5000. Without it, no notification
    /// is delivered.
    #[arg(long, env = "HITLOOP_AWS_ENDPOINT")]
    aws_endpoint: Option<String>,
    /// AWS region of the SQS queues and SNS topics.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Workforce file (TOML) describing the simulated workers. Without it
    /// nobody works on HITs.
    #[arg(long)]
    workforce: Option<PathBuf>,
    /// Truth table (CSV: key,label) the simulated workers answer from.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Simulated seconds per real second (60 = a 5-minute task takes 5 s);
    /// 0 freezes the clock, which then moves only through /_hitloop/clock/advance.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Starting account balance in USD (the sandbox had 10000.00).
    #[arg(long, default_value = "10000.00")]
    balance: Usd,
    /// Seed for ids, faults and the workforce: same seed, same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of requests answered with ThrottlingException ("Rate exceeded").
    #[arg(long, default_value_t = 0.0)]
    throttle_rate: f64,
    /// Share of requests answered with ServiceFault (HTTP 500).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Requests per second allowed per operation (token bucket); 0 = unlimited.
    #[arg(long, default_value_t = 0.0)]
    rate_limit: f64,
    /// Token bucket size (burst) for --rate-limit.
    #[arg(long, default_value_t = 10.0)]
    burst: f64,
    /// Milliseconds added to every API answer.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests carried out, then answered --late-reply-ms late.
    #[arg(long, default_value_t = 0.0)]
    late_reply_rate: f64,
    /// How late those answers come (milliseconds).
    #[arg(long, default_value_t = 0)]
    late_reply_ms: u64,
    /// Share of notification documents dropped.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Share of notification documents delivered twice.
    #[arg(long, default_value_t = 0.0)]
    duplicate_rate: f64,
    /// Share of notification documents delivered late, after newer ones.
    #[arg(long, default_value_t = 0.0)]
    reorder_rate: f64,
    /// Up to this many events per notification document.
    #[arg(long, default_value_t = 1)]
    batch_max: usize,
    /// Accept requests without checking their signature. Only for a sandbox
    /// on this machine: anyone who reaches the port can spend the balance.
    #[arg(long)]
    no_auth: bool,
    /// Serve requests at once, as a deployment does, instead of one at a time
    /// in simulated-time order; what falls due is then done by a pass every
    /// second. Not with --workforce (the crowd needs its turns).
    #[arg(long, conflicts_with = "workforce")]
    concurrent: bool,
}

/// Where the requester key comes from: the environment, never the command
/// line (which any user of the machine can read).
const KEY_VARIABLE: &str = "HITLOOP_MTURK_REQUESTER_KEY";

fn fail(message: String) -> ! {
    eprintln!("hitloop-mturk: {message}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let workforce = args.workforce.as_deref().map(|p| WorkforceConfig::load(p).unwrap_or_else(|e| fail(e.to_string())));
    let truth = match args.truth.as_deref() {
        Some(p) => Truth::load(p).unwrap_or_else(|e| fail(e.to_string())),
        None => Truth::default(),
    };
    for (name, rate) in [
        ("--throttle-rate", args.throttle_rate),
        ("--fault-rate", args.fault_rate),
        ("--drop-rate", args.drop_rate),
        ("--duplicate-rate", args.duplicate_rate),
        ("--reorder-rate", args.reorder_rate),
        ("--late-reply-rate", args.late_reply_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            fail(format!("{name} must lie between 0 and 1"));
        }
    }
    if args.speed < 0.0 {
        fail("--speed cannot be negative".into());
    }
    let requesters = match (args.no_auth, std::env::var(KEY_VARIABLE).ok()) {
        (true, _) => Requesters::Open,
        (false, Some(text)) => Requesters::Key(
            LocalKey::parse(&text).unwrap_or_else(|| fail(format!("{KEY_VARIABLE} must be ACCESS_KEY_ID:SECRET"))),
        ),
        (false, None) => fail(format!(
            "requests must be signed: put the key clients sign with in {KEY_VARIABLE} (ACCESS_KEY_ID:SECRET), or run with --no-auth on a machine nobody else reaches"
        )),
    };
    let config = ServerConfig {
        bind: SocketAddr::new(args.host, args.port),
        aws_endpoint: args.aws_endpoint,
        region: args.region,
        workforce,
        truth,
        speed: args.speed,
        balance: args.balance,
        seed: args.seed,
        request_faults: RequestFaults {
            throttle_rate: args.throttle_rate,
            fault_rate: args.fault_rate,
            rate_limit: args.rate_limit,
            burst: args.burst,
            latency_ms: args.latency_ms,
            late_reply_rate: args.late_reply_rate,
            late_reply_ms: args.late_reply_ms,
        },
        notification_faults: NotificationFaults {
            drop_rate: args.drop_rate,
            duplicate_rate: args.duplicate_rate,
            reorder_rate: args.reorder_rate,
            batch_max: args.batch_max,
        },
        requesters,
        store: None,
        turns: match args.concurrent {
            true => Turns::Concurrent { pass_every: std::time::Duration::from_secs(1) },
            false => Turns::Simulated,
        },
    };
    let running = start(config).await.unwrap_or_else(|e| fail(format!("cannot listen: {e}")));
    // The first line of output is the URL, so scripts can read it.
    println!("{}", running.url);
    let _ = std::io::stdout().flush();
    tracing::info!(url = %running.url, "MTurk-compatible service listening");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
        _ = terminate() => tracing::info!("stopping"),
    }
    running.stop().await;
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
