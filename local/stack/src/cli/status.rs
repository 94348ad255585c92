//! `hitloop status [<job>] [--watch]`: where a job is, what it cost, how
//! well the crowd agreed, and its training job.

use std::collections::BTreeMap;
use std::time::Duration;

use hitloop_core::job::ConsensusMethod;
use hitloop_core::money::Usd;
use hitloop_core::plan::idle::{idle_check, idle_warning};
use hitloop_core::plan::sweep::final_check_due;
use hitloop_core::quality;
use hitloop_core::records::{now_ms, Item, ItemStatus, Job, JobStatus};
use hitloop_pipeline::ports::{Jobs, Standings};
use serde::Serialize;

use super::target::Target;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub job_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub items: u64,
    pub labeled: u64,
    pub unresolved: u64,
    pub in_flight: u64,
    pub assignments_bought: u64,
    pub answers: u64,
    pub spent_usd: Usd,
    /// Reserved for assignments bought and not yet paid.
    pub on_hold_usd: Usd,
    pub agreement_rate: Option<f64>,
    /// Workers the job blocked (for their gold answers, or by its worker model).
    pub workers_blocked: u64,
    /// Some of their items are not decided again yet.
    pub blocks_pending: bool,
    /// Every item is decided and the job waits for sweep's final check of
    /// its labels (a confidence job).
    pub final_check_waiting: bool,
    pub training_job: Option<String>,
    pub model: Option<String>,
    /// metrics.json beside the model, when the trainer wrote one (the local
    /// trainer does; SageMaker's built-in algorithms report to CloudWatch).
    pub model_metrics: Option<serde_json::Value>,
    /// The job's endpoint, the model version it serves and the one it is
    /// moving to (the same once deployed).
    pub endpoint: Option<String>,
    pub serving_version: Option<u32>,
    pub deploying_version: Option<u32>,
    /// What the user should act on (an endpoint idle for a day).
    pub warnings: Vec<String>,
    /// Problems from errors.json when the job failed validation.
    pub problems: Vec<String>,
    pub done: bool,
}

/// Has the job stopped moving (nothing more will happen without the user)?
/// Nothing more will happen to the job without the user (a paused job waits
/// for `hitloop resume`).
pub fn settled(job: &Job) -> bool {
    match job.status {
        JobStatus::Failed
        | JobStatus::Trained
        | JobStatus::TrainingFailed
        | JobStatus::Paused
        | JobStatus::Deployed
        | JobStatus::DeployFailed
        | JobStatus::TornDown => true,
        JobStatus::Complete => {
            let trains = job.spec.training.as_ref().is_some_and(|t| t.sagemaker.is_some());
            job.outputs_at.is_some() && !trains
        }
        _ => false,
    }
}

pub async fn items(target: &Target, job_id: &str) -> Result<Vec<Item>, String> {
    hitloop_pipeline::ports::all_items(target.store.as_ref(), job_id).await.map_err(|e| e.to_string())
}

/// The items as the job's outputs label them: once a confidence job is
/// complete its labels are the worker model's over every answer (as in
/// labels.csv), and gold items are not output.
pub async fn labeled_as_output(target: &Target, job_id: &str) -> Result<Vec<Item>, String> {
    let mut items = items(target, job_id).await?;
    let Some(job) = target.store.job(job_id).await.map_err(|e| e.to_string())? else { return Ok(items) };
    let done = JobStatus::PAST_LABELING.contains(&job.status);
    if done && job.spec.consensus.method == ConsensusMethod::Confidence {
        // As train fits it: without the answers of workers the job blocked.
        let standings = target.store.all_standings(job_id).await.map_err(|e| e.to_string())?;
        let fit = quality::fit_counted(&job.spec, &items, &standings);
        quality::relabel(&mut items, &fit);
    }
    items.retain(|i| quality::gold_of(&job.spec, i).is_none());
    Ok(items)
}

