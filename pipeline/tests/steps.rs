//! The steps on in-memory ports: no server. A small world (store, marketplace,
//! queues) where items are posted, workers answer, notifications arrive twice
//! or at once, and the end state and the number of calls are checked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeMap;
use std::sync::Arc;

use hitloop_core::events::{MturkEvent, NotificationDoc};
use hitloop_core::job::JobSpec;
use hitloop_core::messages::{JobMessage, PublishItem};
use hitloop_core::money::Usd;
use hitloop_core::plan::publish::Outcome as Published;
use hitloop_core::plan::reconcile::Outcome;
use hitloop_core::records::{Item, ItemStatus, Job, JobStatus};
use hitloop_pipeline::memory::{MemoryCrowd, MemoryQueue, MemoryStore};
use hitloop_pipeline::ports::{Items, Jobs};
use hitloop_pipeline::steps::collect::collect;
use hitloop_pipeline::steps::publish::{publish, PublishDeps};
use hitloop_pipeline::steps::reconcile::{on_notification, CollectDeps};

const NS: &str = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd";
const TRAINING: &str = "training-queue";

fn answer(label: &str) -> String {
    format!(
        r#"<QuestionFormAnswers xmlns="{NS}"><Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>[{{"category":{{"label":"{label}"}}}}]</FreeText></Answer></QuestionFormAnswers>"#
    )
}

struct World {
    store: Arc<MemoryStore>,
    crowd: Arc<MemoryCrowd>,
    queue: Arc<MemoryQueue>,
    collect: CollectDeps,
    publish: PublishDeps,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let crowd = Arc::new(MemoryCrowd::new(1_800_000_000_000, Usd::from_cents(100_000)));
    let queue = Arc::new(MemoryQueue::new());
    let collect = CollectDeps {
        store: store.clone(),
        crowd: crowd.clone(),
        queue: queue.clone(),
        training_queue_url: TRAINING.into(),
        specs: Default::default(),
    };
    let publish = PublishDeps { store: store.clone(), crowd: crowd.clone(), notification_queue_url: "n".into() };
    World { store, crowd, queue, collect, publish }
}

impl World {
    /// A labeling job of `n` items with `extra` job.json fields.
    async fn job(&self, n: usize, extra: &str) -> Job {
        let spec = JobSpec::parse(&format!(r#"{{"labels": ["a", "b", "c"]{extra}}}"#)).unwrap();
        let job = Job::new("j", JobStatus::Labeling, spec, "<p>${x}</p>".into(), "k", "e", n as u64);
        self.store.create_job(&job).await.unwrap();
        let items: Vec<Item> = (0..n)
            .map(|k| Item::pending("j", &format!("i{k}"), k as u64 + 2, [("x".to_string(), k.to_string())].into(), 0))
            .collect();
        self.store.put_new_items(&items).await.unwrap();
        job
    }

    async fn post(&self, item: &str) -> String {
        let msg = PublishItem { job_id: "j".into(), item_id: item.into() };
        match publish(&self.publish, &msg).await.unwrap() {
            Published::Published(hit) => hit,
            other => panic!("{other:?}"),
        }
    }

    async fn item(&self, id: &str) -> Item {
        self.store.item("j", id).await.unwrap().unwrap()
    }

    /// A worker answers; the notification MTurk would send.
    fn answers(&self, hit: &str, worker: &str, label: &str) -> NotificationDoc {
        let assignment = self.crowd.work(hit, worker, &answer(label)).expect("a slot is open");
        NotificationDoc {
            event_doc_id: None,
            events: vec![MturkEvent {
                event_type: "AssignmentSubmitted".into(),
                hit_id: Some(hit.into()),
                assignment_id: Some(assignment),
            }],
        }
    }

    /// Store and marketplace calls made by `f`.
    async fn calls<F: std::future::Future>(&self, f: F) -> (F::Output, u32) {
        let before = self.total_calls();
        let out = f.await;
        (out, self.total_calls() - before)
    }

    fn total_calls(&self) -> u32 {
        self.store.calls().values().sum::<u32>() + self.crowd.calls().values().sum::<u32>()
    }
}

#[tokio::test]
async fn two_agreeing_answers_label_the_item_and_complete_the_job() {
    let w = world();
    w.job(1, "").await;
    let hit = w.post("i0").await;
    let first = w.answers(&hit, "W1", "a");
    assert_eq!(collect(&w.collect, &first).await.unwrap()[0].1, Outcome::Waiting);
    let second = w.answers(&hit, "W2", "a");
    assert_eq!(collect(&w.collect, &second).await.unwrap()[0].1, Outcome::Labeled("a".into()));
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.status, job.decided, job.labeled, job.answers), (JobStatus::Complete, 1, 1, 2));
    let unit = job.spec.assignment_cost(2);
    assert_eq!((job.spent, job.reserved), (unit.times(2), unit.times(2)));
    assert_eq!(w.queue.take(TRAINING), vec![JobMessage::complete("j").body().unwrap()]);
    // Both answers were approved by hitloop.
    assert_eq!(w.crowd.calls()["ApproveAssignment"], 2);
}

