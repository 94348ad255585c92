//! Every branch of the reconcile plan, with no server: snapshots built by
//! hand, plans checked whole.

use super::*;
use crate::decision::rule_for;
use crate::quality::GoldTally;
use crate::records::Item;

const NS: &str = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd";
const NOW: i64 = 1_800_000_000_000;

fn spec() -> JobSpec {
    JobSpec::parse(
        r#"{"labels": ["a", "b", "c"], "consensus": {"initial_assignments": 2, "agreement": 2, "max_assignments": 4}}"#,
    )
    .unwrap()
}

fn unit() -> Usd {
    spec().assignment_cost(2)
}

fn answer_xml(label: &str) -> String {
    format!(
        r#"<QuestionFormAnswers xmlns="{NS}"><Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>[{{"category":{{"label":"{label}"}}}}]</FreeText></Answer></QuestionFormAnswers>"#
    )
}

fn assignment(id: &str, label: &str, status: &str, at: i64) -> AssignmentView {
    AssignmentView {
        assignment_id: id.into(),
        worker_id: format!("W{id}"),
        status: status.into(),
        answer: answer_xml(label),
        submit_time: at,
    }
}

fn recorded(id: &str, label: Option<&str>, at: i64) -> AnswerRecord {
    AnswerRecord {
        assignment_id: id.into(),
        worker_id: format!("W{id}"),
        label: label.map(str::to_string),
        invalid_reason: label.is_none().then(|| "bad".to_string()),
        submitted_at: at,
    }
}

/// A published item: `bought` assignments in `rounds` rounds, these answers.
fn item(bought: u32, rounds: u32, answers: Vec<AnswerRecord>) -> Item {
    let mut i = Item::pending("j", "i", 2, Default::default(), 0);
    i.status = ItemStatus::Published;
    i.hit_id = Some("H".into());
    i.bought = bought;
    i.rounds = rounds;
    i.spent = unit().times(answers.len() as i64);
    i.answers = answers;
    i.version = 7;
    i
}

/// A HIT with `max` slots, `pending` accepted and `available` open.
fn hit(max: u32, pending: u32, available: u32) -> HitState {
    HitState {
        hit_id: "H".into(),
        status: "Assignable".into(),
        max_assignments: max,
        pending,
        available,
        expiration: NOW + 3_600_000,
        annotation: Some("hitloop:j/i".into()),
    }
}

struct Case {
    spec: JobSpec,
    item: Item,
    hit: Option<HitState>,
    assignments: Vec<AssignmentView>,
    full_list: bool,
    job_status: Option<JobStatus>,
    refused: Option<Refusal>,
    blocked: BTreeSet<String>,
    workers: BTreeMap<String, WorkerEstimate>,
    final_check: bool,
}

impl Case {
    fn new(item: Item, hit: Option<HitState>, assignments: Vec<AssignmentView>) -> Case {
        Case {
            spec: spec(),
            item,
            hit,
            assignments,
            full_list: true,
            job_status: None,
            refused: None,
            blocked: BTreeSet::new(),
            workers: BTreeMap::new(),
            final_check: false,
        }
    }

    fn plan(&self) -> Plan {
        let s = Snapshot {
            spec: &self.spec,
            item: &self.item,
            hit_id: "H",
            hit: self.hit.as_ref(),
            assignments: &self.assignments,
            full_list: self.full_list,
            job_status: self.job_status,
            workers: &self.workers,
            blocked: &self.blocked,
            market_ms: NOW,
            now: 5,
            refused: self.refused.as_ref(),
            final_check: self.final_check,
        };
        plan(&s, rule_for(&self.spec).as_ref())
    }

    fn act(&self) -> Actions {
        match self.plan() {
            Plan::Act(a) => *a,
            other => panic!("expected actions, got {other:?}"),
        }
    }
}

