//! hitloop's benchmarks (see `hitloop_local::bench`). Those that need AWS
//! take a moto server from HITLOOP_TEST_AWS_ENDPOINT, as the make targets
//! set it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hitloop_local::bench;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// ingest and publish at scale: peak memory and items per second
    Ingest {
        /// Manifest sizes to measure.
        #[arg(long, value_delimiter = ',', default_value = "10000,200000")]
        rows: Vec<usize>,
        /// How long to measure publishing for, per size (seconds).
        #[arg(long, default_value_t = 30)]
        publish_seconds: u64,
    },
    /// (internal) run ingest once in this process and report peak memory
    IngestOnce { bucket: String, key: String },
    /// collect's calls and CPU per notification on an iris job
    Collect {
        /// collect's release binary.
        #[arg(long)]
        binary: PathBuf,
        #[arg(long, default_value_t = 200)]
        items: usize,
    },
    /// the MTurk-compatible service: requests/s and p50/p99 latency per operation
    Workforce {
        /// Requests per operation on the memory store (ListReviewableHITs: a tenth as many pages).
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Requests per operation on the DynamoDB store (moto serves one at a time).
        #[arg(long, default_value_t = 400)]
        dynamodb_requests: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// the labeling stream: HTTP requests and time from a submit to the next task ready
    Stream {
        /// Tasks labeled on the memory store.
        #[arg(long, default_value_t = 500)]
        tasks: usize,
        /// Tasks labeled on the DynamoDB store (moto).
        #[arg(long, default_value_t = 100)]
        dynamodb_tasks: usize,
    },
    /// a confidence job's refit: DynamoDB requests against the job's size
    Refit {
        /// Job sizes, in answers.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        answers: Vec<usize>,
        /// Answers new since the last refit.
        #[arg(long, default_value_t = 1000)]
        new_answers: usize,
    },
    /// each function's binary size and cold start (no AWS needed)
    ColdStart {
        /// The directory with the five release binaries.
        #[arg(long)]
        binaries: PathBuf,
        /// Another build's directory, measured in turn with it (before/after).
        #[arg(long)]
        against: Option<PathBuf>,
        #[arg(long, default_value_t = 31)]
        runs: usize,
    },
}

fn endpoint() -> String {
    std::env::var("HITLOOP_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        eprintln!("hitloop-bench: set HITLOOP_TEST_AWS_ENDPOINT to a moto server (the make targets do)");
        std::process::exit(2);
    })
}

#[tokio::main]
async fn main() {
    let command = Args::parse().command.unwrap_or(Command::Ingest { rows: vec![10_000, 200_000], publish_seconds: 30 });
    let result = match command {
        Command::Ingest { rows, publish_seconds } => {
            let endpoint = endpoint();
            let sdk = hitloop_local::local_sdk(&endpoint).await;
            bench::ingest::run(&sdk, &endpoint, &rows, publish_seconds).await
        }
        Command::IngestOnce { bucket, key } => {
            let sdk = hitloop_local::local_sdk(&endpoint()).await;
            bench::ingest::ingest_once(&sdk, &bucket, &key).await
        }
        Command::Collect { binary, items } => {
            bench::collect::run(&binary, &endpoint(), items).await.map(|r| print!("{}", r.render()))
        }
        Command::Workforce { requests, dynamodb_requests, concurrency } => {
            use bench::workforce::{render, run, BenchStore};
            match run(requests, concurrency, BenchStore::Memory).await {
                Ok(memory) => run(dynamodb_requests, concurrency, BenchStore::DynamoDb(endpoint()))
                    .await
                    .map(|dynamodb| print!("{}", render(&memory, &dynamodb, concurrency))),
                Err(e) => Err(e),
            }
        }
        Command::Stream { tasks, dynamodb_tasks } => {
            use bench::stream::{render, run};
            use bench::workforce::BenchStore;
            match run(tasks, BenchStore::Memory).await {
                Ok(memory) => run(dynamodb_tasks, BenchStore::DynamoDb(endpoint()))
                    .await
                    .map(|dynamodb| print!("{}", render(&[memory, dynamodb]))),
                Err(e) => Err(e),
            }
        }
        Command::Refit { answers, new_answers } => bench::refit::run(&endpoint(), &answers, new_answers)
            .await
            .map(|rows| print!("{}", bench::refit::render(&rows))),
        Command::ColdStart { binaries, against, runs } => {
            let mut builds = vec![binaries.as_path()];
            builds.extend(against.as_deref());
            bench::cold_start::measure(&builds, runs).await.map(|all| {
                for (build, results) in builds.iter().zip(all) {
                    println!("{}", build.display());
                    println!(
                        "  {:<17} {:>10} {:>22} {:>12}",
                        "function", "binary MB", "cold start ms, median", "fastest"
                    );
                    for c in results {
                        println!(
                            "  {:<17} {:>10.1} {:>22.1} {:>12.1}   ({} starts)",
                            c.function,
                            c.bytes as f64 / 1_048_576.0,
                            c.median.as_secs_f64() * 1000.0,
                            c.fastest.as_secs_f64() * 1000.0,
                            c.runs
                        );
                    }
                }
            })
        }
    };
    if let Err(e) = result {
        eprintln!("hitloop-bench: {e}");
        std::process::exit(1);
    }
}
