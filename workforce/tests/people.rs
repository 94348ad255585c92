//! The people who work, through the SDK: revoking a qualification and who
//! holds a type (ListWorkersWithQualificationType), the bonuses paid
//! (ListBonusPayments), messages (NotifyWorkers), and what each worker did
//! and is owed (`Engine::worker_figures`, what "My work" and `hitloop
//! workforce workers` show). On both stores.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use aws_sdk_mturk::operation::disassociate_qualification_from_worker::DisassociateQualificationFromWorkerError;
use aws_sdk_mturk::types::{Comparator, QualificationRequirement, QualificationStatus, QualificationTypeStatus};
use common::*;
use hitloop_core::money::Usd;
use hitloop_workforce::figures::Window;

const WORKER_1: &str = "A1PEOPLETEST01";
const WORKER_2: &str = "A2PEOPLETEST02";
const WORKER_3: &str = "A3PEOPLETEST03";

async fn qualification_type(s: &Service, name: &str, auto_granted: bool) -> String {
    s.mturk
        .create_qualification_type()
        .name(name)
        .description("who may label")
        .qualification_type_status(QualificationTypeStatus::Active)
        .auto_granted(auto_granted)
        .send()
        .await
        .unwrap()
        .qualification_type
        .unwrap()
        .qualification_type_id
        .unwrap()
}

async fn grant(s: &Service, type_id: &str, worker: &str, value: i32) {
    s.mturk
        .associate_qualification_with_worker()
        .qualification_type_id(type_id)
        .worker_id(worker)
        .integer_value(value)
        .send()
        .await
        .unwrap();
}

async fn holders(s: &Service, type_id: &str, status: Option<QualificationStatus>, page: i32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let r = s
            .mturk
            .list_workers_with_qualification_type()
            .qualification_type_id(type_id)
            .set_status(status.clone())
            .max_results(page)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(r.qualifications().len() <= page as usize);
        for q in r.qualifications() {
            out.push((q.worker_id().unwrap().to_string(), q.status().unwrap().as_str().to_string()));
        }
        token = r.next_token;
        if token.is_none() {
            return out;
        }
    }
}

#[tokio::test]
async fn a_revoked_qualification_is_listed_as_revoked_and_no_longer_lets_its_worker_work() {
    let s = frozen().await;
    let expert = qualification_type(&s, "Iris expert", false).await;
    grant(&s, &expert, WORKER_1, 90).await;
    grant(&s, &expert, WORKER_2, 95).await;
    grant(&s, &expert, WORKER_3, 80).await;
    s.mturk
        .disassociate_qualification_from_worker()
        .qualification_type_id(&expert)
        .worker_id(WORKER_2)
        .reason("labels at random")
        .send()
        .await
        .unwrap();

    let granted = holders(&s, &expert, Some(QualificationStatus::Granted), 1).await;
    assert_eq!(granted, [(WORKER_1.into(), "Granted".into()), (WORKER_3.into(), "Granted".into())], "in pages of one");
    assert_eq!(
        holders(&s, &expert, Some(QualificationStatus::Revoked), 10).await,
        [(WORKER_2.into(), "Revoked".into())]
    );
    assert_eq!(holders(&s, &expert, None, 2).await.len(), 3);

    let requirement = QualificationRequirement::builder()
        .qualification_type_id(&expert)
        .comparator(Comparator::GreaterThanOrEqualTo)
        .integer_values(80)
        .build()
        .unwrap();
    let hit = s.hit_requiring(requirement).await;
    let id = hit.as_str();
    assert!(s.accept(id, WORKER_2).await.is_err(), "revoked: may not work");
    s.accept(id, WORKER_1).await.expect("still granted");

    let code = turk_code!(
        s.mturk
            .disassociate_qualification_from_worker()
            .qualification_type_id(&expert)
            .worker_id(WORKER_2)
            .send()
            .await,
        DisassociateQualificationFromWorkerError
    );
    assert_eq!(code, "AWS.MechanicalTurk.QualificationDoesNotExist", "revoking twice");

    // An auto-granted type revoked from a worker is not granted again.
    let open = qualification_type(&s, "Anyone", true).await;
    s.mturk
        .disassociate_qualification_from_worker()
        .qualification_type_id(&open)
        .worker_id(WORKER_3)
        .send()
        .await
        .unwrap();
    assert_eq!(holders(&s, &open, Some(QualificationStatus::Revoked), 10).await, [(WORKER_3.into(), "Revoked".into())]);
    let requirement = QualificationRequirement::builder()
        .qualification_type_id(&open)
        .comparator(Comparator::Exists)
        .build()
        .unwrap();
    let hit = s.hit_requiring(requirement).await;
    assert!(s.accept(&hit, WORKER_3).await.is_err());
    s.accept(&hit, WORKER_2).await.expect("auto-granted to everyone else");
}

