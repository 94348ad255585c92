//! `hitloop local up`: the whole stack on this machine. moto (from the
//! project's venv) stands in for AWS, the MTurk-compatible service runs with
//! a simulated workforce, the resources come from infra/template.yaml, the
//! router delivers events to the functions in-process, the local trainer
//! runs the training jobs SageMaker would, the local transforms its batch
//! transform jobs, and the local endpoints bring up the endpoints it would
//! serve from. Ctrl-C stops all of it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hitloop_core::plan::sweep::SweepLimits;
use hitloop_workforce::crowd::{Truth, WorkforceConfig};
use hitloop_workforce::server::{start, Requesters, ServerConfig};

use super::target::LocalState;
use crate::endpoints::LocalEndpoints;
use crate::functions::Configs;
use crate::invocations::LocalInvocations;
use crate::marketplace::Marketplace;
use crate::router::Router;
use crate::trainer::LocalTrainer;
use crate::transforms::LocalTransforms;

pub struct UpOptions {
    /// The simulated crowd; None: only people work, on the worker page.
    pub workforce: Option<PathBuf>,
    pub truth: Option<PathBuf>,
    /// Simulated seconds per real second on the marketplace's clock.
    pub speed: f64,
    pub mturk_port: u16,
    pub balance: String,
    pub python: PathBuf,
    pub state_path: PathBuf,
}

