//! Jobs, Items, TrainingClaims, Deployments, WorkerModels and Standings: the conditions that make
//! every step idempotent and every purchase fit the budget.

use hitloop_core::error::Error;
use std::collections::{BTreeMap, BTreeSet};

use hitloop_core::job::{ConsensusSpec, JobSpec};
use hitloop_core::money::Usd;
use hitloop_core::plan::deploy::{adopt_endpoint, deploy_failed, requested, EndpointView};
use hitloop_core::plan::refit::refit;
use hitloop_core::plan::train::{failed, Transition};
use hitloop_core::plan::write::{Decided, ItemWrite, Refusal, Reopen, Reserve, WriteOutcome};
use hitloop_core::quality::{GoldTally, CROWD};
use hitloop_core::records::{
    AnswerRecord, BatchStatus, DeploymentRecord, FinalCheck, Item, ItemStatus, Job, JobModel, JobStatus,
    PredictionBatch, TrainingRecord, WorkerEstimate,
};
use hitloop_pipeline::ports::{Batches, Deployments, Items, Jobs, Standings, TrainingClaims, WorkerModels};

/// What a store must be to pass.
pub trait Store: Jobs + Items + TrainingClaims + Deployments + Batches + WorkerModels + Standings {}
impl<T: Jobs + Items + TrainingClaims + Deployments + Batches + WorkerModels + Standings + ?Sized> Store for T {}