#[test]
fn a_hit_that_is_not_the_items_is_left_alone() {
    let mut other = item(2, 1, vec![]);
    other.hit_id = Some("ELSEWHERE".into());
    let a = Case::new(other, Some(hit(2, 0, 0)), vec![assignment("A1", "a", "Submitted", 1)]).act();
    assert_eq!((a.outcome, a.approve.len(), a.write), (Outcome::NotOurs, 0, None), "nothing approved, nothing written");
    let mut pending = item(2, 1, vec![]);
    pending.status = ItemStatus::Pending;
    pending.hit_id = None;
    assert_eq!(Case::new(pending, Some(hit(2, 0, 0)), vec![]).act().outcome, Outcome::NotOurs, "publish records it");
}

#[test]
fn a_view_that_shows_less_than_the_hit_has_done_asks_for_the_full_list() {
    // Two done, one recorded, the notification's one fetched: complete.
    let mut c = Case::new(
        item(2, 1, vec![recorded("A1", Some("a"), 1)]),
        Some(hit(2, 0, 0)),
        vec![assignment("A2", "a", "Submitted", 2)],
    );
    c.full_list = false;
    assert!(matches!(c.plan(), Plan::Act(_)));
    // Two done, none recorded, one fetched: the other is unseen.
    c.item = item(2, 1, vec![]);
    assert_eq!(c.plan(), Plan::Need(Need::FullList));
    // Nothing fetched (a HITReviewable) and everything recorded: complete.
    let mut done = Case::new(
        item(2, 1, vec![recorded("A1", Some("a"), 1), recorded("A2", Some("b"), 2)]),
        Some(hit(2, 0, 0)),
        vec![],
    );
    done.full_list = false;
    done.job_status = Some(JobStatus::Labeling);
    assert!(matches!(done.plan(), Plan::Act(_)));
}

#[test]
fn new_answers_are_approved_recorded_and_paid_on_the_item_while_it_is_open() {
    let c = Case::new(item(2, 1, vec![]), Some(hit(2, 1, 0)), vec![assignment("A1", "a", "Submitted", 1)]);
    let a = c.act();
    assert_eq!(a.approve, ["A1"]);
    assert_eq!(a.outcome, Outcome::Waiting, "one answer, one slot still held");
    let w = a.write.unwrap();
    assert_eq!((w.version, w.record.len(), w.cost), (7, 1, unit()));
    assert_eq!(w.record[0].label.as_deref(), Some("a"));
    assert!(w.job.is_empty(), "the job is not written for an answer");
    assert!(a.after.is_empty());
}

#[test]
fn an_approved_answer_not_yet_recorded_is_recorded_without_approving_again() {
    let c = Case::new(item(2, 1, vec![]), Some(hit(2, 1, 0)), vec![assignment("A1", "a", "Approved", 1)]);
    let a = c.act();
    assert!(a.approve.is_empty());
    assert_eq!(a.write.unwrap().record.len(), 1);
}

#[test]
fn an_unreadable_answer_is_kept_with_its_reason_and_never_counted() {
    let mut bad = assignment("A2", "a", "Submitted", 2);
    bad.answer = "<not xml".into();
    let c = Case::new(item(2, 1, vec![recorded("A1", Some("a"), 1)]), Some(hit(2, 0, 0)), vec![bad]);
    let a = c.act();
    let w = a.write.unwrap();
    assert!(w.record[0].label.is_none() && w.record[0].invalid_reason.as_deref().unwrap().contains("XML"));
    assert_eq!(a.outcome, Outcome::Bought(1), "one valid answer: buy one more");
}

#[test]
fn nothing_new_writes_nothing() {
    let c = Case::new(
        item(2, 1, vec![recorded("A1", Some("a"), 1)]),
        Some(hit(2, 1, 0)),
        vec![assignment("A1", "a", "Approved", 1)],
    );
    let a = c.act();
    assert_eq!((a.write, a.approve.len(), a.outcome), (None, 0, Outcome::Waiting));
}

