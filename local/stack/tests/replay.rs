//! `hitloop replay` end to end: the real binary on recorded answers in
//! hitloop's CSV shape (a made-up crowd of careful and careless workers),
//! every policy reported, the JSON lines parseable, and bad input refused
//! with a message that says what is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::Path;
use std::process::Command;

fn replay(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hitloop")).arg("replay").args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// 120 binary items, six workers each: three always right, three who
/// answer the opposite on every third item.
fn write_crowd(dir: &Path) {
    let mut answers = String::from("item,worker,label\n");
    let mut truth = String::from("item,label\n");
    for i in 0..120 {
        let t = if i % 2 == 0 { "cat" } else { "dog" };
        let other = if t == "cat" { "dog" } else { "cat" };
        truth.push_str(&format!("photo-{i},{t}\n"));
        for w in 0..6 {
            let label = if w >= 3 && (i + w) % 3 == 0 { other } else { t };
            answers.push_str(&format!("photo-{i},W{w},{label}\n"));
        }
    }
    std::fs::write(dir.join("answers.csv"), answers).unwrap();
    std::fs::write(dir.join("truth.csv"), truth).unwrap();
}

#[test]
fn every_policy_is_replayed_and_reported() {
    let dir = std::env::temp_dir().join(format!("hitloop-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_crowd(&dir);
    let answers = dir.join("answers.csv");
    let truth = dir.join("truth.csv");
    let (a, t) = (answers.to_str().unwrap(), truth.to_str().unwrap());

    let (ok, out, err) = replay(&["--answers", a, "--truth", t, "--runs", "3", "--name", "pets", "--json"]);
    assert!(ok, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let policy = |name: &str| lines.iter().filter(|l| l["policy"] == name).collect::<Vec<_>>();
    assert_eq!(policy("seed").len(), 1);
    assert_eq!(policy("fixed-k").len(), 2);
    assert_eq!(policy("confidence").len(), 5, "the five default targets");
    let default = policy("default")[0];
    assert_eq!((default["dataset"].as_str(), default["target"].as_f64()), (Some("pets"), Some(0.75)));
    for l in lines.iter().filter(|l| l.get("policy").is_some()) {
        let (lpi, acc) = (l["labels_per_item"].as_f64().unwrap(), l["accuracy"].as_f64().unwrap());
        assert!((1.0..=9.0).contains(&lpi) && (0.5..=1.0).contains(&acc), "{l}");
    }
    let fixed5 = policy("fixed-k").into_iter().find(|l| l["k"] == 5).unwrap();
    assert_eq!(fixed5["labels_per_item"], 5.0);
    let methods: Vec<&str> = lines.iter().filter_map(|l| l["aggregation"].as_str()).collect();
    assert_eq!(methods, ["majority vote", "one-coin", "Dawid-Skene"]);
    let ds = lines.iter().find(|l| l["aggregation"] == "Dawid-Skene").unwrap();
    assert_eq!(ds["accuracy"], 1.0, "three workers always right outvote the rest");

    let (ok, table, _) = replay(&["--answers", a, "--truth", t, "--runs", "2"]);
    assert!(ok);
    // Named after the folder of an `answers.csv` (Zheng et al.'s datasets are folders).
    let first = table.lines().next().unwrap();
    assert!(first.starts_with("hitloop-replay-"), "{table}");
    assert!(first.contains(": 120 items (120 with a true label), 6 workers, 720 answers, 2 labels"), "{table}");
    assert!(table.contains("default") && table.contains("Dawid-Skene"), "{table}");
}

#[test]
fn bad_input_is_refused_with_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("hitloop-replay-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let answers = dir.join("answers.csv");
    std::fs::write(&answers, "item,worker,label\nx,W1,cat\ny,W2\n").unwrap();
    let truth = dir.join("truth.csv");
    std::fs::write(&truth, "item,label\nx,cat\n").unwrap();
    let (ok, _, err) = replay(&["--answers", answers.to_str().unwrap(), "--truth", truth.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("answers line 3: 2 columns, 3 expected"), "{err}");

    std::fs::write(&answers, "item,worker,label\nx,W1,cat\n").unwrap();
    std::fs::write(&truth, "item,label\nz,cat\n").unwrap();
    let (ok, _, err) = replay(&["--answers", answers.to_str().unwrap(), "--truth", truth.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("no item of the answers has a true label"), "{err}");

    let (ok, _, err) = replay(&["--answers", dir.join("missing.csv").to_str().unwrap()]);
    assert!(!ok && err.contains("missing.csv"), "{err}");

    let a = answers.to_str().unwrap();
    let (ok, _, err) = replay(&["--answers", a, "--targets", "0.9,1.5"]);
    assert!(!ok && err.contains("--targets: 1.5 is outside 0.5 to 0.999"), "{err}");
    let (ok, _, err) = replay(&["--answers", a, "--gold-share", "0.9"]);
    assert!(!ok && err.contains("--gold-share"), "{err}");
}
