//! The `hitloop-mturk` binary: prints its URL first, documents every flag,
//! refuses bad configuration with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hitloop-mturk");

#[test]
fn port_zero_prints_the_url_first_and_serves_it() {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--speed", "0"])
        .env("HITLOOP_MTURK_REQUESTER_KEY", "AKHLBINARYTEST000000:binary-test-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let health: serde_json::Value =
        rt.block_on(async { reqwest::get(format!("{url}/_hitloop/health")).await.unwrap().json().await.unwrap() });
    assert_eq!(health["ok"], true);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn help_documents_every_flag() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--port",
        "--aws-endpoint",
        "--workforce",
        "--truth",
        "--speed",
        "--balance",
        "--seed",
        "--throttle-rate",
        "--fault-rate",
        "--rate-limit",
        "--drop-rate",
        "--duplicate-rate",
        "--reorder-rate",
        "--batch-max",
        "--no-auth",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn bad_configuration_is_refused_with_a_reason() {
    let out = Command::new(BIN).args(["--workforce", "/nonexistent/crowd.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/crowd.toml"));
    let out = Command::new(BIN).args(["--balance", "ten"]).output().unwrap();
    assert!(!out.status.success());
    let out = Command::new(BIN).args(["--drop-rate", "2"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--drop-rate"));
}

#[test]
fn it_will_not_serve_unsigned_requests_unless_told_to() {
    let out = Command::new(BIN).args(["--port", "0"]).env_remove("HITLOOP_MTURK_REQUESTER_KEY").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HITLOOP_MTURK_REQUESTER_KEY") && stderr.contains("--no-auth"), "{stderr}");
    let out = Command::new(BIN).args(["--port", "0"]).env("HITLOOP_MTURK_REQUESTER_KEY", "no-colon").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("ACCESS_KEY_ID:SECRET"));
}