pub async fn summary(target: &Target, job_id: &str) -> Result<Summary, String> {
    let job = target.store.job(job_id).await.map_err(|e| e.to_string())?.ok_or_else(|| {
        format!("there is no job {job_id} in this stack yet (ingest may still be reading it: try again, or see `hitloop status`)")
    })?;
    let items = if job.status == JobStatus::Failed { vec![] } else { items(target, job_id).await? };
    let labeled: Vec<&Item> = items.iter().filter(|i| i.status == ItemStatus::Labeled).collect();
    let agreed: u64 = labeled.iter().map(|i| u64::from(i.agreed)).sum();
    let answered: u64 = labeled.iter().map(|i| i.answers.len() as u64).sum();
    // Answers and their cost move to the job record when an item is
    // decided: while a job runs, the items hold the up-to-date figures.
    let (answers, spent) = if items.is_empty() {
        (job.answers, job.spent)
    } else {
        (items.iter().map(|i| i.answers.len() as u64).sum(), items.iter().map(|i| i.spent).sum())
    };
    let mut problems = Vec::new();
    // A failed job's errors.json; a live job's refused upload (job.json or a second manifest).
    let report = if job.status == JobStatus::Failed { "errors.json" } else { "upload-refused.json" };
    if let Some(bytes) = target.get(&format!("jobs/{job_id}/{report}")).await {
        let report: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if let Some(reason) = report["reason"].as_str() {
            if report["errors"].is_null() {
                problems.push(format!("upload refused: {reason}"));
            }
        }
        for e in report["errors"].as_array().into_iter().flatten().take(20) {
            let place = match (e["line"].as_u64(), e["field"].as_str()) {
                (Some(l), _) => format!("{} line {l}", e["file"].as_str().unwrap_or("")),
                (None, Some(f)) => format!("{} {f}", e["file"].as_str().unwrap_or("")),
                _ => e["file"].as_str().unwrap_or("").to_string(),
            };
            problems.push(format!("{place}: {}", e["message"].as_str().unwrap_or("")));
        }
    }
    let model = job.training.as_ref().and_then(|t| t.model_artifacts.clone());
    let mut model_metrics = None;
    if let Some(key) = model.as_deref().and_then(|m| m.strip_prefix(&format!("s3://{}/", target.bucket))) {
        if let Some(bytes) = target.get(&key.replace("model.tar.gz", "metrics.json")).await {
            model_metrics = serde_json::from_slice(&bytes).ok();
        }
    }
    Ok(Summary {
        job_id: job.job_id.clone(),
        status: job.status.to_string(),
        reason: job.reason.clone(),
        items: job.items,
        labeled: job.labeled,
        unresolved: job.unresolved,
        in_flight: job.items.saturating_sub(job.decided),
        assignments_bought: job.assignments_bought,
        answers,
        spent_usd: spent,
        on_hold_usd: if job.reserved > spent { job.reserved - spent } else { Usd::ZERO },
        agreement_rate: (answered > 0).then(|| agreed as f64 / answered as f64),
        workers_blocked: job.workers_blocked,
        blocks_pending: job.workers_blocked > job.redecided_blocks,
        final_check_waiting: final_check_due(&job),
        training_job: job.training.as_ref().map(|t| t.name.clone()),
        model,
        model_metrics,
        warnings: warnings(target, &job, now_ms()).await,
        endpoint: job.deployment.as_ref().map(|d| d.endpoint.clone()),
        serving_version: job.deployment.as_ref().and_then(|d| d.serving),
        deploying_version: job.deployment.as_ref().map(|d| d.version),
        problems,
        done: settled(&job),
    })
}

/// An endpoint that has served nothing for a day, at `now`. CloudWatch's
/// silence counts as nothing served; a CloudWatch that cannot be read says
/// so rather than warn.
pub async fn warnings(target: &Target, job: &Job, now: i64) -> Vec<String> {
    let Some((endpoint, since, until)) = idle_check(job, now) else { return Vec::new() };
    match target.usage.invocations(&endpoint, since, until).await {
        Ok(n) => idle_warning(job, &endpoint, n).into_iter().collect(),
        Err(e) => vec![format!("cannot tell whether endpoint {endpoint} served anything today: {e}")],
    }
}