#[test]
fn agreement_labels_the_item_and_moves_its_totals_to_the_job_once() {
    let c = Case::new(
        item(2, 1, vec![recorded("A1", Some("a"), 1)]),
        Some(hit(2, 0, 0)),
        vec![assignment("A2", "a", "Submitted", 2)],
    );
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Labeled("a".into()));
    assert_eq!(a.after, vec![Effect::CompleteIfDone]);
    let w = a.write.unwrap();
    let d = w.decide.unwrap();
    assert_eq!((d.status, d.label.as_deref(), d.agreed, d.release), (ItemStatus::Labeled, Some("a"), 2, Usd::ZERO));
    assert_eq!(d.confidence, Some(1.0));
    assert_eq!(
        w.job,
        JobDelta { decided: 1, labeled: 1, answers: 2, spent: unit().times(2), ..Default::default() },
        "both answers and their cost reach the job in the deciding write"
    );
}

#[test]
fn a_decided_item_with_open_slots_closes_its_hit_first_then_gives_back_what_nobody_holds() {
    // Bought 4 (2 open, 1 accepted), two agree: close the HIT, plan again.
    let open = Case::new(
        item(4, 2, vec![recorded("A1", Some("a"), 1)]),
        Some(hit(4, 1, 1)),
        vec![assignment("A2", "a", "Submitted", 2)],
    );
    let a = open.act();
    assert_eq!((a.after.clone(), a.again, a.outcome), (vec![Effect::Expire], true, Outcome::Waiting));
    assert!(a.write.unwrap().decide.is_none(), "the answer is recorded; the decision waits for the closed HIT");
    // Closed: 2 answered, 1 held, so 1 of 4 goes back.
    let mut closed_hit = hit(4, 1, 0);
    closed_hit.expiration = NOW - 1;
    let closed = Case::new(
        item(4, 2, vec![recorded("A1", Some("a"), 1), recorded("A2", Some("a"), 2)]),
        Some(closed_hit),
        vec![],
    );
    let a = closed.act();
    let w = a.write.unwrap();
    assert_eq!(w.decide.unwrap().release, unit());
    assert_eq!(w.job.reserved, Usd::ZERO - unit());
}

#[test]
fn no_agreement_at_the_cap_is_unresolved() {
    let answers = vec![recorded("A1", Some("a"), 1), recorded("A2", Some("b"), 2), recorded("A3", Some("c"), 3)];
    let c = Case::new(item(4, 3, answers), Some(hit(4, 0, 0)), vec![assignment("A4", "b", "Submitted", 4)]);
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Labeled("b".into()), "the fourth agrees with the second");
    let answers = vec![recorded("A1", Some("a"), 1), recorded("A2", Some("b"), 2), recorded("A3", Some("c"), 3)];
    let c = Case::new(item(4, 3, answers), Some(hit(4, 0, 0)), vec![assignment("A4", "a", "Submitted", 0)]);
    assert_eq!(c.act().outcome, Outcome::Labeled("a".into()), "answers count in submission order");
    let answers = vec![recorded("A1", Some("a"), 1), recorded("A2", Some("b"), 2), recorded("A3", Some("c"), 3)];
    let mut c = Case::new(item(4, 3, answers), Some(hit(4, 0, 0)), vec![]);
    c.assignments = vec![{
        let mut bad = assignment("A4", "x", "Submitted", 4);
        bad.answer = answer_xml("not-a-label");
        bad
    }];
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Unresolved);
    let w = a.write.unwrap();
    assert_eq!(w.job.unresolved, 1);
    assert_eq!(w.decide.unwrap().confidence, Some(0.25), "the best label's share");
}

#[test]
fn late_answers_on_a_decided_item_go_straight_to_the_job() {
    let mut decided = item(2, 1, vec![recorded("A1", Some("a"), 1), recorded("A2", Some("a"), 2)]);
    decided.status = ItemStatus::Labeled;
    let c = Case::new(decided, Some(hit(3, 0, 0)), vec![assignment("A3", "b", "Submitted", 3)]);
    let a = c.act();
    assert_eq!((a.outcome, a.approve.clone()), (Outcome::AlreadyDecided, vec!["A3".to_string()]));
    let w = a.write.unwrap();
    assert_eq!((w.job.answers, w.job.spent, w.decide), (1, unit(), None));
}