#[tokio::test]
async fn bonus_payments_are_listed_by_assignment_and_by_hit_in_pages() {
    let s = frozen().await;
    let hit = s.hit(3, "0.10").await;
    let id = hit.hit_id().unwrap();
    let a1 = s.work(id, WORKER_1, "setosa").await;
    let a2 = s.work(id, WORKER_2, "setosa").await;
    let a3 = s.work(id, WORKER_3, "setosa").await;
    for a in [&a1, &a2, &a3] {
        s.mturk.approve_assignment().assignment_id(a).send().await.unwrap();
    }
    for (worker, a, amount) in [(WORKER_1, &a1, "0.25"), (WORKER_1, &a1, "0.50"), (WORKER_3, &a3, "1.00")] {
        s.mturk
            .send_bonus()
            .worker_id(worker)
            .assignment_id(a)
            .bonus_amount(amount)
            .reason("careful work")
            .send()
            .await
            .unwrap();
        s.advance(1.0).await;
    }
    // A bonus on another HIT is never listed with this one.
    let other = s.hit(1, "0.10").await;
    let a4 = s.work(other.hit_id().unwrap(), WORKER_1, "x").await;
    s.mturk.approve_assignment().assignment_id(&a4).send().await.unwrap();
    s.mturk
        .send_bonus()
        .worker_id(WORKER_1)
        .assignment_id(&a4)
        .bonus_amount("9.00")
        .reason("other")
        .send()
        .await
        .unwrap();

    let mut by_hit = Vec::new();
    let mut token = None;
    loop {
        let r = s.mturk.list_bonus_payments().hit_id(id).max_results(2).set_next_token(token).send().await.unwrap();
        assert!(r.num_results().unwrap() <= 2);
        by_hit.extend(r.bonus_payments().iter().map(|b| {
            (
                b.worker_id().unwrap().to_string(),
                b.assignment_id().unwrap().to_string(),
                b.bonus_amount().unwrap().to_string(),
            )
        }));
        token = r.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        by_hit,
        [
            (WORKER_1.to_string(), a1.clone(), "0.25".to_string()),
            (WORKER_1.to_string(), a1.clone(), "0.50".to_string()),
            (WORKER_3.to_string(), a3.clone(), "1.00".to_string()),
        ],
        "oldest first, each once"
    );
    let by_assignment = s.mturk.list_bonus_payments().assignment_id(&a3).send().await.unwrap();
    assert_eq!(by_assignment.bonus_payments().len(), 1);
    assert_eq!(by_assignment.bonus_payments()[0].reason(), Some("careful work"));
    assert!(by_assignment.bonus_payments()[0].grant_time().is_some());
    assert!(s.mturk.list_bonus_payments().assignment_id(&a2).send().await.unwrap().bonus_payments().is_empty());

    let (code, _) = code_and_message(s.mturk.list_bonus_payments().send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError", "neither HITId nor AssignmentId");
    let (code, _) =
        code_and_message(s.mturk.list_bonus_payments().hit_id(id).assignment_id(&a1).send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError", "both");
}

#[tokio::test]
async fn messages_reach_the_workers_who_worked_here_and_others_are_failure_statuses() {
    let s = frozen().await;
    let hit = s.hit(1, "0.10").await;
    s.work(hit.hit_id().unwrap(), WORKER_1, "setosa").await;
    let r = s
        .mturk
        .notify_workers()
        .subject("New batch tomorrow")
        .message_text("500 irises from 9am. Thank you!")
        .worker_ids(WORKER_1)
        .worker_ids(WORKER_2)
        .worker_ids("not a worker")
        .send()
        .await
        .unwrap();
    let mut failed: Vec<(String, String)> = r
        .notify_workers_failure_statuses()
        .iter()
        .map(|f| (f.worker_id().unwrap().to_string(), f.notify_workers_failure_code().unwrap().as_str().to_string()))
        .collect();
    failed.sort();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0], (WORKER_2.to_string(), "HardFailure".to_string()), "never worked here");
    assert_eq!(failed[1].1, "HardFailure", "not a worker id");

    let engine = &s.running.shared.engine;
    let messages = engine.worker_messages(WORKER_1).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        (messages[0].subject.as_str(), messages[0].text.as_str()),
        ("New batch tomorrow", "500 irises from 9am. Thank you!")
    );
    assert!(engine.worker_messages(WORKER_2).await.unwrap().is_empty());

    let (code, _) = code_and_message(s.mturk.notify_workers().subject("s").message_text("t").send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError", "no workers");
}