#[tokio::test]
async fn a_notification_costs_at_most_four_calls_and_one_with_nothing_new_two() {
    let w = world();
    w.job(2, "").await;
    let hit = w.post("i0").await;
    w.post("i1").await; // another item keeps the job open
    let first = w.answers(&hit, "W1", "a");
    // spec read once per process: warm it as a warm function would be
    collect(&w.collect, &first).await.unwrap();
    let (_, again) = w.calls(collect(&w.collect, &first)).await;
    assert!(again <= 2, "a duplicate: {again} calls");
    let second = w.answers(&hit, "W2", "a");
    let (out, deciding) = w.calls(collect(&w.collect, &second)).await;
    assert_eq!(out.unwrap()[0].1, Outcome::Labeled("a".into()));
    // GetAssignment, the item, ApproveAssignment, the write, the job's progress.
    assert!(deciding <= 5, "the deciding answer: {deciding} calls");
    let reviewable = NotificationDoc {
        event_doc_id: None,
        events: vec![MturkEvent { event_type: "HITReviewable".into(), hit_id: Some(hit.clone()), assignment_id: None }],
    };
    let (_, late) = w.calls(collect(&w.collect, &reviewable)).await;
    assert!(late <= 2, "HITReviewable after the decision: {late} calls");
    assert_eq!(w.store.calls().get("job").copied().unwrap_or(0), 1 + 2, "publish read it twice, collect once");
}

#[tokio::test]
async fn duplicates_and_racing_calls_record_pay_and_buy_once() {
    let w = world();
    w.job(1, "").await;
    let hit = w.post("i0").await;
    let a = w.answers(&hit, "W1", "a");
    let b = w.answers(&hit, "W2", "b");
    // Each document twice, the two at once.
    let (r1, r2, r3, r4) = tokio::join!(
        collect(&w.collect, &a),
        collect(&w.collect, &b),
        collect(&w.collect, &a),
        collect(&w.collect, &b)
    );
    for r in [r1, r2, r3, r4] {
        r.unwrap();
    }
    let item = w.item("i0").await;
    assert_eq!(item.answers.len(), 2, "each answer recorded once");
    let unit = w.store.job("j").await.unwrap().unwrap().spec.assignment_cost(2);
    assert_eq!(item.spent, unit.times(2), "each paid once");
    assert_eq!((item.bought, item.rounds), (3, 2), "one more bought, once");
    assert_eq!(w.crowd.calls()["CreateAdditionalAssignmentsForHIT"], 1);
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.assignments_bought, job.reserved), (3, unit.times(3)));
    // The third answer decides.
    let c = w.answers(&hit, "W3", "b");
    let (x, y) = tokio::join!(on_notification(&w.collect, &hit, None), collect(&w.collect, &c));
    x.unwrap();
    y.unwrap();
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.status, job.decided, job.answers, job.spent), (JobStatus::Complete, 1, 3, unit.times(3)));
    assert_eq!(w.queue.take(TRAINING).len(), 1, "completed once");
}

#[tokio::test]
async fn publishing_twice_at_once_posts_one_hit_and_reserves_once() {
    let w = world();
    w.job(1, "").await;
    let msg = PublishItem { job_id: "j".into(), item_id: "i0".into() };
    let (a, b) = tokio::join!(publish(&w.publish, &msg), publish(&w.publish, &msg));
    let outcomes = [a.unwrap(), b.unwrap()];
    assert!(outcomes.iter().any(|o| matches!(o, Published::Published(_))), "{outcomes:?}");
    let item = w.item("i0").await;
    assert_eq!((item.status, item.rounds, item.bought), (ItemStatus::Published, 1, 2));
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!(job.reserved, job.spec.assignment_cost(2).times(2), "reserved once");
    assert_eq!(job.assignments_bought, 2);
}