/// Sweep's waits divided by the clock's speed (at least 5 seconds for an
/// item, a minute for a training job).
pub fn scaled_sweep_limits(speed: f64) -> SweepLimits {
    let d = SweepLimits::default();
    let scale = |ms: i64, floor: i64| ((ms as f64 / speed.max(1.0)) as i64).max(floor);
    SweepLimits {
        stale_after_ms: scale(d.stale_after_ms, 5_000),
        train_patience_ms: scale(d.train_patience_ms, 60_000),
        ..d
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

async fn start_moto(python: &Path, log: &Path) -> Result<(tokio::process::Child, String), String> {
    let launcher = Path::new("local/python/moto_server.py");
    if !python.exists() || !launcher.exists() {
        return Err(format!(
            "{} or {} is missing: run this from the repository's root after `make venv`",
            python.display(),
            launcher.display()
        ));
    }
    let port = free_port()?;
    let log_file = std::fs::File::create(log).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    let child = tokio::process::Command::new(python)
        .arg(launcher)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::from(log_file.try_clone().map_err(|e| e.to_string())?))
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start moto: {e}"))?;
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http.get(format!("{url}/moto-api/")).send().await.is_ok() {
            return Ok((child, url));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("moto did not start in 30 s; see {}", log.display()))
}

pub async fn up(options: UpOptions) -> Result<(), String> {
    let run_dir = options.state_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&run_dir).map_err(|e| format!("cannot create {}: {e}", run_dir.display()))?;
    if let Ok(text) = std::fs::read_to_string(&options.state_path) {
        if let Ok(old) = serde_json::from_str::<LocalState>(&text) {
            if Path::new(&format!("/proc/{}", old.pid)).exists() && old.pid != std::process::id() {
                return Err(format!(
                    "a local stack is already running (pid {}); stop it first (Ctrl-C in its terminal)",
                    old.pid
                ));
            }
        }
    }
    let workforce = match &options.workforce {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the workforce {}: {e}", path.display()))?;
            Some(WorkforceConfig::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let truth = match &options.truth {
        Some(p) => Truth::load(p).map_err(|e| e.to_string())?,
        None => Truth::default(),
    };

    let (mut moto, aws_endpoint) = start_moto(&options.python, &run_dir.join("moto.log")).await?;
    let sdk = crate::local_sdk(&aws_endpoint).await;
    let resources = crate::resources::create(&sdk, "hitloop").await.map_err(|e| e.to_string())?;
    let mturk = start(ServerConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], options.mturk_port)),
        aws_endpoint: Some(aws_endpoint.clone()),
        workforce,
        truth,
        speed: options.speed,
        balance: options.balance.parse().map_err(|e| format!("--balance: {e}"))?,
        // The local sandbox listens on loopback only and is open, so that a
        // notebook or boto3 script can use it with any key; the tests and a
        // deployment check every signature.
        requesters: Requesters::Open,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("cannot start the MTurk-compatible service: {e}"))?;

    let marketplace = Marketplace::of(&sdk, "hitloop", &mturk).await.map_err(|e| e.to_string())?;
    // SageMaker Runtime's stand-in: train's small prediction batches go to it.
    let invocations = LocalInvocations::start(&sdk, 0)
        .await
        .map_err(|e| format!("cannot start the local endpoint invocations: {e}"))?;
    let mut configs = Configs::of(&resources, &marketplace).map_err(|e| e.to_string())?;
    configs.train.sagemaker_runtime_url = Some(invocations.url.clone());
    let functions = configs.functions(&sdk);
    let router = Router::new(functions, resources.clone(), &sdk);
    let state = LocalState {
        aws_endpoint: aws_endpoint.clone(),
        mturk_url: mturk.url.clone(),
        bucket: resources.bucket.clone(),
        table: resources.table.clone(),
        pid: std::process::id(),
    };
    let state_text = serde_json::to_string_pretty(&state).map_err(|e| e.to_string())?;
    std::fs::write(&options.state_path, state_text)
        .map_err(|e| format!("cannot write {}: {e}", options.state_path.display()))?;
    println!("hitloop local stack is up");
    println!("  AWS (moto):               {aws_endpoint}");
    println!(
        "  MTurk-compatible service: {}  (clock x{}; open on loopback: any key signs, for local use only)",
        mturk.url, options.speed
    );
    println!("  worker page:              {}/worker/  (sign in with any worker id, e.g. A1TESTER)", mturk.url);
    println!("  endpoint invocations:     {}  (SageMaker Runtime's stand-in)", invocations.url);
    println!("  bucket:                   {}", resources.bucket);
    println!("  submit a job:             hitloop submit examples/iris");
    println!("Ctrl-C stops everything.");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The schedule: sweep as often as the template says, in simulated time
    // (at most once a second): a confidence job's worker model is refitted
    // as often as deployed, relative to the pace of the work.
    let sweep_every = Duration::from_secs_f64((resources.sweep_every.as_secs_f64() / options.speed.max(1.0)).max(1.0));
    // The marketplace's clock runs `speed` times faster: so do sweep's waits,
    // measured on the functions' (real) clock.
    let limits = scaled_sweep_limits(options.speed);
    let routing = tokio::spawn(async move { router.run(stop_rx, sweep_every, limits).await });
    let mut trainer = LocalTrainer::new(&sdk);
    let mut endpoints = LocalEndpoints::new(&sdk);
    let mut transforms = LocalTransforms::new(&sdk);
    let mut stop_watch = stop_tx.subscribe();
    let training = tokio::spawn(async move {
        loop {
            for name in trainer.run_pending().await {
                println!("local trainer: trained {name}");
            }
            for t in transforms.run_pending().await {
                match t.failure {
                    None => println!("local transform: {} predicted {} rows", t.name, t.rows),
                    Some(why) => println!("local transform: {} failed: {why}", t.name),
                }
            }
            for e in endpoints.run_pending().await {
                match e.failure {
                    None => println!("local endpoint: {} serves {}", e.endpoint, e.config),
                    Some(why) => println!("local endpoint: {} failed: {why}", e.endpoint),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = stop_watch.changed() => return,
            }
        }
    });

    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
        status = moto.wait() => eprintln!("moto stopped unexpectedly ({status:?}); see {}", run_dir.join("moto.log").display()),
    }
    println!("stopping");
    let _ = stop_tx.send(true);
    let _ = routing.await;
    let _ = training.await;
    mturk.stop().await;
    let _ = moto.kill().await;
    let _ = std::fs::remove_file(&options.state_path);
    Ok(())
}
