//! `hitloop-mturk`: run the MTurk-compatible service.

use clap::Parser;
use hitloop_workforce::cli::{init_logging, serve, ServeArgs};

/// An Amazon Mechanical Turk Requester API (2017-01-17) compatible service,
/// with a simulated workforce on a simulated clock.
///
/// Point any MTurk client at the URL it prints (boto3: endpoint_url=...; the
/// Rust SDK: endpoint_url(...)). Control endpoints live under /_hitloop/.
#[derive(Parser, Debug)]
#[command(name = "hitloop-mturk", version)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,
}

fn fail(message: String) -> ! {
    eprintln!("hitloop-mturk: {message}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    init_logging();
    let config = Args::parse().serve.config().unwrap_or_else(|e| fail(e));
    serve(config).await.unwrap_or_else(|e| fail(e));
}