#[tokio::test]
async fn a_budget_stops_posting_and_pauses_the_job_with_its_reason() {
    let w = world();
    w.job(3, r#", "budget_usd": "0.30""#).await;
    w.post("i0").await;
    w.post("i1").await;
    let msg = PublishItem { job_id: "j".into(), item_id: "i2".into() };
    let Published::Paused(reason) = publish(&w.publish, &msg).await.unwrap() else { panic!() };
    assert!(reason.contains("$0.24 reserved of $0.30"), "{reason}");
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.status, job.reason.as_deref()), (JobStatus::Paused, Some(reason.as_str())));
    assert_eq!(w.item("i2").await.status, ItemStatus::Pending, "nothing posted");
}

#[tokio::test]
async fn an_item_written_again_by_a_racing_ingest_keeps_its_state() {
    let w = world();
    w.job(1, "").await;
    w.post("i0").await;
    let fresh = Item::pending("j", "i0", 2, [("x".to_string(), "0".to_string())].into(), 0);
    assert_eq!(w.store.put_new_items(&[fresh]).await.unwrap(), 0);
    assert_eq!(w.item("i0").await.status, ItemStatus::Published, "not put back to pending");
}

#[tokio::test]
async fn a_batch_brings_each_hit_up_to_date_once() {
    let w = world();
    w.job(2, "").await;
    let hit = w.post("i0").await;
    w.post("i1").await;
    let first = w.answers(&hit, "W1", "a");
    collect(&w.collect, &first).await.unwrap(); // the spec is read once per process
    let second = w.answers(&hit, "W2", "a");
    let reviewable = NotificationDoc {
        event_doc_id: None,
        events: vec![MturkEvent { event_type: "HITReviewable".into(), hit_id: Some(hit.clone()), assignment_id: None }],
    };
    // The second answer's document twice, and the HIT's reviewable event, in one batch.
    let batch = [(1, second.clone()), (2, second), (3, reviewable)];
    let (results, calls) = w.calls(hitloop_pipeline::steps::collect::collect_batch(&w.collect, &batch)).await;
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(w.item("i0").await.status, ItemStatus::Labeled);
    assert!(calls <= 5, "one reconcile for the three documents: {calls} calls");
    assert_eq!(w.crowd.calls()["GetAssignment"], 2, "once for each answer, not once per document");
}

