//! Headless Chromium for the browser tests: Debian's chromium and
//! chromium-driver (installed by `make test`) over WebDriver, where the
//! screenshots go, and the labeling stream driven with the keyboard only.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use super::webdriver::{Browser, By};

pub struct Driver {
    process: Child,
    url: String,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn chromedriver() -> Driver {
    let binary = std::env::var("HITLOOP_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    assert!(
        std::path::Path::new(&binary).exists(),
        "{binary} is missing: `make test` installs Debian's chromium and chromium-driver"
    );
    let port = free_port();
    let process = Command::new(&binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = std::env::temp_dir().join(format!("hitloop-chromium-{port}"));
    Driver { process, url, profile }
}

pub async fn browser(driver: &Driver) -> Browser {
    let chromium = std::env::var("HITLOOP_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,1000", format!("--user-data-dir={}", driver.profile.display())]
        }),
    );
    Browser::start(&driver.url, serde_json::Value::Object(caps)).await.unwrap()
}

/// Where screenshots go: local/.run/screenshots, or the folder
/// HITLOOP_SCREENSHOTS names (`make screenshots` sets docs/screenshots).
pub fn screenshots() -> PathBuf {
    let dir = match std::env::var("HITLOOP_SCREENSHOTS") {
        Ok(d) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../local/.run/screenshots"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The assignment id in the task frame's URL on the current page.
pub async fn current_assignment(c: &Browser) -> Option<String> {
    let frame = c.find(By::Css("iframe")).await.ok()?;
    let src = frame.attr("src").await.ok()??;
    src.split(['?', '&']).find_map(|p| p.strip_prefix("assignmentId=")).map(str::to_string)
}

/// The crowd classifier's species, in the order its keys 1-3 choose them.
pub const SPECIES_ORDER: [&str; 3] = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"];

/// Labels `n` tasks of the stream the browser is in, with the keyboard only
/// (a digit chooses, Enter submits), each with `label_of_hit`'s label; the
/// first one's page is saved as `shot`. The assignments, in order.
pub async fn label_in_the_stream(
    c: &Browser,
    n: usize,
    label_of_hit: impl Fn(&str) -> String,
    shot: Option<&str>,
) -> Vec<String> {
    let mut done = Vec::new();
    for n in 0..n {
        // The next task's page (a new assignment in the frame).
        let mut assignment = None;
        for _ in 0..100 {
            assignment = current_assignment(c).await.filter(|a| !done.contains(a));
            if assignment.is_some() && c.find(By::Css("form.stream-next")).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let assignment = assignment.unwrap_or_else(|| panic!("task {n} never came"));
        let page = c.source().await.unwrap();
        assert!(page.contains("Labeling") && page.contains("<kbd>Enter</kbd>"), "{page}");
        let hit = page.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_string();
        let label = label_of_hit(&hit);
        let key = SPECIES_ORDER.iter().position(|s| *s == label).unwrap() + 1;
        if let (0, Some(name)) = (n, shot) {
            std::fs::write(screenshots().join(name), c.screenshot().await.unwrap()).unwrap();
        }
        let frame = c.find(By::Css("iframe")).await.unwrap();
        c.enter_frame(&frame).await.unwrap();
        let first = c.wait_for(By::Css("input[type='radio']")).await.unwrap();
        let hint = c.find(By::Css(".crowd-keys")).await.unwrap().text().await.unwrap();
        assert!(hint.contains("1\u{2013}3 choose"), "{hint}");
        first.send_keys(&key.to_string()).await.unwrap();
        let chosen = c.execute("return document.querySelector('input[type=radio]:checked').value").await.unwrap();
        assert_eq!(chosen.as_str(), Some(label.as_str()), "key {key} chose {chosen}");
        first.send_keys("\u{E007}").await.unwrap();
        c.enter_parent_frame().await.unwrap();
        done.push(assignment);
    }
    done
}
