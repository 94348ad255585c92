//! The `hitloop` command against a local stack: submit, status (also
//! --watch), export, and a job that fails validation, where the user must see
//! why. The stack runs in this test (moto from HITLOOP_TEST_AWS_ENDPOINT, the
//! MTurk-compatible service, the router); the command is the real binary,
//! pointed at it by a state file as `hitloop local up` writes one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hitloop_local::cli::target::LocalState;
use hitloop_local::functions::Functions;
use hitloop_local::router::Router;
use hitloop_workforce::crowd::{Truth, WorkforceConfig};
use hitloop_workforce::server::{start, ServerConfig};

const CROWD: &str = r#"
seed = 3
[[group]]
name = "careful"
count = 8
accuracy = 0.97
work_seconds = { median = 30, spread = 0.3 }
pause_seconds = { median = 10, spread = 0.5 }
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hitloop(state: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hitloop")).arg("--state").arg(state).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A job folder: the iris example's template, every 5th flower, and job.json.
fn job_folder(dir: &Path, job_json: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let iris = repo().join("examples/iris");
    std::fs::copy(iris.join("template.html"), dir.join("template.html")).unwrap();
    let manifest = std::fs::read_to_string(iris.join("manifest.csv")).unwrap();
    let mut lines = manifest.lines();
    let mut small = format!("{}\n", lines.next().unwrap());
    for l in lines.step_by(5) {
        small.push_str(l);
        small.push('\n');
    }
    std::fs::write(dir.join("manifest.csv"), small).unwrap();
    std::fs::write(dir.join("job.json"), job_json).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_status_and_export_against_the_local_stack() {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("run under `make test` (moto)");
    let sdk = hitloop_local::local_sdk(&endpoint).await;
    let name = format!("cli{}", std::process::id());
    let resources = hitloop_local::resources::create(&sdk, &name).await.unwrap();
    let truth = Truth::load(&repo().join("examples/iris/truth.csv")).unwrap();
    let mturk = start(ServerConfig {
        aws_endpoint: Some(endpoint.clone()),
        workforce: Some(WorkforceConfig::parse(CROWD).unwrap()),
        truth,
        speed: 600.0,
        ..Default::default()
    })
    .await
    .unwrap();
    let marketplace = hitloop_local::marketplace::Marketplace::of(&sdk, &name, &mturk).await.unwrap();
    let router = Router::new(Functions::of(&resources, &marketplace, &sdk).unwrap(), resources.clone(), &sdk);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let routing = tokio::spawn(async move {
        router.run(stopped, Duration::from_secs(5), hitloop_local::cli::up::scaled_sweep_limits(600.0)).await
    });

    let work = std::env::temp_dir().join(format!("hitloop-cli-{name}"));
    let state = work.join("stack.json");
    std::fs::create_dir_all(&work).unwrap();

    // Without a running stack, the command says what to do.
    let (ok, _, err) = hitloop(&state, &["status"]);
    assert!(!ok && err.contains("hitloop local up"), "{err}");

    let local = LocalState {
        aws_endpoint: endpoint,
        mturk_url: mturk.url.clone(),
        bucket: resources.bucket.clone(),
        table: resources.table.clone(),
        pid: std::process::id(),
    };
    std::fs::write(&state, serde_json::to_string(&local).unwrap()).unwrap();

    // A good job: submit, watch it settle, read its status, export.
    let good = work.join("Small Iris");
    job_folder(
        &good,
        r#"{"labels": ["Iris-setosa", "Iris-versicolor", "Iris-virginica"],
            "training": {"features": ["sepal_length", "sepal_width", "petal_length", "petal_width"]}}"#,
    );
    let (ok, out, err) = hitloop(&state, &["submit", good.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("as job small-iris"), "the folder's name is the job id: {out}");
    let (ok, out, err) = hitloop(&state, &["status", "small-iris", "--watch", "--timeout", "240"]);
    assert!(ok, "{err}");
    assert!(out.contains("job small-iris: complete"), "{out}");
    assert!(out.contains("items: 30 ("), "{out}");
    let truth = repo().join("examples/iris/truth.csv");
    let (ok, out, _) = hitloop(&state, &["status", "small-iris", "--json", "--truth", truth.to_str().unwrap()]);
    assert!(ok);
    let summary: serde_json::Value = serde_json::from_str(out.split("\n  crowd").next().unwrap()).unwrap();
    assert_eq!(summary["labeled"].as_u64().unwrap() + summary["unresolved"].as_u64().unwrap(), 30);
    assert!(summary["spent_usd"].as_str().unwrap().parse::<f64>().unwrap() >= 3.6, "30 x 2 x $0.06 at least");
    assert!(out.contains("crowd accuracy:"), "{out}");
    let (ok, out, _) = hitloop(&state, &["status"]);
    assert!(ok && out.contains("small-iris") && out.contains("complete"), "{out}");

    let export = work.join("export");
    let (ok, out, err) = hitloop(&state, &["export", "small-iris", export.to_str().unwrap()]);
    assert!(ok, "{err}");
    for f in ["labels.csv", "manifest.jsonl", "workers.csv", "report.json", "train/train.csv", "test/test.csv"] {
        assert!(export.join(f).exists(), "{f} exported: {out}");
    }
    let labels = std::fs::read_to_string(export.join("labels.csv")).unwrap();
    assert_eq!(labels.lines().count(), 31, "a header and 30 items");
    let workers = std::fs::read(export.join("workers.csv")).unwrap();
    let workers = hitloop_core::worker_agreement::parse_workers_csv(&workers).unwrap();
    let answers: u32 = workers.iter().map(|w| w.answers).sum();
    assert!(workers.len() > 1 && answers >= 60, "every simulated worker's answers: {workers:?}");
    assert!(workers.iter().all(|w| w.agreed <= w.on_labeled && w.on_labeled <= w.answers));

    // A job that runs out of budget: watch stops at the pause and says how to
    // go on; resume with a higher budget and it finishes.
    let thrifty = work.join("thrifty");
    job_folder(&thrifty, r#"{"labels": ["Iris-setosa", "Iris-versicolor", "Iris-virginica"], "budget_usd": "1.00"}"#);
    let (ok, _, err) = hitloop(&state, &["submit", thrifty.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, out, err) = hitloop(&state, &["status", "thrifty", "--watch", "--timeout", "120"]);
    assert!(ok, "{err}");
    assert!(out.contains("job thrifty: paused") && out.contains("reason: budget"), "{out}");
    assert!(out.contains("to go on: hitloop resume thrifty"), "{out}");
    let (ok, out, err) = hitloop(&state, &["resume", "thrifty", "--budget", "20.00"]);
    assert!(ok && out.contains("budget_usd 20.00") && out.contains("is labeling again"), "{out} {err}");
    let (ok, out, err) = hitloop(&state, &["status", "thrifty", "--watch", "--timeout", "240"]);
    assert!(ok, "{err}");
    assert!(out.contains("job thrifty: complete"), "{out}");
    let (ok, _, err) = hitloop(&state, &["resume", "thrifty", "--budget", "lots"]);
    assert!(!ok && err.contains("--budget lots"), "{err}");

    // A job that fails validation: the user sees why, and the command fails.
    let bad = work.join("bad");
    job_folder(&bad, r#"{"labels": ["only-one"], "task": {"reward": "0.00"}}"#);
    let (ok, _, err) = hitloop(&state, &["submit", bad.to_str().unwrap(), "--job-id", "bad-job"]);
    assert!(ok, "{err}");
    let (ok, out, err) = hitloop(&state, &["status", "bad-job", "--watch", "--timeout", "60"]);
    assert!(!ok, "a failed job makes status fail");
    assert!(out.contains("job bad-job: failed"), "{out}");
    assert!(out.contains("problem: job.json labels") && out.contains("problem: job.json task.reward"), "{out}");
    assert!(err.contains("fix what is listed above"), "{err}");
    let (ok, _, err) = hitloop(&state, &["export", "bad-job", export.to_str().unwrap()]);
    assert!(!ok && err.contains("no outputs yet"), "{err}");

    let _ = stop.send(true);
    routing.await.unwrap();
    mturk.stop().await;
    let _ = std::fs::remove_dir_all(&work);
}

/// `hitloop local up` itself (here for people only: `--no-crowd`): it comes
/// up (its own moto from the venv, the service with its worker page, the
/// resources), the other commands find it, and Ctrl-C (SIGINT) stops
/// everything it started. (`make demo` runs it with the simulated crowd.)
#[test]
fn local_up_starts_everything_and_ctrl_c_stops_it() {
    let work = std::env::temp_dir().join(format!("hitloop-up-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let state = work.join("stack.json");
    let mut up = Command::new(env!("CARGO_BIN_EXE_hitloop"))
        .current_dir(repo())
        .arg("--state")
        .arg(&state)
        .args(["local", "up", "--no-crowd"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !state.exists() && started.elapsed() < Duration::from_secs(60) {
        assert!(up.try_wait().unwrap().is_none(), "local up exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    let local: LocalState = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let (ok, out, err) = hitloop(&state, &["status"]);
    assert!(ok && out.contains("no jobs yet"), "{out} {err}");
    let health = format!("{}/_hitloop/health", local.mturk_url);
    assert!(probe::answers(&health), "the MTurk-compatible service answers");
    assert!(probe::answers(&format!("{}/worker/", local.mturk_url)), "the worker page answers");

    assert!(Command::new("kill").args(["-INT", &up.id().to_string()]).status().unwrap().success());
    let status = up.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!state.exists(), "the state file is removed");
    assert!(!probe::answers(&format!("{}/moto-api/", local.aws_endpoint)), "moto is stopped");
    assert!(!probe::answers(&health), "the service is stopped");
    let _ = std::fs::remove_dir_all(&work);
}

mod probe {
    /// Does anything answer at `url`? (A plain TCP connect and GET.)
    pub fn answers(url: &str) -> bool {
        use std::io::{Read, Write};
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let Ok(mut s) = std::net::TcpStream::connect(host) else { return false };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
        if write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 12];
        s.read(&mut buf).map(|n| n > 0).unwrap_or(false)
    }
}