#[test]
fn a_reserved_round_that_never_reached_the_marketplace_is_bought_when_the_job_is_active() {
    // Bought 3 (round 2), the HIT still has 2.
    let c = Case::new(
        item(3, 2, vec![recorded("A1", Some("a"), 1), recorded("A2", Some("b"), 2)]),
        Some(hit(2, 0, 0)),
        vec![],
    );
    assert_eq!(c.plan(), Plan::Need(Need::JobStatus));
    let mut active = c;
    active.job_status = Some(JobStatus::Labeling);
    let a = active.act();
    assert_eq!((a.outcome, a.after), (Outcome::Bought(1), vec![Effect::AddAssignments { n: 1, round: 2 }]));
    // A paused job: no purchase; the item waits like any other.
    let mut paused = Case::new(
        item(3, 2, vec![recorded("A1", Some("a"), 1), recorded("A2", Some("b"), 2)]),
        Some(hit(2, 0, 0)),
        vec![],
    );
    paused.job_status = Some(JobStatus::Paused);
    assert!(!paused.act().after.iter().any(|e| matches!(e, Effect::AddAssignments { .. })));
}

#[test]
fn disagreement_reserves_and_buys_one_more_with_the_rounds_token() {
    let c = Case::new(
        item(2, 1, vec![recorded("A1", Some("a"), 1)]),
        Some(hit(2, 0, 0)),
        vec![assignment("A2", "b", "Submitted", 2)],
    );
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Bought(1));
    assert_eq!(a.after, vec![Effect::AddAssignments { n: 1, round: 2 }]);
    let w = a.write.unwrap();
    assert_eq!(w.record.len(), 1, "the answer is recorded in the same write");
    let r = w.reserve.unwrap();
    assert_eq!((r.round, r.assignments, r.cost), (2, 1, unit()));
    assert_eq!((w.job.reserved, w.job.bought), (unit(), 1));
}

#[test]
fn buying_on_an_expired_hit_extends_it_first() {
    let mut expired = hit(2, 0, 0);
    expired.expiration = NOW - 1;
    let c =
        Case::new(item(2, 1, vec![recorded("A1", Some("a"), 1), recorded("A2", Some("b"), 2)]), Some(expired), vec![]);
    let a = c.act();
    let until = NOW + spec().task.lifetime_seconds * 1000;
    assert_eq!(a.after, vec![Effect::Extend { until_ms: until }, Effect::AddAssignments { n: 1, round: 2 }]);
}

#[test]
fn slots_bought_but_never_filled_get_time_not_money() {
    // Bought 2, one answer, the HIT expired with nobody holding the other slot.
    let mut expired = hit(2, 0, 0);
    expired.expiration = NOW - 1;
    let mut c = Case::new(item(2, 1, vec![recorded("A1", Some("a"), 1)]), Some(expired), vec![]);
    assert_eq!(c.plan(), Plan::Need(Need::JobStatus));
    c.job_status = Some(JobStatus::Labeling);
    let a = c.act();
    assert_eq!(a.after, vec![Effect::Extend { until_ms: NOW + spec().task.lifetime_seconds * 1000 }]);
    assert_eq!(a.outcome, Outcome::Waiting);
    c.job_status = Some(JobStatus::Paused);
    assert!(c.act().after.is_empty(), "a paused job's HITs are not kept open");
}

#[test]
fn a_refused_reservation_waits_or_pauses() {
    let mut c = Case::new(
        item(2, 1, vec![recorded("A1", Some("a"), 1)]),
        Some(hit(2, 0, 0)),
        vec![assignment("A2", "b", "Submitted", 2)],
    );
    c.refused = Some(Refusal::JobInactive);
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Waiting);
    let w = a.write.unwrap();
    assert!(w.reserve.is_none() && w.record.len() == 1, "the answer is still recorded");
    c.refused = Some(Refusal::OverBudget { reserved: Usd::from_cents(100), budget: Some(Usd::from_cents(110)) });
    let a = c.act();
    let Outcome::Paused(reason) = &a.outcome else { panic!("{:?}", a.outcome) };
    assert!(reason.contains("$1.00 reserved of $1.10"), "{reason}");
    assert_eq!(a.after, vec![Effect::Pause(reason.clone())]);
}