#[tokio::test]
async fn a_batch_refits_the_confidence_jobs_it_recorded_answers_for() {
    use hitloop_pipeline::ports::WorkerModels;
    let w = world();
    w.job(2, r#", "consensus": {"method": "confidence", "initial_assignments": 2}"#).await;
    let h0 = w.post("i0").await;
    let h1 = w.post("i1").await;
    let batch = [(1, w.answers(&h0, "W1", "a")), (2, w.answers(&h0, "W2", "a")), (3, w.answers(&h1, "W1", "b"))];
    let results = hitloop_pipeline::steps::collect::collect_batch(&w.collect, &batch).await;
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    let model = w.store.job_model("j").await.unwrap();
    assert_eq!(model.generation, 1, "refitted once, after the batch");
    assert!(w.store.items_to_refit("j", 10).await.unwrap().is_empty(), "everything recorded is counted");
    // A batch that records nothing refits nothing.
    let reviewable = NotificationDoc {
        event_doc_id: None,
        events: vec![MturkEvent { event_type: "HITReviewable".into(), hit_id: Some(h0.clone()), assignment_id: None }],
    };
    let again = [(4, reviewable)];
    hitloop_pipeline::steps::collect::collect_batch(&w.collect, &again).await;
    assert_eq!(w.store.job_model("j").await.unwrap().generation, 1);
}

#[tokio::test]
async fn a_block_reopens_the_items_the_worker_decided_and_holds_the_job_until_then() {
    use hitloop_pipeline::ports::Standings;
    use hitloop_pipeline::steps::redecide::redecide_job;
    let w = world();
    w.job(1, r#", "gold": {"block_below": 0.6}"#).await;
    let hit = w.post("i0").await;
    collect(&w.collect, &w.answers(&hit, "W1", "a")).await.unwrap();
    collect(&w.collect, &w.answers(&hit, "WBAD", "a")).await.unwrap();
    assert_eq!(w.item("i0").await.status, ItemStatus::Labeled);
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Complete, "labeled before the block");

    // The same, with the block coming before the job completes.
    let w = world();
    w.job(1, r#", "gold": {"block_below": 0.6}"#).await;
    let hit = w.post("i0").await;
    collect(&w.collect, &w.answers(&hit, "W1", "a")).await.unwrap();
    assert!(w.store.block("j", "WBAD", "wrong on gold", 1).await.unwrap());
    collect(&w.collect, &w.answers(&hit, "WBAD", "a")).await.unwrap();
    assert_eq!(w.item("i0").await.status, ItemStatus::Published, "the blocked answer does not count: one more bought");
    assert_eq!(w.item("i0").await.bought, 3);
    collect(&w.collect, &w.answers(&hit, "W2", "a")).await.unwrap();
    assert_eq!(w.item("i0").await.status, ItemStatus::Labeled);
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Labeling, "every item decided, but the block is not accounted for");
    let done = redecide_job(&w.collect, &job).await.unwrap();
    assert_eq!(done, hitloop_pipeline::steps::redecide::Redecided { items: 1, recorded: true });
    assert_eq!(w.store.job("j").await.unwrap().unwrap().status, JobStatus::Complete, "then it completes");
    assert!(w.crowd.revocation("QUAL00000000000000000000000000", "WBAD").is_some(), "revoked again, harmlessly");
}

#[tokio::test]
async fn sweep_reopens_an_item_a_blocked_worker_decided_and_buys_on() {
    use hitloop_pipeline::ports::Standings;
    use hitloop_pipeline::steps::redecide::redecide_job;
    let w = world();
    w.job(2, r#", "gold": {"block_below": 0.6}"#).await;
    let hit = w.post("i0").await;
    w.post("i1").await;
    collect(&w.collect, &w.answers(&hit, "W1", "a")).await.unwrap();
    collect(&w.collect, &w.answers(&hit, "WBAD", "a")).await.unwrap();
    assert_eq!(w.item("i0").await.status, ItemStatus::Labeled);
    assert!(w.store.block("j", "WBAD", "wrong on gold", 1).await.unwrap());
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.decided, job.labeled, job.answers), (1, 1, 2));
    let done = redecide_job(&w.collect, &job).await.unwrap();
    assert_eq!(done.items, 1);
    let item = w.item("i0").await;
    assert_eq!((item.status, item.bought, item.rounds), (ItemStatus::Published, 3, 2), "reopened, one more bought");
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.decided, job.labeled, job.answers), (0, 0, 0), "its decision came off the job");
    assert_eq!((job.workers_blocked, job.redecided_blocks), (1, 1));
    // Running it again changes nothing.
    redecide_job(&w.collect, &job).await.unwrap();
    assert_eq!(w.item("i0").await.bought, 3, "bought once");
    collect(&w.collect, &w.answers(&hit, "W2", "a")).await.unwrap();
    let item = w.item("i0").await;
    assert_eq!((item.status, item.label.as_deref()), (ItemStatus::Labeled, Some("a")));
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.decided, job.labeled, job.answers), (1, 1, 3), "counted once, with every answer");
}

