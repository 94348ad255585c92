//! A confidence job's refit against the job's size: the DynamoDB requests
//! one refit makes (through a counting proxy in front of moto) when a fixed
//! number of answers is new, for jobs of 10k, 100k and 1M answers. The
//! refit reads only the items marked for it, their workers' estimates and
//! the job's model: its reads must not grow with the job.

use std::collections::BTreeMap;
use std::time::Instant;

use hitloop_core::job::{ConsensusSpec, JobSpec};
use hitloop_core::plan::write::{ItemWrite, WriteOutcome};
use hitloop_core::records::{AnswerRecord, Item, ItemModel, Job, JobStatus, WorkerEstimate};
use hitloop_dynamodb::DynamoStore;
use hitloop_pipeline::ports::{Items, Jobs, WorkerModels};
use hitloop_pipeline::steps::refit::refit_job;

use super::proxy::CountingProxy;
use crate::resources;

/// Answers per item in the seeded jobs, and workers answering them.
const ANSWERS_PER_ITEM: usize = 4;
const WORKERS: usize = 200;
const LABELS: [&str; 3] = ["a", "b", "c"];

/// One job size's figures.
#[derive(Debug, Clone)]
pub struct Row {
    pub job_answers: usize,
    pub new_answers: usize,
    pub items_refitted: usize,
    /// Requests by operation ("dynamodb.Query" -> n).
    pub calls: BTreeMap<String, u64>,
    pub seconds: f64,
}

fn spec() -> Result<JobSpec, String> {
    let mut spec =
        JobSpec::parse(r#"{"labels": ["a", "b", "c"]}"#).map_err(|p| format!("the bench's job.json: {p:?}"))?;
    spec.consensus = ConsensusSpec::confidence();
    Ok(spec)
}

fn answer(item: usize, n: usize) -> AnswerRecord {
    let worker = (item * 7 + n * 13) % WORKERS;
    AnswerRecord {
        assignment_id: format!("A{item}-{n}"),
        worker_id: format!("W{worker:03}"),
        label: Some(LABELS[(item + usize::from(n == 3)) % 3].to_string()),
        invalid_reason: None,
        submitted_at: n as i64,
    }
}

/// An item already answered and counted by the model (not marked).
fn counted_item(job_id: &str, i: usize) -> Item {
    let mut item = Item::pending(job_id, &format!("item-{i:07}"), i as u64 + 2, BTreeMap::new(), 0);
    item.answers = (0..ANSWERS_PER_ITEM).map(|n| answer(i, n)).collect();
    let mut posterior = vec![0.05; 3];
    posterior[i % 3] = 0.9;
    let counted = item.answers.iter().map(|a| (a.worker_id.clone(), (i % 3) as u32)).collect();
    item.model = Some(ItemModel { posterior, counted });
    item
}

/// Runs the bench: for each job size, `new_answers` answers recorded on
/// `new_answers / 2` items, then one refit through the proxy.
pub async fn run(endpoint: &str, sizes: &[usize], new_answers: usize) -> Result<Vec<Row>, String> {
    let sdk = crate::local_sdk(endpoint).await;
    let stack = resources::create(&sdk, &format!("refit{}", std::process::id())).await.map_err(|e| e.to_string())?;
    let seeding = DynamoStore::from_sdk(&sdk, &stack.table);
    let spec = spec()?;
    let mut rows = Vec::new();
    for (n, size) in sizes.iter().enumerate() {
        let job_id = format!("refit-{n}");
        let items = size / ANSWERS_PER_ITEM;
        let job = Job::new(&job_id, JobStatus::Labeling, spec.clone(), String::new(), "m.csv", "e", items as u64);
        seeding.create_job(&job).await.map_err(|e| e.to_string())?;
        let all: Vec<Item> = (0..items).map(|i| counted_item(&job_id, i)).collect();
        for chunk in all.chunks(100) {
            seeding.put_new_items(chunk).await.map_err(|e| e.to_string())?;
        }
        let estimates: Vec<WorkerEstimate> = (0..WORKERS)
            .map(|w| WorkerEstimate {
                worker_id: format!("W{w:03}"),
                answers: (size / WORKERS) as u32,
                accuracy: 0.8,
                confusion: vec![vec![0.8, 0.1, 0.1], vec![0.1, 0.8, 0.1], vec![0.1, 0.1, 0.8]],
                counts: vec![vec![8.0, 1.0, 1.0], vec![1.0, 8.0, 1.0], vec![1.0, 1.0, 8.0]],
                updated_at: 0,
            })
            .collect();
        seeding.put_estimates(&job_id, &estimates).await.map_err(|e| e.to_string())?;
        // New answers: two more on each of the first items, marked for the refit.
        for i in 0..(new_answers / 2).min(items) {
            let item = seeding.item(&job_id, &format!("item-{i:07}")).await.map_err(|e| e.to_string())?;
            let item = item.ok_or("a seeded item is missing")?;
            let mut w = ItemWrite::on(&item, 1);
            w.record = (ANSWERS_PER_ITEM..ANSWERS_PER_ITEM + 2).map(|k| answer(i, k)).collect();
            w.refit_due = true;
            if seeding.write(&w).await.map_err(|e| e.to_string())? != WriteOutcome::Applied {
                return Err("recording the new answers lost a race nobody runs".into());
            }
        }
        let proxy = CountingProxy::start(endpoint).await.map_err(|e| e.to_string())?;
        let counted = DynamoStore::from_sdk(&crate::local_sdk(&proxy.url).await, &stack.table);
        let start = Instant::now();
        let report = refit_job(&counted, &job_id, &spec, usize::MAX).await.map_err(|e| e.to_string())?;
        let seconds = start.elapsed().as_secs_f64();
        let calls = proxy.counts().calls;
        proxy.stop();
        rows.push(Row { job_answers: *size, new_answers, items_refitted: report.items, calls, seconds });
    }
    Ok(rows)
}

/// The table the bench prints.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "refit of a confidence job (DynamoDB on moto, through a counting proxy)\n  job answers  new answers  items refitted  reads (Query + BatchGetItem + GetItem)  TransactWriteItems  seconds\n",
    );
    for r in rows {
        let get = |op: &str| r.calls.get(&format!("dynamodb.{op}")).copied().unwrap_or(0);
        let reads = get("Query") + get("BatchGetItem") + get("GetItem");
        out.push_str(&format!(
            "  {:>11}  {:>11}  {:>14}  {:>5} ({} + {} + {}){:>19}  {:>18}  {:>7.2}\n",
            r.job_answers,
            r.new_answers,
            r.items_refitted,
            reads,
            get("Query"),
            get("BatchGetItem"),
            get("GetItem"),
            "",
            get("TransactWriteItems"),
            r.seconds
        ));
    }
    out
}