#[test]
fn a_hit_that_is_gone_cannot_be_bought_on() {
    let c = Case::new(item(2, 1, vec![recorded("A1", Some("a"), 1), recorded("A2", Some("b"), 2)]), None, vec![]);
    assert!(matches!(c.plan(), Plan::Fail(why) if why.contains("no longer exists")));
}

#[test]
fn a_refused_purchase_pauses_unless_it_was_made_before() {
    assert!(refused_purchase(&CreateHitError::InsufficientFunds("no money".into()))
        .unwrap()
        .starts_with("balance: no money"));
    assert_eq!(refused_purchase(&CreateHitError::AlreadyExists(None)), None);
    assert!(refused_purchase(&CreateHitError::Other("x".into())).unwrap().contains("refused more assignments"));
}

#[test]
fn a_gold_item_takes_its_known_label_when_its_answers_are_in_and_buys_nothing_more() {
    // Two answers that disagree would buy a third on an ordinary item.
    let mut gold = item(2, 1, vec![recorded("A1", Some("a"), 1)]);
    gold.values.insert("gold".into(), "c".into());
    let c = Case::new(gold.clone(), Some(hit(2, 0, 0)), vec![assignment("A2", "b", "Submitted", 2)]);
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Labeled("c".into()), "the known label, whatever the workers said");
    let d = a.write.unwrap().decide.unwrap();
    assert_eq!((d.agreed, d.confidence), (0, Some(1.0)));
    let c = Case::new(gold, Some(hit(2, 1, 0)), vec![]);
    assert_eq!(c.act().outcome, Outcome::Waiting, "a worker still holds its second assignment");
}

#[test]
fn a_confidence_job_marks_the_items_it_records_answers_on_for_the_refit() {
    let mut c = Case::new(item(2, 1, vec![]), Some(hit(2, 1, 0)), vec![assignment("A1", "a", "Submitted", 1)]);
    assert!(!c.act().write.unwrap().refit_due, "an agreement job has no model to refit");
    c.spec.consensus = crate::job::ConsensusSpec::confidence();
    assert!(c.act().write.unwrap().refit_due);
    c.assignments.clear();
    assert!(c.act().write.is_none_or(|w| !w.refit_due), "nothing new: nothing to count");
}

#[test]
fn a_block_marks_the_items_the_model_counted_the_worker_on_for_the_refit() {
    // Labeled "a" by W1, W2 and Wbad; the model counted all three.
    let mut c = labeled_by(["W1", "W2"]);
    c.item.answers.push(AnswerRecord { worker_id: "Wbad".into(), ..recorded("3", Some("a"), 3) });
    let counted = ["W1", "W2", "Wbad"].iter().map(|w| (w.to_string(), 0)).collect();
    c.item.model = Some(crate::records::ItemModel { posterior: vec![0.99, 0.01], counted });
    c.spec.consensus = crate::job::ConsensusSpec::confidence();
    assert_eq!(c.act().write, None, "nobody blocked: nothing to write");
    c.blocked.insert("Wbad".into());
    let a = c.act();
    assert_eq!(a.outcome, Outcome::AlreadyDecided, "W1 and W2 still carry the label");
    let w = a.write.expect("a write that marks the item");
    assert!(w.refit_due && w.decide.is_none() && w.reopen.is_none() && w.record.is_empty());
    // Once the refit has taken Wbad out of what the item counts: nothing more.
    let counted = ["W1", "W2"].iter().map(|w| (w.to_string(), 0)).collect();
    c.item.model = Some(crate::records::ItemModel { posterior: vec![0.99, 0.01], counted });
    assert_eq!(c.act().write, None);
}