#[tokio::test]
async fn a_confidence_jobs_final_check_buys_on_what_the_model_now_doubts_then_completes() {
    use hitloop_pipeline::steps::final_check::{final_check, Checked};
    let w = world();
    // Eight items, and four gold items: two b, two c.
    let consensus = r#""consensus": {"method": "confidence", "initial_assignments": 2, "max_assignments": 4}"#;
    let spec = JobSpec::parse(&format!(r#"{{"labels": ["a", "b", "c"], {consensus}}}"#)).unwrap();
    w.store.create_job(&Job::new("j", JobStatus::Labeling, spec, "<p>${x}</p>".into(), "k", "e", 12)).await.unwrap();
    let items: Vec<Item> = (0..12)
        .map(|k| {
            let mut values: BTreeMap<String, String> = [("x".to_string(), k.to_string())].into();
            if k >= 8 {
                values.insert("gold".into(), if k < 10 { "b" } else { "c" }.into());
            }
            Item::pending("j", &format!("i{k}"), k as u64 + 2, values, 0)
        })
        .collect();
    w.store.put_new_items(&items).await.unwrap();
    // Decided while the model knows nobody (a new worker is taken for 70 %):
    // i0 on W1 and W2, the others on W3 and W4.
    let h0 = w.post("i0").await;
    collect(&w.collect, &w.answers(&h0, "W1", "a")).await.unwrap();
    collect(&w.collect, &w.answers(&h0, "W2", "a")).await.unwrap();
    for k in 1..8 {
        let hit = w.post(&format!("i{k}")).await;
        let label = if k % 2 == 0 { "b" } else { "c" };
        collect(&w.collect, &w.answers(&hit, "W3", label)).await.unwrap();
        collect(&w.collect, &w.answers(&hit, "W4", label)).await.unwrap();
    }
    // Then W1 and W2 get every gold item wrong: they say a whatever it is.
    for k in 8..12 {
        let hit = w.post(&format!("i{k}")).await;
        collect(&w.collect, &w.answers(&hit, "W1", "a")).await.unwrap();
        collect(&w.collect, &w.answers(&hit, "W2", "a")).await.unwrap();
    }
    assert_eq!(w.item("i0").await.status, ItemStatus::Labeled);
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.status, job.decided), (JobStatus::Labeling, 12), "every item decided, the check not made");
    assert!(w.queue.take(TRAINING).is_empty());

    // The fit over every answer (what the labels will come from) knows W1
    // and W2 say a whatever the truth: i0's label rests on them alone.
    let done = final_check(&w.collect, &job).await.unwrap();
    assert_eq!(done, Checked { items: 8, bought: 1, recorded: true });
    let i0 = w.item("i0").await;
    assert_eq!((i0.status, i0.bought, i0.rounds), (ItemStatus::Published, 3, 2), "reopened, one more bought");
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.status, job.decided), (JobStatus::Labeling, 11), "its label came off the job");
    // Once: a second pass finds the check made and buys nothing.
    let again = final_check(&w.collect, &job).await.unwrap();
    assert_eq!(again, Checked { items: 7, bought: 0, recorded: false });
    assert_eq!(w.crowd.calls()["CreateAdditionalAssignmentsForHIT"], 1);

    // A careful worker's answer settles it, and the job completes once.
    collect(&w.collect, &w.answers(&h0, "W3", "c")).await.unwrap();
    let i0 = w.item("i0").await;
    assert_eq!((i0.status, i0.answers.len()), (ItemStatus::Labeled, 3));
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!((job.status, job.decided), (JobStatus::Complete, 12));
    assert_eq!(w.queue.take(TRAINING), vec![JobMessage::complete("j").body().unwrap()], "completed once");
}