pub fn render(s: &Summary) -> String {
    let mut out = format!("job {}: {}\n", s.job_id, s.status);
    if let Some(r) = &s.reason {
        out.push_str(&format!("  reason: {r}\n"));
    }
    if s.status == "paused" {
        out.push_str(&format!("  to go on: hitloop resume {} [--budget <usd>]\n", s.job_id));
    }
    for p in &s.problems {
        out.push_str(&format!("  problem: {p}\n"));
    }
    if s.status != "failed" {
        out.push_str(&format!(
            "  items: {} ({} labeled, {} unresolved, {} in flight)\n  assignments bought: {} ({:.2} per item), answers: {}\n  spent: ${} (on hold: ${})\n",
            s.items,
            s.labeled,
            s.unresolved,
            s.in_flight,
            s.assignments_bought,
            s.assignments_bought as f64 / s.items.max(1) as f64,
            s.answers,
            s.spent_usd,
            s.on_hold_usd
        ));
        if let Some(a) = s.agreement_rate {
            out.push_str(&format!(
                "  agreement: {:.1} % of the answers on labeled items agreed with the label\n",
                a * 100.0
            ));
        }
        if s.workers_blocked > 0 {
            let items = if s.blocks_pending { "deciding their items again" } else { "their items decided again" };
            out.push_str(&format!(
                "  workers blocked (on gold, or by the worker model): {} ({items}; workers.csv says why)\n",
                s.workers_blocked
            ));
        }
        if s.final_check_waiting {
            out.push_str(
                "  every item decided: sweep checks the labels once more under the worker model as it now stands, then the job completes\n",
            );
        }
    }
    if let Some(t) = &s.training_job {
        out.push_str(&format!("  training job: {t}\n"));
    }
    if let Some(m) = &s.model {
        out.push_str(&format!("  model: {m}\n"));
    }
    if let Some(a) = s.model_metrics.as_ref().and_then(|m| m["test_accuracy"].as_f64()) {
        let rows = s.model_metrics.as_ref().and_then(|m| m["test_rows"].as_u64()).unwrap_or(0);
        out.push_str(&format!("  held-out accuracy of the model: {:.1} % on {rows} test rows\n", a * 100.0));
    }
    if let Some(e) = &s.endpoint {
        let serving = match (s.serving_version, s.deploying_version) {
            (Some(v), Some(next)) if next != v && s.status == "deploying" => {
                format!("serving model version {v}, moving to version {next}")
            }
            (Some(v), _) => format!("serving model version {v}"),
            (None, Some(next)) if s.status == "deploying" => format!("deploying model version {next}"),
            _ => "serving nothing".into(),
        };
        out.push_str(&format!("  endpoint: {e} ({serving})\n"));
    }
    for w in &s.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    out
}

/// Every job in the stack, a line each.
pub async fn list(target: &Target) -> Result<String, String> {
    let mut out = String::new();
    for status in JobStatus::ALL {
        for job in target.store.jobs_with_status(status).await.map_err(|e| e.to_string())? {
            out.push_str(&format!(
                "{:<24} {:<16} {:>6}/{:<6} decided  ${}\n",
                job.job_id, job.status, job.decided, job.items, job.spent
            ));
        }
    }
    if out.is_empty() {
        out = "no jobs yet: `hitloop submit <dir>` starts one\n".into();
    }
    Ok(out)
}