fn job(id: &str, status: JobStatus, budget: Option<&str>, items: u64) -> Job {
    let budget = budget.map(|b| format!(r#", "budget_usd": "{b}""#)).unwrap_or_default();
    let spec = JobSpec::parse(&format!(r#"{{"labels": ["a", "b"]{budget}}}"#)).unwrap();
    let mut j = Job::new(id, status, spec, "<p>${x}</p>".into(), &format!("jobs/{id}/manifest.csv"), "etag-1", items);
    j.bucket = "bucket".into();
    j.columns = vec!["id".into(), "x".into()];
    j
}

fn items(job_id: &str, n: usize) -> Vec<Item> {
    (0..n)
        .map(|k| {
            Item::pending(job_id, &format!("item-{k:02}"), k as u64 + 2, [("x".to_string(), k.to_string())].into(), 7)
        })
        .collect()
}

fn answer(id: &str, label: Option<&str>, at: i64) -> AnswerRecord {
    AnswerRecord {
        assignment_id: id.into(),
        worker_id: format!("W{id}"),
        label: label.map(str::to_string),
        invalid_reason: label.is_none().then(|| "unreadable".to_string()),
        submitted_at: at,
    }
}

/// Runs every case; `prefix` keeps the job ids of one run apart.
pub async fn store(s: &dyn Store, prefix: &str) {
    jobs(s, &format!("{prefix}-jobs")).await;
    items_and_writes(s, &format!("{prefix}-items")).await;
    budgets(s, &format!("{prefix}-money")).await;
    training(s, &format!("{prefix}-train")).await;
    deployments(s, &format!("{prefix}-deploy")).await;
    batches(s, &format!("{prefix}-batch")).await;
    estimates(s, &format!("{prefix}-workers")).await;
    refits(s, &format!("{prefix}-refit")).await;
    blocks(s, &format!("{prefix}-block")).await;
    final_checks(s, &format!("{prefix}-check")).await;
}

/// A confidence job completes only after its final check, recorded once; a
/// job of the agreement rule has none to wait for.
async fn final_checks(s: &dyn Store, id: &str) {
    let mut j = job(id, JobStatus::Labeling, None, 0);
    j.spec.consensus = ConsensusSpec::confidence();
    j.final_check = FinalCheck::for_method(j.spec.consensus.method);
    assert!(s.create_job(&j).await.unwrap());
    assert_eq!(s.job(id).await.unwrap().unwrap().final_check, FinalCheck::Due, "reads back as written");
    let p = s.progress(id).await.unwrap().unwrap();
    assert!(p.final_check_due && !p.done());
    assert!(!s.complete_if_done(id).await.unwrap(), "every item decided, the check not made");
    assert!(s.record_final_check(id).await.unwrap());
    assert!(!s.record_final_check(id).await.unwrap(), "recorded once");
    assert_eq!(s.job(id).await.unwrap().unwrap().final_check, FinalCheck::Done);
    assert!(s.progress(id).await.unwrap().unwrap().done());
    assert!(s.complete_if_done(id).await.unwrap());

    let plain = format!("{id}-agreement");
    s.create_job(&job(&plain, JobStatus::Labeling, None, 0)).await.unwrap();
    assert_eq!(s.job(&plain).await.unwrap().unwrap().final_check, FinalCheck::NotWanted);
    assert!(!s.record_final_check(&plain).await.unwrap(), "nothing to record");
    assert!(s.complete_if_done(&plain).await.unwrap());
}

async fn jobs(s: &dyn Store, id: &str) {
    assert_eq!(s.job(id).await.unwrap(), None);
    let j = job(id, JobStatus::Publishing, Some("5.00"), 3);
    assert!(s.create_job(&j).await.unwrap());
    assert_eq!(s.job(id).await.unwrap().as_ref(), Some(&j), "a job reads back as written");
    assert!(!s.create_job(&j).await.unwrap(), "a live job is never replaced");
    assert!(matches!(s.put_failed_job(&j).await, Err(Error::Invalid(_))));
    let p = s.progress(id).await.unwrap().unwrap();
    assert_eq!((p.status, p.items, p.decided, p.completion_sent), (JobStatus::Publishing, 3, 0, false));

    assert!(!s.transition(id, &[JobStatus::Labeling], JobStatus::Paused, None).await.unwrap(), "not labeling");
    assert!(s.transition(id, &[JobStatus::Publishing], JobStatus::Paused, Some("why")).await.unwrap());
    assert_eq!(s.job(id).await.unwrap().unwrap().reason.as_deref(), Some("why"));
    assert!(s.transition(id, &[JobStatus::Paused], JobStatus::Labeling, None).await.unwrap());
    let back = s.job(id).await.unwrap().unwrap();
    assert_eq!((back.status, back.reason), (JobStatus::Labeling, None), "the reason goes with the pause");

    s.set_hit_type(id, "TYPE1").await.unwrap();
    s.record_outputs(id, 42).await.unwrap();
    s.set_completion_sent(id).await.unwrap();
    let j2 = s.job(id).await.unwrap().unwrap();
    assert_eq!((j2.hit_type_id.as_deref(), j2.outputs_at, j2.completion_sent), (Some("TYPE1"), Some(42), true));
    assert!(s.record_outputs(&format!("{id}-none"), 1).await.is_err(), "no job, no outputs");
    assert!(s.jobs_with_status(JobStatus::Labeling).await.unwrap().iter().any(|x| x.job_id == id));
    assert!(!s.jobs_with_status(JobStatus::Paused).await.unwrap().iter().any(|x| x.job_id == id));
    assert!(!s.complete_if_done(id).await.unwrap(), "3 items, none decided");

    // A failed job can be replaced by a new upload.
    let failed_id = format!("{id}-f");
    let mut f = job(&failed_id, JobStatus::Failed, None, 0);
    f.reason = Some("bad input".into());
    s.put_failed_job(&f).await.unwrap();
    s.put_failed_job(&f).await.unwrap();
    assert!(s.create_job(&job(&failed_id, JobStatus::Publishing, None, 1)).await.unwrap());
    assert_eq!(s.job(&failed_id).await.unwrap().unwrap().status, JobStatus::Publishing);
}

async fn items_and_writes(s: &dyn Store, id: &str) {
    s.create_job(&job(id, JobStatus::Labeling, None, 10)).await.unwrap();
    let all = items(id, 10);
    assert_eq!(s.put_new_items(&all[..6]).await.unwrap(), 6);
    assert_eq!(s.put_new_items(&all).await.unwrap(), 4, "only the new ones");
    assert_eq!(s.item(id, "item-03").await.unwrap().as_ref(), Some(&all[3]), "an item reads back as written");
    assert_eq!(s.item(id, "nope").await.unwrap(), None);
    let page = s.items(id, Some("item-04"), 3).await.unwrap();
    let ids: Vec<&str> = page.iter().map(|i| i.item_id.as_str()).collect();
    assert_eq!(ids, ["item-05", "item-06", "item-07"], "in id order, after the cursor");

    // Publishing, and a racing ingest that must not undo it.
    assert!(s.mark_published(id, "item-00", "HIT0").await.unwrap());
    assert!(!s.mark_published(id, "item-00", "HIT0").await.unwrap(), "published once");
    assert_eq!(s.put_new_items(&all[..1]).await.unwrap(), 0);
    let published = s.item(id, "item-00").await.unwrap().unwrap();
    assert_eq!(
        (published.status, published.hit_id.as_deref(), published.version),
        (ItemStatus::Published, Some("HIT0"), 1)
    );

    // Recording answers: only at the version read; answers in submission order.
    let unit = Usd::from_cents(6);
    let mut w = ItemWrite::on(&published, 100);
    w.record = vec![answer("A2", Some("a"), 20), answer("A1", None, 10)];
    w.cost = unit.times(2);
    assert_eq!(s.write(&w).await.unwrap(), WriteOutcome::Applied);
    assert_eq!(s.write(&w).await.unwrap(), WriteOutcome::Conflict, "the same write twice: the version moved");
    let recorded = s.item(id, "item-00").await.unwrap().unwrap();
    let order: Vec<&str> = recorded.answers.iter().map(|a| a.assignment_id.as_str()).collect();
    assert_eq!(order, ["A1", "A2"]);
    assert_eq!(recorded.answers[0].invalid_reason.as_deref(), Some("unreadable"), "an invalid answer keeps its reason");
    assert_eq!((recorded.spent, recorded.version, recorded.updated_at), (unit.times(2), 2, 100));
    let before = s.job(id).await.unwrap().unwrap();
    assert_eq!((before.answers, before.spent), (0, Usd::ZERO), "answers reach the job when the item is decided");

    // Deciding: the item leaves the open items; the job counts it once.
    let mut open_before = open_ids(s, id).await;
    assert!(open_before.contains(&"item-00".to_string()));
    let mut d = ItemWrite::on(&recorded, 200);
    d.decide = Some(Decided {
        status: ItemStatus::Labeled,
        label: Some("a".into()),
        agreed: 1,
        confidence: Some(0.5),
        release: unit,
    });
    d.job.decided = 1;
    d.job.labeled = 1;
    d.job.answers = 2;
    d.job.spent = recorded.spent;
    d.job.reserved = Usd::ZERO - unit;
    assert_eq!(s.write(&d).await.unwrap(), WriteOutcome::Applied);
    let decided = s.item(id, "item-00").await.unwrap().unwrap();
    assert_eq!(
        (decided.status, decided.label.as_deref(), decided.confidence),
        (ItemStatus::Labeled, Some("a"), Some(0.5))
    );
    assert_eq!(decided.released, unit);
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!((j.decided, j.labeled, j.answers, j.spent, j.reserved), (1, 1, 2, unit.times(2), Usd::ZERO - unit));
    open_before.retain(|i| i != "item-00");
    assert_eq!(open_ids(s, id).await, open_before, "the decided item left sweep's index");
    assert_eq!(s.progress(id).await.unwrap().unwrap().decided, 1);
}

/// Gold answers counted once with the write that records them; a block set
/// once, holding the job's completion until its items are re-decided; a
/// decision taken back off the job's tally and the item open again.
async fn blocks(s: &dyn Store, id: &str) {
    s.create_job(&job(id, JobStatus::Labeling, None, 1)).await.unwrap();
    s.put_new_items(&items(id, 1)).await.unwrap();
    s.mark_published(id, "item-00", "HIT0").await.unwrap();
    let item = s.item(id, "item-00").await.unwrap().unwrap();
    let unit = Usd::from_cents(6);
    let mut w = ItemWrite::on(&item, 100);
    w.record = vec![answer("A1", Some("a"), 10), answer("A2", Some("b"), 20)];
    w.cost = unit.times(2);
    w.gold = vec![
        GoldTally { worker_id: "WA1".into(), answers: 1, correct: 1 },
        GoldTally { worker_id: "WA2".into(), answers: 1, correct: 0 },
    ];
    assert_eq!(s.write(&w).await.unwrap(), WriteOutcome::Applied);
    assert_eq!(s.write(&w).await.unwrap(), WriteOutcome::Conflict, "counted once");
    let workers = ["WA1".to_string(), "WA2".to_string(), "WNONE".to_string()];
    let standings = s.standings(id, &workers).await.unwrap();
    assert_eq!(standings.len(), 2, "a worker with no gold answer has no standing");
    assert_eq!((standings["WA2"].gold_answers, standings["WA2"].gold_correct), (1, 0));
    assert_eq!(standings["WA1"].gold_correct, 1);

    // Decided, then a block: the job may not complete until re-decided.
    let recorded = s.item(id, "item-00").await.unwrap().unwrap();
    let mut d = ItemWrite::on(&recorded, 200);
    d.decide = Some(Decided {
        status: ItemStatus::Labeled,
        label: Some("a".into()),
        agreed: 2,
        confidence: Some(1.0),
        release: Usd::ZERO,
    });
    d.job.decided = 1;
    d.job.labeled = 1;
    d.job.answers = 2;
    d.job.spent = recorded.spent;
    assert_eq!(s.write(&d).await.unwrap(), WriteOutcome::Applied);
    assert!(s.block(id, "WA2", "wrong on gold", 300).await.unwrap());
    assert!(!s.block(id, "WA2", "again", 301).await.unwrap(), "blocked once");
    let p = s.progress(id).await.unwrap().unwrap();
    assert!(p.blocks_pending && p.decided == p.items);
    assert!(!s.complete_if_done(id).await.unwrap(), "not while a block waits for its re-decisions");
    let all = s.all_standings(id).await.unwrap();
    let blocked: Vec<_> = all.iter().filter(|s| s.blocked.is_some()).collect();
    assert_eq!(blocked.len(), 1);
    assert_eq!(
        (blocked[0].worker_id.as_str(), blocked[0].blocked.as_deref(), blocked[0].blocked_at, blocked[0].gold_answers),
        ("WA2", Some("wrong on gold"), Some(300), 1)
    );

    // Re-decided: the decision comes off the tally, the item is open again.
    let decided = s.item(id, "item-00").await.unwrap().unwrap();
    let mut r = ItemWrite::on(&decided, 400);
    r.reopen = Some(Reopen { was: ItemStatus::Labeled, answers: 2, spent: decided.spent });
    assert_eq!(s.write(&r).await.unwrap(), WriteOutcome::Applied);
    let reopened = s.item(id, "item-00").await.unwrap().unwrap();
    assert_eq!((reopened.status, reopened.label.as_deref(), reopened.confidence), (ItemStatus::Published, None, None));
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!((j.decided, j.labeled, j.answers, j.spent), (0, 0, 0, Usd::ZERO));
    let open = eventually(|| open_ids(s, id), |ids: &Vec<String>| ids.contains(&"item-00".to_string())).await;
    assert!(open.contains(&"item-00".to_string()), "back in sweep's index");

    assert!(s.record_redecided(id, 1).await.unwrap());
    assert!(!s.record_redecided(id, 1).await.unwrap(), "recorded once");
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!((j.workers_blocked, j.redecided_blocks), (1, 1));
    assert!(!s.progress(id).await.unwrap().unwrap().blocks_pending);
}

/// The open items of job `id`, read a few at a time through the cursor.
async fn open_ids(s: &dyn Store, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..1000 {
        let (page, next) = s.open_items(cursor, 3).await.unwrap();
        assert!(page.len() <= 3);
        out.extend(page.into_iter().filter(|i| i.job_id == id).map(|i| i.item_id));
        match next {
            Some(n) => cursor = Some(n),
            None => {
                out.sort();
                let mut unique = out.clone();
                unique.dedup();
                assert_eq!(unique, out, "each open item once");
                return out;
            }
        }
    }
    panic!("open_items never ended");
}

fn reserve(item: &Item, round: u32, cost: Usd, budget: Option<Usd>) -> ItemWrite {
    let mut w = ItemWrite::on(item, 1);
    w.reserve = Some(Reserve { round, assignments: 2, cost, budget });
    w.job.reserved = cost;
    w.job.bought = 2;
    w
}

async fn budgets(s: &dyn Store, id: &str) {
    let budget = Usd::from_cents(30);
    s.create_job(&job(id, JobStatus::Labeling, Some("0.30"), 3)).await.unwrap();
    s.put_new_items(&items(id, 3)).await.unwrap();
    let cost = Usd::from_cents(12);
    let item = |k: usize| async move { s.item(id, &format!("item-{k:02}")).await.unwrap().unwrap() };
    assert_eq!(s.write(&reserve(&item(0).await, 1, cost, Some(budget))).await.unwrap(), WriteOutcome::Applied);
    // A stale copy of the budget (none) is checked against the stored one.
    assert_eq!(s.write(&reserve(&item(1).await, 1, cost, None)).await.unwrap(), WriteOutcome::Applied);
    let over = s.write(&reserve(&item(2).await, 1, cost, Some(budget))).await.unwrap();
    assert_eq!(over, WriteOutcome::Refused(Refusal::OverBudget { reserved: cost.times(2), budget: Some(budget) }));
    let refused = item(2).await;
    assert_eq!((refused.rounds, refused.version), (0, 0), "nothing written");
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!((j.reserved, j.assignments_bought), (cost.times(2), 4));

    // Raising the budget: only from the budget it has.
    assert!(!s.amend_budget(id, Some(Usd::from_cents(99)), Some(Usd::from_cents(50))).await.unwrap());
    assert!(s.amend_budget(id, Some(budget), Some(Usd::from_cents(50))).await.unwrap());
    assert_eq!(s.job(id).await.unwrap().unwrap().spec.budget_usd, Some(Usd::from_cents(50)));
    assert_eq!(s.write(&reserve(&item(2).await, 1, cost, Some(budget))).await.unwrap(), WriteOutcome::Applied);
    // Removing it: no ceiling.
    assert!(s.amend_budget(id, Some(Usd::from_cents(50)), None).await.unwrap());
    assert_eq!(s.job(id).await.unwrap().unwrap().spec.budget_usd, None);
    assert_eq!(
        s.write(&reserve(&item(2).await, 2, Usd::from_cents(9_999), None)).await.unwrap(),
        WriteOutcome::Applied
    );

    // A paused job buys nothing.
    s.transition(id, &[JobStatus::Labeling], JobStatus::Paused, Some("p")).await.unwrap();
    let paused = s.write(&reserve(&item(0).await, 2, cost, None)).await.unwrap();
    assert_eq!(paused, WriteOutcome::Refused(Refusal::JobInactive));
    assert!(!s.amend_budget(&format!("{id}-none"), None, None).await.unwrap(), "no job");
}

async fn training(s: &dyn Store, id: &str) {
    s.create_job(&job(id, JobStatus::Labeling, None, 0)).await.unwrap();
    assert!(!s.claim_training(id, 10, 20).await.unwrap(), "only a complete job");
    assert!(s.complete_if_done(id).await.unwrap(), "0 of 0 decided: complete");
    assert!(!s.complete_if_done(id).await.unwrap(), "once");
    assert!(s.claim_training(id, 10, 20).await.unwrap());
    assert!(!s.claim_training(id, 15, 30).await.unwrap(), "held until 20");
    assert!(s.claim_training(id, 21, 40).await.unwrap(), "a lapsed claim is taken over");
    s.release_training(id).await.unwrap();
    assert!(s.claim_training(id, 22, 40).await.unwrap(), "released");

    let start = Transition {
        from: vec![JobStatus::Complete],
        to: JobStatus::Training,
        record: TrainingRecord { name: "hitloop-x".into(), status: Some("InProgress".into()), ..Default::default() },
        reason: None,
        deployment: None,
    };
    assert!(s.record_training(id, &start).await.unwrap());
    assert!(!s.record_training(id, &start).await.unwrap(), "not complete any more");
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!((j.status, j.training.as_ref().map(|t| t.name.as_str())), (JobStatus::Training, Some("hitloop-x")));
    assert!(s.record_training(id, &failed("hitloop-x", "no role")).await.unwrap());
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!((j.status, j.reason.as_deref()), (JobStatus::TrainingFailed, Some("no role")));
}

async fn deployments(s: &dyn Store, id: &str) {
    s.create_job(&job(id, JobStatus::Labeling, None, 0)).await.unwrap();
    assert!(s.complete_if_done(id).await.unwrap());
    assert!(!s.claim_deployment(id, 10, 20).await.unwrap(), "only a deploying job");
    let record = DeploymentRecord {
        endpoint: format!("hitloop-{id}-abcdef"),
        version: 1,
        model: format!("hitloop-{id}-abcdef-v1"),
        ..Default::default()
    };
    // Trained and deploying in one write.
    let trained = Transition {
        from: vec![JobStatus::Complete],
        to: JobStatus::Deploying,
        record: TrainingRecord {
            name: "hitloop-x".into(),
            model_artifacts: Some("s3://b/m".into()),
            ..Default::default()
        },
        reason: None,
        deployment: Some(record.clone()),
    };
    assert!(s.record_training(id, &trained).await.unwrap());
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!((j.status, j.deployment.as_ref()), (JobStatus::Deploying, Some(&record)));
    assert_eq!(j.training.unwrap().model_artifacts.as_deref(), Some("s3://b/m"));

    assert!(s.claim_deployment(id, 10, 20).await.unwrap());
    assert!(!s.claim_deployment(id, 15, 30).await.unwrap(), "held until 20");
    assert!(s.claim_deployment(id, 21, 40).await.unwrap(), "a lapsed claim is taken over");
    s.release_deployment(id).await.unwrap();
    assert!(s.claim_deployment(id, 22, 40).await.unwrap(), "released");
    assert!(s.record_deployment(id, &requested(&record, 23)).await.unwrap(), "recording releases the claim");
    assert!(s.claim_deployment(id, 24, 40).await.unwrap());
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!(j.deployment.as_ref().and_then(|d| d.requested_at), Some(23));

    let view = EndpointView {
        name: record.endpoint.clone(),
        status: "InService".into(),
        failure_reason: None,
        config: Some(record.model.clone()),
    };
    let served = adopt_endpoint(&j, &view).unwrap();
    assert!(s.record_deployment(id, &served).await.unwrap());
    assert!(!s.record_deployment(id, &served).await.unwrap(), "not deploying any more");
    assert!(!s.record_deployment(id, &deploy_failed(&record, "late")).await.unwrap(), "forward only");
    let j = s.job(id).await.unwrap().unwrap();
    assert_eq!((j.status, j.deployment.and_then(|d| d.serving)), (JobStatus::Deployed, Some(1)));
    assert!(!s.claim_deployment(id, 100, 200).await.unwrap(), "deployed: nothing to claim");
}

async fn batches(s: &dyn Store, id: &str) {
    let b = PredictionBatch::received(id, "rest", 120, true, 5);
    assert_eq!(s.batch(id, "rest").await.unwrap(), None);
    assert!(s.put_batch(&b).await.unwrap());
    assert_eq!(s.batch(id, "rest").await.unwrap().as_ref(), Some(&b), "reads back as written");
    assert!(!s.put_batch(&b).await.unwrap(), "a batch under way is not replaced");
    let started = PredictionBatch {
        status: BatchStatus::Transforming,
        model_version: Some(1),
        transform_job: Some("hitloop-t".into()),
        ..b.clone()
    };
    assert!(s.update_batch(&started, &[BatchStatus::Received]).await.unwrap());
    assert!(!s.update_batch(&started, &[BatchStatus::Received]).await.unwrap(), "once");
    let failed = PredictionBatch { status: BatchStatus::Failed, reason: Some("no model".into()), ..started.clone() };
    assert!(s.update_batch(&failed, &[BatchStatus::Transforming]).await.unwrap());
    assert_eq!(s.batch(id, "rest").await.unwrap().unwrap().reason.as_deref(), Some("no model"));
    assert!(s.put_batch(&b).await.unwrap(), "a failed batch is replaced by its fixed upload");
    assert!(s.batch(&format!("{id}-other"), "rest").await.unwrap().is_none(), "per job");

    // A job's batches, and the open ones of every job (sweep's look).
    let open_here = |all: Vec<PredictionBatch>| {
        let mut names: Vec<String> = all.into_iter().filter(|b| b.job_id == id).map(|b| b.batch).collect();
        names.sort();
        names
    };
    let asking = PredictionBatch {
        batch: "asking".into(),
        status: BatchStatus::Predicted,
        verification: Some(format!("{id}-v")),
        ..b.clone()
    };
    let done = PredictionBatch { batch: "done".into(), status: BatchStatus::Predicted, ..b.clone() };
    for batch in [&asking, &done] {
        assert!(s.put_batch(batch).await.unwrap());
    }
    let names: Vec<String> = s.job_batches(id).await.unwrap().into_iter().map(|b| b.batch).collect();
    assert_eq!(names, ["asking", "done", "rest"], "every batch of the job, in name order");
    assert!(s.job_batches(&format!("{id}-other")).await.unwrap().is_empty());
    assert_eq!(open_here(s.open_batches(10_000).await.unwrap()), ["asking", "rest"], "received, or with people");
    let verified = PredictionBatch { status: BatchStatus::Verified, ..asking.clone() };
    assert!(s.update_batch(&verified, &[BatchStatus::Predicted]).await.unwrap());
    assert_eq!(open_here(s.open_batches(10_000).await.unwrap()), ["asking", "rest"], "waiting for a retrain");
    let claimed = PredictionBatch { retrain_version: Some(2), ..verified };
    assert!(s.update_batch(&claimed, &[BatchStatus::Verified]).await.unwrap());
    let failed_again = PredictionBatch { status: BatchStatus::Failed, ..b.clone() };
    assert!(s.update_batch(&failed_again, &[BatchStatus::Received]).await.unwrap());
    assert!(open_here(s.open_batches(10_000).await.unwrap()).is_empty(), "claimed or failed: closed");
}

async fn estimates(s: &dyn Store, id: &str) {
    let e = |w: &str, accuracy: f64| WorkerEstimate {
        worker_id: w.into(),
        answers: 12,
        accuracy,
        confusion: vec![vec![0.9, 0.1], vec![0.2, 0.8]],
        counts: vec![vec![9.0, 1.0], vec![0.5, 2.0]],
        updated_at: 5,
    };
    s.put_estimates(id, &[e("W1", 0.9), e("W2", 0.6)]).await.unwrap();
    let got = s.estimates(id, &["W2".into(), "W3".into()]).await.unwrap();
    assert_eq!(got.len(), 1, "a worker with no estimate is left out");
    assert_eq!(got["W2"], e("W2", 0.6));
    s.put_estimates(id, &[e("W2", 0.7)]).await.unwrap();
    assert_eq!(s.estimates(id, &["W2".into()]).await.unwrap()["W2"].accuracy, 0.7, "refits replace");
    assert!(s.estimates(&format!("{id}-other"), &["W1".into()]).await.unwrap().is_empty(), "per job");
}

/// A confidence job's refit: items marked by the writes that record their
/// answers, one conditional write per refit (the model's generation, each
/// item's version), nothing counted twice.
async fn refits(s: &dyn Store, id: &str) {
    let mut j = job(id, JobStatus::Labeling, None, 3);
    j.spec.consensus = ConsensusSpec::confidence();
    s.create_job(&j).await.unwrap();
    s.put_new_items(&items(id, 3)).await.unwrap();
    assert!(s.items_to_refit(id, 10).await.unwrap().is_empty(), "nothing answered yet");
    assert_eq!(s.job_model(id).await.unwrap(), JobModel::default(), "no model before the first refit");
    for (n, item_id) in ["item-00", "item-01"].iter().enumerate() {
        let item = s.item(id, item_id).await.unwrap().unwrap();
        let mut w = ItemWrite::on(&item, 10);
        w.record = vec![answer(&format!("R{n}a"), Some("a"), 1), answer(&format!("R{n}b"), Some("a"), 2)];
        w.refit_due = true;
        assert_eq!(s.write(&w).await.unwrap(), WriteOutcome::Applied);
    }
    // An answer on an agreement job's item is not marked.
    let other = s.item(id, "item-02").await.unwrap().unwrap();
    let mut w = ItemWrite::on(&other, 10);
    w.record = vec![answer("R2a", Some("b"), 1)];
    assert_eq!(s.write(&w).await.unwrap(), WriteOutcome::Applied);

    let marked = eventually(|| async { s.items_to_refit(id, 10).await.unwrap() }, |m| m.len() == 2).await;
    let ids: Vec<&str> = marked.iter().map(|i| i.item_id.as_str()).collect();
    assert_eq!(ids, ["item-00", "item-01"]);
    assert_eq!(marked[0].answers.len(), 2, "as the item is now");

    let model = s.job_model(id).await.unwrap();
    let r = refit(&j.spec, &model, &BTreeMap::new(), &BTreeSet::new(), &marked, 100, 50).unwrap();
    assert_eq!((r.items.len(), r.model.generation), (2, 1));
    // A write to an item after the refit read it: the whole refit is refused.
    let moved = s.item(id, "item-01").await.unwrap().unwrap();
    let mut w = ItemWrite::on(&moved, 20);
    w.record = vec![answer("R1c", Some("b"), 3)];
    w.refit_due = true;
    assert_eq!(s.write(&w).await.unwrap(), WriteOutcome::Applied);
    assert!(!s.apply_refit(&r).await.unwrap(), "item-01 moved past the version read");
    assert_eq!(s.job_model(id).await.unwrap().generation, 0, "nothing of it written");

    let marked = s.items_to_refit(id, 10).await.unwrap();
    let r = refit(&j.spec, &model, &BTreeMap::new(), &BTreeSet::new(), &marked, 100, 60).unwrap();
    assert!(s.apply_refit(&r).await.unwrap());
    assert!(!s.apply_refit(&r).await.unwrap(), "the same refit twice: the generation moved");
    let after = s.job_model(id).await.unwrap();
    assert_eq!(after.generation, 1);
    let counted: f64 = after.pooled.iter().flatten().sum();
    assert!((counted - 5.0).abs() < 1e-9, "five answers counted once: {counted}");
    let item = s.item(id, "item-01").await.unwrap().unwrap();
    assert_eq!(item.model.as_ref().map(|m| m.counted.len()), Some(3), "the item keeps what it counted");
    let estimates = s.estimates(id, &["WR0a".into(), "WR1c".into(), CROWD.into()]).await.unwrap();
    assert_eq!(estimates.len(), 3, "the workers moved and the crowd");
    assert_eq!(estimates["WR1c"].counts.len(), 2, "with the counts the next refit adds to");
    let left = eventually(|| async { s.items_to_refit(id, 10).await.unwrap() }, Vec::is_empty).await;
    assert!(left.is_empty(), "counted items leave the refit index");
}

/// Reads until `done` (an index may lag the table a little), at most a few seconds.
async fn eventually<T, F, Fut>(read: F, done: impl Fn(&T) -> bool) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    for _ in 0..50 {
        let v = read().await;
        if done(&v) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    read().await
}