#[tokio::test]
async fn the_worker_model_blocks_a_guesser_once_it_has_counted_enough_of_their_answers() {
    use hitloop_core::quality::CROWD;
    use hitloop_core::records::WorkerEstimate;
    use hitloop_pipeline::ports::Standings;
    use hitloop_pipeline::steps::reconcile::judge_guessers;
    let w = world();
    let job = w.job(1, r#", "consensus": {"method": "confidence"}"#).await;
    assert!(job.spec.blocks_anyone(), "a confidence job blocks guessers unless it says not to");
    let hit = w.post("i0").await;
    collect(&w.collect, &w.answers(&hit, "WGUESS", "a")).await.unwrap();
    let estimate = |id: &str, answers: u32, accuracy: f64| WorkerEstimate {
        worker_id: id.into(),
        answers,
        accuracy,
        ..Default::default()
    };
    // Three labels: guessing is a third; the crowd 90 %: the bar is 62 %.
    let model =
        [estimate(CROWD, 900, 0.9), estimate("WGUESS", 25, 0.35), estimate("WOK", 40, 0.8), estimate("WNEW", 5, 0.2)];
    // What a refit wrote: the estimates it moved, the crowd's among them.
    let moved: BTreeMap<String, WorkerEstimate> = model.iter().map(|e| (e.worker_id.clone(), e.clone())).collect();
    assert_eq!(judge_guessers(&w.collect, &job.spec, "j", &moved).await.unwrap(), 1);
    let workers: Vec<String> = ["WGUESS", "WOK", "WNEW"].iter().map(|s| s.to_string()).collect();
    let standings = w.store.standings("j", &workers).await.unwrap();
    let why = standings["WGUESS"].blocked.clone().expect("blocked");
    assert!(why.contains("35 %") && why.contains("25 answers"), "{why}");
    assert!(standings.get("WOK").is_none_or(|s| s.blocked.is_none()), "poorer than the crowd, above the bar");
    assert!(standings.get("WNEW").is_none_or(|s| s.blocked.is_none()), "too few answers to judge");
    assert!(w.crowd.revocation("QUAL00000000000000000000000000", "WGUESS").is_some(), "access revoked with the reason");
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!(job.workers_blocked, 1, "counted on the job: sweep re-decides what they answered");
    // Judged again: blocked once.
    assert_eq!(judge_guessers(&w.collect, &job.spec, "j", &moved).await.unwrap(), 0);
    // Their answer no longer counts: the item buys on.
    collect(&w.collect, &w.answers(&hit, "W1", "a")).await.unwrap();
    assert_eq!(w.item("i0").await.status, ItemStatus::Published);
    // A job that says not to judge by the model blocks nobody.
    let w = world();
    let job = w.job(1, r#", "consensus": {"method": "confidence", "block_guessers": 0}"#).await;
    assert_eq!(judge_guessers(&w.collect, &job.spec, "j", &moved).await.unwrap(), 0);
    assert!(!job.spec.blocks_anyone());
}

#[tokio::test]
async fn a_blocked_workers_answers_come_out_of_the_worker_model() {
    use hitloop_pipeline::ports::{Standings, WorkerModels};
    use hitloop_pipeline::steps::redecide::redecide_job;
    use hitloop_pipeline::steps::refit::refit_job;
    let w = world();
    w.job(2, r#", "consensus": {"method": "confidence", "target": 0.99, "max_assignments": 4}"#).await;
    // Two items, each answered by W1 and WBAD, counted by a refit.
    for (item, bad) in [("i0", "a"), ("i1", "b")] {
        let hit = w.post(item).await;
        collect(&w.collect, &w.answers(&hit, "W1", "a")).await.unwrap();
        collect(&w.collect, &w.answers(&hit, "WBAD", bad)).await.unwrap();
    }
    let job = w.store.job("j").await.unwrap().unwrap();
    assert_eq!(refit_job(w.store.as_ref(), "j", &job.spec, 100).await.unwrap().items, 2);
    let workers = ["W1".to_string(), "WBAD".to_string(), "*".to_string()];
    let before = w.store.estimates("j", &workers).await.unwrap();
    assert_eq!((before["W1"].answers, before["WBAD"].answers), (2, 2), "both items counted");
    let pooled_before: f64 = before["*"].counts.iter().flatten().sum();
    assert!((pooled_before - 4.0).abs() < 1e-6, "{pooled_before}");
    // WBAD blocked; sweep re-decides their items, which marks them.
    assert!(w.store.block("j", "WBAD", "testing", 1).await.unwrap());
    let job = w.store.job("j").await.unwrap().unwrap();
    let redone = redecide_job(&w.collect, &job).await.unwrap();
    assert_eq!(redone.items, 2);
    assert_eq!(w.store.items_to_refit("j", 10).await.unwrap().len(), 2, "both marked for the refit");
    let job = w.store.job("j").await.unwrap().unwrap();
    let report = refit_job(w.store.as_ref(), "j", &job.spec, 100).await.unwrap();
    assert_eq!(report.items, 2);
    let after = w.store.estimates("j", &workers).await.unwrap();
    assert_eq!(after["WBAD"].answers, 0, "nothing of the blocked worker's counted");
    // One answer left on each item says nothing of its worker: none counted.
    assert_eq!(after["W1"].answers, 0);
    let pooled_after: f64 = after["*"].counts.iter().flatten().sum();
    assert!(pooled_after.abs() < 1e-6, "{pooled_after}");
    assert!(w.store.items_to_refit("j", 10).await.unwrap().is_empty());
    // Judged again, nothing is marked twice.
    let job = w.store.job("j").await.unwrap().unwrap();
    redecide_job(&w.collect, &job).await.unwrap();
    assert!(w.store.items_to_refit("j", 10).await.unwrap().is_empty());
    assert!(w.store.standings("j", &workers).await.unwrap()["WBAD"].blocked.is_some());
}