#[tokio::test]
async fn a_workers_figures_count_what_they_did_and_are_owed_and_nobody_elses() {
    let s = frozen().await;
    let engine = &s.running.shared.engine;
    let hits: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(s.hit(2, "0.10").await.hit_id.unwrap());
        }
        v
    };
    // WORKER_1: approved after 30 s of work, rejected, awaiting review,
    // returned, abandoned (300 s allotted); a bonus.
    let approved = s.accept(&hits[0], WORKER_1).await.unwrap();
    s.advance(30.0).await;
    s.submit(&approved, &[("label", "setosa")]).await.unwrap();
    s.mturk.approve_assignment().assignment_id(&approved).send().await.unwrap();
    let rejected = s.work(&hits[1], WORKER_1, "setosa").await;
    s.mturk.reject_assignment().assignment_id(&rejected).requester_feedback("random").send().await.unwrap();
    s.work(&hits[2], WORKER_1, "setosa").await;
    let returned = s.accept(&hits[3], WORKER_1).await.unwrap();
    s.return_assignment(&returned).await.unwrap();
    s.accept(&hits[4], WORKER_1).await.unwrap();
    s.mturk
        .send_bonus()
        .worker_id(WORKER_1)
        .assignment_id(&approved)
        .bonus_amount("0.40")
        .reason("fast")
        .send()
        .await
        .unwrap();
    // WORKER_2: one approved.
    let theirs = s.work(&hits[0], WORKER_2, "setosa").await;
    s.mturk.approve_assignment().assignment_id(&theirs).send().await.unwrap();

    let f = engine.worker_figures(WORKER_1, Window::ALL).await.unwrap();
    assert_eq!((f.submitted, f.approved, f.rejected, f.awaiting_review), (3, 1, 1, 1));
    assert_eq!((f.returned, f.abandoned, f.working), (1, 0, 1));
    assert_eq!(f.median_active_ms, Some(0), "two of three submitted at once");
    assert_eq!(f.active_ms, 30_000);
    assert_eq!((f.rewards, f.bonuses, f.earnings()), (Usd::from_cents(10), Usd::from_cents(40), Usd::from_cents(50)));

    s.advance(301.0).await;
    let f = engine.worker_figures(WORKER_1, Window::ALL).await.unwrap();
    assert_eq!((f.abandoned, f.working), (1, 0), "past its deadline");

    let everyone = engine.all_worker_figures(Window::ALL, false).await.unwrap();
    let ids: Vec<&str> = everyone.iter().map(|f| f.worker_id.as_str()).collect();
    assert_eq!(ids, [WORKER_1, WORKER_2]);
    assert_eq!((everyone[1].approved, everyone[1].earnings()), (1, Usd::from_cents(10)));

    let later = engine.now_ms();
    let none = engine.all_worker_figures(Window { from_ms: later, to_ms: later + 1_000 }, true).await.unwrap();
    assert!(none.is_empty(), "nothing happened in that window");
}