/// A labeled item: two answers agreed on "a", its HIT done.
fn labeled_by(workers: [&str; 2]) -> Case {
    let mut i = item(2, 1, vec![recorded("1", Some("a"), 1), recorded("2", Some("a"), 2)]);
    for (a, w) in i.answers.iter_mut().zip(workers) {
        a.worker_id = w.into();
    }
    i.status = ItemStatus::Labeled;
    i.label = Some("a".into());
    i.agreed = 2;
    Case::new(i, Some(hit(2, 0, 0)), vec![])
}

#[test]
fn a_blocked_workers_answer_does_not_count_toward_agreement() {
    let mut c = Case::new(item(2, 1, vec![recorded("1", Some("a"), 1)]), Some(hit(2, 0, 0)), vec![]);
    c.item.answers.push(AnswerRecord { worker_id: "Wbad".into(), ..recorded("2", Some("a"), 2) });
    c.blocked.insert("Wbad".into());
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Bought(1), "one valid answer of two: one more, not a label");
    let w = a.write.unwrap();
    assert_eq!(w.reserve.map(|r| (r.round, r.assignments)), Some((2, 1)));
}

#[test]
fn an_item_decided_with_a_blocked_workers_answer_is_reopened_and_bought_on() {
    let mut c = labeled_by(["W1", "Wbad"]);
    c.blocked.insert("Wbad".into());
    c.job_status = Some(JobStatus::Labeling);
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Bought(1));
    let w = a.write.unwrap();
    assert_eq!(
        w.reopen,
        Some(Reopen { was: ItemStatus::Labeled, answers: 2, spent: unit().times(2) }),
        "the old decision comes off the tally"
    );
    assert_eq!(w.version, 7, "at the version read");
    assert!(w.decide.is_none() && w.reserve.is_some());
    let mut item = c.item.clone();
    w.apply_to(&mut item);
    assert_eq!((item.status, item.label.as_deref()), (ItemStatus::Published, None));
}

#[test]
fn an_item_the_blocked_worker_did_not_decide_stays_as_it_is() {
    let mut c = labeled_by(["W1", "W2"]);
    c.blocked.insert("Wbad".into());
    assert_eq!(c.act().outcome, Outcome::AlreadyDecided);
    // Three answers, one blocked: the other two still agree.
    let mut c = labeled_by(["W1", "W2"]);
    c.item.answers.push(AnswerRecord { worker_id: "Wbad".into(), ..recorded("3", Some("b"), 3) });
    c.blocked.insert("Wbad".into());
    let a = c.act();
    assert_eq!((a.outcome, a.write), (Outcome::AlreadyDecided, None), "nothing to write");
}

#[test]
fn a_reopened_item_waits_for_its_unfilled_slot_and_never_gives_back_twice() {
    // Labeled by W1 and Wbad; its third slot was never taken and went back.
    let mut c = labeled_by(["W1", "Wbad"]);
    c.item.bought = 3;
    c.item.released = unit();
    c.hit = Some(HitState { expiration: NOW - 1, ..hit(3, 0, 0) });
    c.blocked.insert("Wbad".into());
    c.job_status = Some(JobStatus::Labeling);
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Waiting, "the slot bought needs time, not money");
    assert!(matches!(a.after.as_slice(), [Effect::Extend { .. }]), "{:?}", a.after);
    assert!(a.write.unwrap().reopen.is_some());
    // Reopened, the third answer agrees: labeled again, nothing more given back.
    let mut i = c.item.clone();
    i.status = ItemStatus::Published;
    i.label = None;
    let mut c = Case::new(i, Some(hit(3, 0, 0)), vec![assignment("3", "a", "Submitted", 3)]);
    c.blocked.insert("Wbad".into());
    let w = c.act().write.unwrap();
    let d = w.decide.unwrap();
    assert_eq!((d.label.as_deref(), d.agreed, d.release), (Some("a"), 2, Usd::ZERO));
    assert_eq!((w.job.decided, w.job.answers, w.job.reserved), (1, 3, Usd::ZERO));
}