/// Follows a job with a progress bar until it settles (or `timeout`).
pub async fn watch(target: &Target, job_id: &str, timeout: Option<Duration>) -> Result<Summary, String> {
    let bar = indicatif::ProgressBar::new(1);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {prefix} [{bar:40}] {pos}/{len} decided  {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    bar.set_prefix(job_id.to_string());
    let started = std::time::Instant::now();
    loop {
        let s = match summary(target, job_id).await {
            Ok(s) => s,
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                bar.set_message(e);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        bar.set_length(s.items.max(1));
        bar.set_position(s.labeled + s.unresolved);
        bar.set_message(format!("{}  ${} spent  {} assignments", s.status, s.spent_usd, s.assignments_bought));
        bar.tick();
        if s.done || timeout.is_some_and(|t| started.elapsed() > t) {
            bar.finish();
            return Ok(s);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How many labeled items carry the true label: truth is `key,label` rows
/// where the key is one of the item's values (an image URL, say).
pub fn accuracy(items: &[Item], truth: &BTreeMap<String, String>) -> Option<(usize, usize)> {
    let mut checked = 0;
    let mut right = 0;
    for i in items.iter().filter(|i| i.status == ItemStatus::Labeled) {
        let Some(expected) = i.values.values().chain(std::iter::once(&i.item_id)).find_map(|v| truth.get(v)) else {
            continue;
        };
        checked += 1;
        if i.label.as_deref() == Some(expected.as_str()) {
            right += 1;
        }
    }
    (checked > 0).then_some((right, checked))
}

pub fn read_truth(path: &std::path::Path) -> Result<BTreeMap<String, String>, String> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for row in r.records() {
        let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
        if row.len() >= 2 {
            out.insert(row[0].to_string(), row[1].to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn summary(status: &str) -> Summary {
        Summary {
            job_id: "j".into(),
            status: status.into(),
            reason: None,
            items: 10,
            labeled: 4,
            unresolved: 0,
            in_flight: 6,
            assignments_bought: 20,
            answers: 12,
            spent_usd: Usd::from_cents(72),
            on_hold_usd: Usd::ZERO,
            agreement_rate: None,
            workers_blocked: 0,
            blocks_pending: false,
            final_check_waiting: false,
            training_job: None,
            model: None,
            model_metrics: None,
            endpoint: None,
            warnings: Vec::new(),
            serving_version: None,
            deploying_version: None,
            problems: vec![],
            done: false,
        }
    }

    #[test]
    fn blocked_workers_are_shown_with_where_their_items_stand() {
        let mut s = summary("labeling");
        assert!(!render(&s).contains("blocked"), "nothing said when nobody was blocked");
        s.workers_blocked = 2;
        s.blocks_pending = true;
        assert!(
            render(&s).contains("workers blocked (on gold, or by the worker model): 2 (deciding their items again;")
        );
        s.blocks_pending = false;
        assert!(render(&s).contains(": 2 (their items decided again;"));
    }

    #[test]
    fn a_job_waiting_for_its_final_check_says_so() {
        let mut s = summary("labeling");
        assert!(!render(&s).contains("final check") && !render(&s).contains("once more"));
        s.final_check_waiting = true;
        assert!(render(&s).contains("every item decided: sweep checks the labels once more"), "{}", render(&s));
    }

    #[test]
    fn the_endpoint_is_shown_with_the_model_version_it_serves() {
        let mut s = summary("deploying");
        s.endpoint = Some("hitloop-j-abcdef".into());
        s.deploying_version = Some(1);
        assert!(render(&s).contains("endpoint: hitloop-j-abcdef (deploying model version 1)"), "{}", render(&s));
        s.serving_version = Some(1);
        s.deploying_version = Some(2);
        assert!(render(&s).contains("(serving model version 1, moving to version 2)"));
        s.status = "deployed".into();
        s.serving_version = Some(2);
        assert!(render(&s).contains("(serving model version 2)"));
        assert!(!render(&s).contains("warning"));
        s.warnings.push("endpoint hitloop-j-abcdef has served nothing for a day".into());
        assert!(render(&s).contains("  warning: endpoint hitloop-j-abcdef has served nothing for a day\n"));
    }
}
