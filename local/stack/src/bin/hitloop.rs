//! The `hitloop` command. See `hitloop --help`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use hitloop_core::quality::formats::Format;
use hitloop_local::cli::{export, predict, replay, resume, status, submit, target, team, teardown, up, workforce};

#[derive(Parser)]
#[command(name = "hitloop", version, about = "Crowd labeling with quality control, then training: locally or on AWS")]
struct Cli {
    /// A deployed stack (its outputs name the bucket and table); without it,
    /// the local stack `hitloop local up` runs.
    #[arg(long, global = true, env = "HITLOOP_STACK")]
    stack: Option<String>,
    /// The local stack's state file.
    #[arg(long, global = true, env = "HITLOOP_LOCAL_STATE", default_value = "local/.run/stack.json")]
    state: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The local stack.
    Local {
        #[command(subcommand)]
        command: LocalCommand,
    },
    /// Uploads a job folder (job.json, the template, then the manifest, which starts the job).
    Submit {
        dir: PathBuf,
        #[arg(long)]
        job_id: Option<String>,
    },
    /// A job's state, items, money and agreement; every job without one.
    Status {
        job: Option<String>,
        /// Follow the job with a progress bar until it settles.
        #[arg(long)]
        watch: bool,
        /// Stop watching after this many seconds.
        #[arg(long)]
        timeout: Option<u64>,
        /// A key,label CSV of true labels: prints the crowd's accuracy.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Downloads a job's outputs (labels, split, report, model) into a folder.
    Export { job: String, dir: PathBuf },
    /// Uploads a job's job.json again, with a new budget if given: resumes a
    /// paused job (after a budget or an empty account) and changes a running job's budget.
    Resume {
        job: String,
        /// The new budget_usd, e.g. 25.00.
        #[arg(long)]
        budget: Option<String>,
    },
    /// Uploads a prediction batch for a trained job (a CSV with `id` and the
    /// training features): its predictions.csv comes from the job's model,
    /// and, for a job with `verify`, the unsure rows go to people.
    Predict {
        job: String,
        file: PathBuf,
        /// The batch's name (default: the file's name).
        #[arg(long)]
        batch: Option<String>,
        /// Wait until the batch is predicted (and verified) or refused.
        #[arg(long)]
        watch: bool,
        /// Send none of this batch's rows to people, even for a job with
        /// `verify` (to measure a model, say).
        #[arg(long)]
        no_verify: bool,
        /// Stop waiting after this many seconds.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
    },
    /// Deletes what a job deployed: its endpoint, endpoint configurations and
    /// models (an endpoint costs money while it exists); the job becomes
    /// torn_down. Safe to run twice, or while a deployment is in flight.
    Teardown {
        job: String,
        /// Also delete the job's outputs (jobs/<job>/output/: labels, split,
        /// report, models' artifacts).
        #[arg(long)]
        outputs: bool,
    },
    /// Tries the decision policies on answers recorded before, with their
    /// true labels: labels bought per item, accuracy and unresolved share of
    /// the seed's agreement rule, fixed k, confidence stopping at several
    /// targets and job.json's default; then each worker model's accuracy and
    /// time on every answer. Spends nothing.
    Replay {
        /// The answers: item,worker,label CSV with a header (or a public
        /// dataset's format: `.txt` whitespace-separated, `.tsv` Snow et al.'s).
        #[arg(long)]
        answers: PathBuf,
        /// The true labels: item,label CSV with a header (`.txt`:
        /// whitespace-separated); not needed for a `.tsv` that carries them.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// The files' shape, when their names do not say it.
        #[arg(long, value_enum)]
        format: Option<ReplayFormat>,
        /// What to call the dataset (default: from the answers file's name).
        #[arg(long)]
        name: Option<String>,
        /// Replays (random orders) averaged per policy.
        #[arg(long, default_value_t = 10)]
        runs: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The confidence targets to try.
        #[arg(long, value_delimiter = ',', default_value = "0.7,0.8,0.9,0.95,0.98")]
        targets: Vec<f64>,
        /// The share of the items used as gold (their label known to the model, not scored).
        #[arg(long, default_value_t = 0.02)]
        gold_share: f64,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The workforce service you run (your MTurk-compatible endpoint).
    Workforce {
        #[command(subcommand)]
        command: WorkforceCommand,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReplayFormat {
    /// item,worker,label and item,label with headers (hitloop's, Zheng et al.'s).
    Csv,
    /// item worker label and item label, no header (Zhang et al.'s).
    Whitespace,
    /// Snow et al.'s standardized TSV, the true label on each row.
    Snow,
}

#[derive(Subcommand)]
enum WorkforceCommand {
    /// Invites a person to label: the user pool emails them a temporary
    /// password for the worker site; prints the worker id they will have.
    Invite {
        /// The annotators' user pool (the workforce stack's UserPoolId output).
        #[arg(long, env = "HITLOOP_WORKFORCE_USER_POOL")]
        user_pool: String,
        email: String,
    },
    /// Every worker's figures: submitted, approved, rejected, awaiting
    /// review, returned, abandoned, median minutes per task, hours working,
    /// earned, blocked.
    Workers {
        #[command(flatten)]
        service: ServiceArgs,
        /// From this day (YYYY-MM-DD, UTC), included.
        #[arg(long)]
        from: Option<String>,
        /// To this day (YYYY-MM-DD, UTC), included.
        #[arg(long)]
        to: Option<String>,
        /// Show each worker's agreement with the final labels of this
        /// finished job (of the stack --stack names, or the local one);
        /// repeat for several.
        #[arg(long = "job")]
        jobs: Vec<String>,
    },
    /// What each worker is owed for the days given, as CSV (worker id,
    /// email, approved assignments, rewards, bonuses, total); pay it outside
    /// hitloop.
    Payouts {
        #[command(flatten)]
        service: ServiceArgs,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Stops a worker (id, or email with --user-pool) from accepting HITs.
    Block {
        #[command(flatten)]
        service: ServiceArgs,
        worker: String,
        /// Why (kept with the block; ListWorkerBlocks shows it).
        #[arg(long)]
        reason: String,
    },
    /// Lets a blocked worker accept HITs again.
    Unblock {
        #[command(flatten)]
        service: ServiceArgs,
        worker: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Grants a worker a qualification (a type's name or id) with a value.
    Qualify {
        #[command(flatten)]
        service: ServiceArgs,
        worker: String,
        qualification: String,
        value: i64,
        /// Make a qualification type of that name if there is none.
        #[arg(long)]
        create: bool,
    },
    /// Pays money into the account (what GetAccountBalance shows), e.g. 250.00.
    Deposit {
        #[command(flatten)]
        service: ServiceArgs,
        usd: String,
    },
    /// Requester access keys: who may call the service's API.
    Keys {
        /// The service's DynamoDB table.
        #[arg(long, env = "HITLOOP_WORKFORCE_TABLE")]
        table: String,
        /// The KMS key its secrets are encrypted with (id, ARN or alias).
        #[arg(long, env = "HITLOOP_WORKFORCE_KMS_KEY")]
        kms_key: String,
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// Where the team lead's commands find the service: its table and, for
/// emails, its user pool.
#[derive(clap::Args)]
struct ServiceArgs {
    /// The service's DynamoDB table.
    #[arg(long, env = "HITLOOP_WORKFORCE_TABLE")]
    table: String,
    /// The annotators' user pool, to show emails and take them for worker ids.
    #[arg(long, env = "HITLOOP_WORKFORCE_USER_POOL")]
    user_pool: Option<String>,
}

impl ServiceArgs {
    async fn open(&self) -> Result<team::Team, String> {
        let sdk = hitloop_aws::loader().load().await;
        team::Team::open(&sdk, &self.table, self.user_pool.as_deref()).await
    }
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Issues a key and shows its secret, this once.
    Create {
        /// Who or what will use it (shown by `list`).
        #[arg(long, default_value = "")]
        description: String,
        /// Put the key in this Secrets Manager secret (made, or given a new
        /// version) instead of showing it: the pipeline's MTurkKeySecret.
        #[arg(long, value_name = "NAME", conflicts_with = "json")]
        secret: Option<String>,
        /// Print {"AccessKeyId", "SecretAccessKey"}, what such a secret holds.
        #[arg(long)]
        json: bool,
    },
    /// Every key, without secrets.
    List,
    /// Revokes a key: requests signed with it are refused from then on.
    Revoke { access_key_id: String },
}

#[derive(Subcommand)]
enum LocalCommand {
    /// Starts moto, the MTurk-compatible service and the functions; Ctrl-C stops them.
    Up {
        #[arg(long, default_value = "workforce/workforces/iris.toml")]
        workforce: PathBuf,
        /// No simulated crowd: only people work, on the worker page (the
        /// clock then runs at real time unless --speed says otherwise).
        #[arg(long)]
        no_crowd: bool,
        /// key,label CSV the simulated workers answer from.
        #[arg(long, default_value = "examples/iris/truth.csv")]
        truth: PathBuf,
        /// Simulated seconds per real second on the marketplace's clock
        /// (default 60 with the simulated crowd, 1 without).
        #[arg(long)]
        speed: Option<f64>,
        #[arg(long, default_value_t = 0)]
        mturk_port: u16,
        #[arg(long, default_value = "10000.00")]
        balance: String,
        #[arg(long, default_value = ".venv/bin/python")]
        python: PathBuf,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("hitloop: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Local {
            command: LocalCommand::Up { workforce, no_crowd, truth, speed, mturk_port, balance, python },
        } => {
            let truth = truth.exists().then_some(truth);
            let speed = speed.unwrap_or(if no_crowd { 1.0 } else { 60.0 });
            let workforce = (!no_crowd).then_some(workforce);
            up::up(up::UpOptions { workforce, truth, speed, mturk_port, balance, python, state_path: cli.state }).await
        }
        Command::Submit { dir, job_id } => {
            let t = target::Target::resolve(cli.stack.as_deref(), &cli.state).await?;
            let id = submit::submit(&t, &dir, job_id).await?;
            println!("submitted {} as job {id} to s3://{}/jobs/{id}/", dir.display(), t.bucket);
            println!("follow it: hitloop status {id} --watch");
            Ok(())
        }
        Command::Status { job: None, .. } => {
            let t = target::Target::resolve(cli.stack.as_deref(), &cli.state).await?;
            print!("{}", status::list(&t).await?);
            Ok(())
        }
        Command::Status { job: Some(job), watch, timeout, truth, json } => {
            let t = target::Target::resolve(cli.stack.as_deref(), &cli.state).await?;
            let s = if watch {
                status::watch(&t, &job, timeout.map(Duration::from_secs)).await?
            } else {
                status::summary(&t, &job).await?
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?);
            } else {
                print!("{}", status::render(&s));
            }
            if let Some(path) = truth {
                let truth = status::read_truth(&path)?;
                let items = status::labeled_as_output(&t, &job).await?;
                if let Some((right, checked)) = status::accuracy(&items, &truth) {
                    println!(
                        "  crowd accuracy: {right}/{checked} labeled items carry the true label ({:.1} %)",
                        right as f64 * 100.0 / checked as f64
                    );
                }
            }
            if s.status == "failed" {
                return Err(format!("job {job} failed: fix what is listed above and upload again"));
            }
            Ok(())
        }
        Command::Replay { answers, truth, format, name, runs, seed, targets, gold_share, json } => {
            let format = format.map(|f| match f {
                ReplayFormat::Csv => Format::Csv,
                ReplayFormat::Whitespace => Format::Whitespace,
                ReplayFormat::Snow => Format::SnowTsv,
            });
            let request = replay::Request { answers, truth, format, name, runs, seed, targets, gold_share, json };
            Ok(replay::run(&request)?)
        }
        Command::Resume { job, budget } => {
            let t = target::Target::resolve(cli.stack.as_deref(), &cli.state).await?;
            println!("{}", resume::resume(&t, &job, budget.as_deref()).await?);
            println!("follow it: hitloop status {job} --watch (a refusal would be in jobs/{job}/upload-refused.json)");
            Ok(())
        }
        Command::Predict { job, file, batch, watch, no_verify, timeout } => {
            let t = target::Target::resolve(cli.stack.as_deref(), &cli.state).await?;
            let batch = batch.unwrap_or_else(|| predict::batch_from_file(&file));
            println!("{}", predict::upload(&t, &job, &file, &batch, !no_verify).await?);
            if watch {
                print!("{}", predict::watch(&t, &job, &batch, Duration::from_secs(timeout)).await?);
            } else {
                println!("its predictions: jobs/{job}/predict/{batch}/predictions.csv (--watch waits for them)");
            }
            Ok(())
        }
        Command::Teardown { job, outputs } => {
            let t = target::Target::resolve(cli.stack.as_deref(), &cli.state).await?;
            print!("{}", teardown::teardown(&t, &job, outputs).await?);
            Ok(())
        }
        Command::Workforce { command: WorkforceCommand::Invite { user_pool, email } } => {
            let sdk = hitloop_aws::loader().load().await;
            print!("{}", workforce::invite(&sdk, &user_pool, &email).await?);
            Ok(())
        }
        Command::Workforce { command: WorkforceCommand::Workers { service, from, to, jobs } } => {
            let window = team::window(from.as_deref(), to.as_deref())?;
            let agreement = if jobs.is_empty() {
                None
            } else {
                let t = target::Target::resolve(cli.stack.as_deref(), &cli.state).await?;
                Some(team::agreement(&t, &jobs).await?)
            };
            print!("{}", team::workers(&service.open().await?, window, agreement.as_ref()).await?);
            Ok(())
        }
        Command::Workforce { command: WorkforceCommand::Payouts { service, from, to } } => {
            let window = team::window(Some(&from), Some(&to))?;
            print!("{}", team::payouts(&service.open().await?, window).await?);
            Ok(())
        }
        Command::Workforce { command: WorkforceCommand::Block { service, worker, reason } } => {
            print!("{}", team::block(&service.open().await?, &worker, &reason).await?);
            Ok(())
        }
        Command::Workforce { command: WorkforceCommand::Unblock { service, worker, reason } } => {
            print!("{}", team::unblock(&service.open().await?, &worker, reason.as_deref()).await?);
            Ok(())
        }
        Command::Workforce { command: WorkforceCommand::Qualify { service, worker, qualification, value, create } } => {
            print!("{}", team::qualify(&service.open().await?, &worker, &qualification, value, create).await?);
            Ok(())
        }
        Command::Workforce { command: WorkforceCommand::Deposit { service, usd } } => {
            print!("{}", team::deposit(&service.open().await?, &usd).await?);
            Ok(())
        }
        Command::Workforce { command: WorkforceCommand::Keys { table, kms_key, command } } => {
            let sdk = hitloop_aws::loader().load().await;
            let keys = workforce::KeyStore { table, kms_key }.open(&sdk);
            let text = match command {
                KeysCommand::Create { description, secret, json } => {
                    let to = match (secret, json) {
                        (Some(name), _) => workforce::KeyDestination::Secret(name),
                        (None, true) => workforce::KeyDestination::Json,
                        (None, false) => workforce::KeyDestination::Terminal,
                    };
                    workforce::create(&keys, &description, &to, &sdk).await?
                }
                KeysCommand::List => workforce::list(&keys).await?,
                KeysCommand::Revoke { access_key_id } => workforce::revoke(&keys, &access_key_id).await?,
            };
            print!("{text}");
            Ok(())
        }
        Command::Export { job, dir } => {
            let t = target::Target::resolve(cli.stack.as_deref(), &cli.state).await?;
            let files = export::export(&t, &job, &dir).await?;
            for f in &files {
                println!("{}", f.display());
            }
            Ok(())
        }
    }
}
