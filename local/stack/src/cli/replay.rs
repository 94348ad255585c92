//! `hitloop replay --answers F [--truth F] [--json]`: tries the decision
//! policies on answers recorded before (yours, or a public dataset's) whose
//! true labels are known, before any money is spent: what each policy would
//! have paid per item and how often its labels would have been right. Then
//! times the final aggregation of every answer with each worker model.

use std::path::{Path, PathBuf};
use std::time::Instant;

use hitloop_core::quality::formats::{read, Format};
use hitloop_core::quality::replay::{
    accuracy_of, majority_of_all, replay, standard_policies, Dataset, Named, Outcome, Settings,
};
use hitloop_core::quality::{DawidSkene, Gold, MajorityVote, OneCoin, WorkerModel};
use serde_json::json;

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct Request {
    pub answers: PathBuf,
    pub truth: Option<PathBuf>,
    pub format: Option<Format>,
    pub name: Option<String>,
    pub runs: u32,
    pub seed: u64,
    pub targets: Vec<f64>,
    pub gold_share: f64,
    pub json: bool,
}

/// The format a file's name suggests: `.tsv` Snow et al.'s, `.txt` the
/// whitespace-separated one, anything else CSV.
pub fn guess_format(answers: &Path) -> Format {
    match answers.extension().and_then(|e| e.to_str()) {
        Some("tsv") => Format::SnowTsv,
        Some("txt") => Format::Whitespace,
        _ => Format::Csv,
    }
}

/// Reads the files into a dataset.
pub fn load(r: &Request) -> Result<Dataset, String> {
    let answers = std::fs::read_to_string(&r.answers).map_err(|e| format!("{}: {e}", r.answers.display()))?;
    let truth = match &r.truth {
        Some(t) => Some(std::fs::read_to_string(t).map_err(|e| format!("{}: {e}", t.display()))?),
        None => None,
    };
    let recorded = read(r.format.unwrap_or_else(|| guess_format(&r.answers)), &answers, truth.as_deref())?;
    let data = Dataset::new(&recorded);
    if data.known() == 0 {
        return Err("no item of the answers has a true label: nothing to score".into());
    }
    Ok(data)
}

/// Runs the benchmark and prints it.
pub fn run(r: &Request) -> Result<(), String> {
    if let Some(t) = r.targets.iter().find(|t| !(0.5..=0.999).contains(*t)) {
        return Err(format!("--targets: {t} is outside 0.5 to 0.999 (what job.json's consensus.target takes)"));
    }
    if !(0.0..0.5).contains(&r.gold_share) {
        return Err(format!("--gold-share: {} is outside 0 to 0.5", r.gold_share));
    }
    if r.runs == 0 {
        return Err("--runs: at least 1".into());
    }
    let data = load(r)?;
    let name = r.name.clone().unwrap_or_else(|| dataset_name(&r.answers));
    let settings = Settings::for_dataset(&data, r.runs, r.seed);
    let policies = standard_policies(&r.targets, r.gold_share);
    let outcomes = replay_all(&data, &policies, &settings);
    let (mv_accuracy, per_item) = majority_of_all(&data);
    let aggregations = aggregate(&data);
    if r.json {
        for (p, o) in policies.iter().zip(&outcomes) {
            println!("{}", policy_line(&name, p, o));
        }
        println!(
            "{}",
            json!({"dataset": name, "policy": "majority-of-all", "target": null,
                   "labels_per_item": round(per_item), "accuracy": round(mv_accuracy), "unresolved": 0.0})
        );
        for (method, accuracy, seconds) in &aggregations {
            println!(
                "{}",
                json!({"dataset": name, "aggregation": method, "accuracy": round(*accuracy), "seconds": seconds})
            );
        }
        return Ok(());
    }
    let v = &data.votes;
    println!(
        "{name}: {} items ({} with a true label), {} workers, {} answers, {} labels; {} runs, gold {:.0}% of the items",
        v.items.len(),
        data.known(),
        v.workers.len(),
        v.answers.len(),
        v.classes.len(),
        settings.runs,
        r.gold_share * 100.0
    );
    println!("  majority vote over all {per_item:.2} answers/item: accuracy {mv_accuracy:.3} (ties at random)");
    println!("  {:<16} {:>6} {:>12} {:>9} {:>11}", "policy", "target", "labels/item", "accuracy", "unresolved");
    for (p, o) in policies.iter().zip(&outcomes) {
        let label = match p.k {
            Some(k) => format!("{} ({k})", p.name),
            None => p.name.to_string(),
        };
        let target = p.target.map_or("-".to_string(), |t| format!("{t:.2}"));
        println!(
            "  {label:<16} {target:>6} {:>12.2} {:>9.3} {:>10.1}%",
            o.labels_per_item,
            o.accuracy,
            o.unresolved * 100.0
        );
    }
    println!("  final aggregation of all answers:");
    for (method, accuracy, seconds) in &aggregations {
        println!("    {method:<14} accuracy {accuracy:.4} in {:.0} ms", seconds * 1000.0);
    }
    Ok(())
}

/// Replays every policy, two at a time (a replay is single-threaded).
fn replay_all(data: &Dataset, policies: &[Named], settings: &Settings) -> Vec<Outcome> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, policies.len().max(1));
    let mut out = vec![Outcome::default(); policies.len()];
    std::thread::scope(|s| {
        let chunks: Vec<_> = out
            .chunks_mut(policies.len().div_ceil(workers))
            .zip(policies.chunks(policies.len().div_ceil(workers)))
            .map(|(slots, ps)| {
                s.spawn(move || {
                    for (slot, p) in slots.iter_mut().zip(ps) {
                        *slot = replay(data, &p.policy, settings);
                    }
                })
            })
            .collect();
        for c in chunks {
            // A panic in a replay is a bug: surface it.
            if let Err(e) = c.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
    out
}

/// Each worker model over every answer: (name, accuracy, seconds).
fn aggregate(data: &Dataset) -> Vec<(String, f64, f64)> {
    let models: [&dyn WorkerModel; 3] = [&MajorityVote, &OneCoin::default(), &DawidSkene::default()];
    models
        .iter()
        .map(|m| {
            let start = Instant::now();
            let fit = m.fit(&data.votes, &Gold::new());
            let seconds = start.elapsed().as_secs_f64();
            (m.name().to_string(), accuracy_of(data, &fit), seconds)
        })
        .collect()
}

fn policy_line(dataset: &str, p: &Named, o: &Outcome) -> serde_json::Value {
    let mut line = json!({
        "dataset": dataset,
        "policy": p.name,
        "target": p.target,
        "labels_per_item": round(o.labels_per_item),
        "accuracy": round(o.accuracy),
        "unresolved": round(o.unresolved),
    });
    if let (Some(k), Some(map)) = (p.k, line.as_object_mut()) {
        map.insert("k".into(), json!(k));
    }
    line
}

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// The dataset's name from its answers file: `web_crowd.txt` is `web`,
/// `snow2008/temp.standardized.tsv` is `temp`, `zheng_s4_dog/answer.csv`
/// is `zheng_s4_dog`.
pub fn dataset_name(answers: &Path) -> String {
    let stem = answers.file_name().and_then(|s| s.to_str()).unwrap_or("answers");
    let stem = stem.split('.').next().unwrap_or(stem);
    let stem = stem.strip_suffix("_crowd").unwrap_or(stem);
    if ["answer", "answers"].contains(&stem) {
        if let Some(dir) = answers.parent().and_then(|d| d.file_name()).and_then(|d| d.to_str()) {
            return dir.to_string();
        }
    }
    stem.to_string()
}