/// A confidence job's item labeled "a" by W1 and W2 (the HIT's 2 slots of
/// a cap of 4 filled, closed), at the final check, the model knowing each
/// worker's accuracy as given.
fn at_the_final_check(w1: f64, w2: f64) -> Case {
    let mut c = labeled_by(["W1", "W2"]);
    c.spec = JobSpec::parse(
        r#"{"labels": ["a", "b", "c"], "consensus": {"method": "confidence", "target": 0.9, "max_assignments": 4}}"#,
    )
    .unwrap();
    c.item.confidence = Some(0.95);
    c.hit = Some(HitState { expiration: NOW - 1, ..hit(2, 0, 0) });
    c.job_status = Some(JobStatus::Labeling);
    c.final_check = true;
    for (w, accuracy) in [("W1", w1), ("W2", w2)] {
        let e = WorkerEstimate { worker_id: w.into(), answers: 40, accuracy, ..Default::default() };
        c.workers.insert(w.into(), e);
    }
    c
}

#[test]
fn the_final_check_buys_on_for_a_label_the_model_now_doubts() {
    // Known now for coin-tossers: two of them agreeing is not 90 % sure.
    let c = at_the_final_check(0.4, 0.4);
    let a = c.act();
    assert_eq!(a.outcome, Outcome::Bought(1));
    let w = a.write.unwrap();
    assert_eq!(w.reopen.map(|r| r.was), Some(ItemStatus::Labeled), "the label comes off the tally");
    assert_eq!(w.reserve.map(|r| (r.round, r.assignments)), Some((2, 1)));
    assert!(matches!(a.after.as_slice(), [Effect::Extend { .. }, Effect::AddAssignments { n: 1, round: 2 }]));
}

#[test]
fn the_final_check_leaves_a_label_that_stands_and_one_at_its_cap() {
    let c = at_the_final_check(0.95, 0.9);
    assert_eq!(c.act().outcome, Outcome::AlreadyDecided);
    // At its cap, a doubted label stays: the cap is the most an item costs.
    let mut c = at_the_final_check(0.4, 0.4);
    c.item.bought = 4;
    c.hit = Some(HitState { expiration: NOW - 1, ..hit(4, 0, 0) });
    assert_eq!(c.act().outcome, Outcome::AlreadyDecided);
    // An unresolved item and one not at the check are not looked at.
    let mut c = at_the_final_check(0.4, 0.4);
    c.item.status = ItemStatus::Unresolved;
    c.item.label = None;
    assert_eq!(c.act().outcome, Outcome::AlreadyDecided);
    let mut c = at_the_final_check(0.4, 0.4);
    c.final_check = false;
    assert_eq!(c.act().outcome, Outcome::AlreadyDecided);
}

#[test]
fn the_final_check_never_buys_past_the_budget() {
    let mut c = at_the_final_check(0.4, 0.4);
    c.refused = Some(Refusal::OverBudget { reserved: Usd::from_cents(100), budget: Some(Usd::from_cents(100)) });
    let a = c.act();
    assert!(matches!(a.outcome, Outcome::Paused(_)), "{:?}", a.outcome);
    assert!(a.write.unwrap().reserve.is_none());
}

#[test]
fn a_gold_items_answers_add_to_their_workers_gold_records() {
    let mut c = Case::new(item(2, 1, vec![]), Some(hit(2, 0, 0)), vec![]);
    c.item.values.insert("gold".into(), "b".into());
    c.assignments = vec![assignment("1", "b", "Submitted", 1), assignment("2", "c", "Submitted", 2)];
    let w = c.act().write.unwrap();
    assert_eq!(
        w.gold,
        vec![
            GoldTally { worker_id: "W1".into(), answers: 1, correct: 1 },
            GoldTally { worker_id: "W2".into(), answers: 1, correct: 0 }
        ]
    );
    let mut c = Case::new(item(2, 1, vec![]), Some(hit(2, 0, 0)), vec![assignment("1", "b", "Submitted", 1)]);
    c.hit = Some(hit(2, 0, 1));
    assert!(c.act().write.unwrap().gold.is_empty(), "an ordinary item adds to nobody's gold record");
}
