//! Assignments and money through aws-sdk-mturk: approving, rejecting,
//! auto-approval, abandonment, fees, balances and bonuses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use aws_sdk_mturk::operation::approve_assignment::ApproveAssignmentError;
use aws_sdk_mturk::operation::create_hit::CreateHITError;
use aws_sdk_mturk::operation::get_assignment::GetAssignmentError;
use aws_sdk_mturk::operation::reject_assignment::RejectAssignmentError;
use aws_sdk_mturk::types::{AssignmentStatus, HitStatus};
use common::*;
use hitloop_workforce::server::ServerConfig;

#[tokio::test]
async fn a_submitted_assignment_is_listed_read_and_approved_once() {
    let s = frozen().await;
    let id = s.hit(2, "0.05").await.hit_id.unwrap();
    let a = s.accept(&id, WORKER_1).await.unwrap();
    // not visible before submission
    let code = turk_code!(s.mturk.get_assignment().assignment_id(&a).send().await, GetAssignmentError);
    assert_eq!(code, "AWS.MechanicalTurk.AssignmentDoesNotExist");
    assert!(s.mturk.list_assignments_for_hit().hit_id(&id).send().await.unwrap().assignments().is_empty());
    let h = s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap();
    assert_eq!((h.number_of_assignments_pending(), h.number_of_assignments_available()), (Some(1), Some(1)));

    s.submit(&a, &[("label", "Iris-setosa"), ("comment", "<b>&</b>")]).await.unwrap();
    let got = s.mturk.get_assignment().assignment_id(&a).send().await.unwrap();
    let asg = got.assignment.unwrap();
    assert_eq!(asg.assignment_status(), Some(&AssignmentStatus::Submitted));
    assert_eq!(asg.worker_id(), Some(WORKER_1));
    let answer = asg.answer().unwrap();
    assert!(
        answer.contains("<QuestionIdentifier>label</QuestionIdentifier><FreeText>Iris-setosa</FreeText>"),
        "{answer}"
    );
    assert!(answer.contains("&lt;b&gt;&amp;&lt;/b&gt;"), "answers are escaped XML: {answer}");
    let auto = asg.auto_approval_time().unwrap().secs() - asg.submit_time().unwrap().secs();
    assert_eq!(auto, 2_592_000);
    assert_eq!(asg.deadline().unwrap().secs() - asg.accept_time().unwrap().secs(), 300);
    assert_eq!(got.hit.unwrap().hit_id(), Some(id.as_str()));

    s.mturk.approve_assignment().assignment_id(&a).requester_feedback("thanks").send().await.unwrap();
    let code = turk_code!(s.mturk.approve_assignment().assignment_id(&a).send().await, ApproveAssignmentError);
    assert_eq!(code, "AWS.MechanicalTurk.InvalidAssignmentState", "approving twice");
    let (_, message) = code_and_message(s.mturk.approve_assignment().assignment_id(&a).send().await.unwrap_err());
    assert!(message.starts_with("This operation can be called with a status of: Submitted"), "{message}");
    let approved = s.mturk.get_assignment().assignment_id(&a).send().await.unwrap().assignment.unwrap();
    assert_eq!(approved.assignment_status(), Some(&AssignmentStatus::Approved));
    assert!(approved.approval_time().is_some());
    assert_eq!(s.state().await["Stats"]["assignments_approved"], 1);

    let only_submitted = s
        .mturk
        .list_assignments_for_hit()
        .hit_id(&id)
        .assignment_statuses(AssignmentStatus::Submitted)
        .send()
        .await
        .unwrap();
    assert!(only_submitted.assignments().is_empty());
    let h = s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap();
    assert_eq!(h.number_of_assignments_completed(), Some(1));
}

#[tokio::test]
async fn rejection_needs_feedback_costs_nothing_and_can_be_overridden() {
    let s = frozen().await;
    let id = s.hit(1, "0.50").await.hit_id.unwrap();
    let a = s.work(&id, WORKER_1, "junk").await;
    let (code, _) = code_and_message(s.mturk.reject_assignment().assignment_id(&a).send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError", "RequesterFeedback is required to reject");
    s.mturk.reject_assignment().assignment_id(&a).requester_feedback("random answers").send().await.unwrap();
    assert_eq!(s.balance().await, ("10000.00".into(), "0.00".into()), "a rejection is free");
    let code = turk_code!(s.mturk.approve_assignment().assignment_id(&a).send().await, ApproveAssignmentError);
    assert_eq!(code, "AWS.MechanicalTurk.InvalidAssignmentState");
    s.mturk.approve_assignment().assignment_id(&a).override_rejection(true).send().await.unwrap();
    assert_eq!(s.balance().await.0, "9999.40", "$0.50 + $0.10 fee");
}

#[tokio::test]
async fn the_blog_task_costs_eighteen_dollars() {
    let s = frozen().await;
    assert_eq!(s.balance().await, ("10000.00".to_string(), "0.00".to_string()));
    let mut hits = Vec::new();
    for i in 0..150 {
        let hit = s
            .mturk
            .create_hit()
            .max_assignments(2)
            .lifetime_in_seconds(4 * 3600)
            .assignment_duration_in_seconds(300)
            .reward("0.05")
            .title("Classify the iris")
            .description("Which species is this?")
            .question(crowd_question(&format!("https://example.com/iris/{i}.jpg")))
            .send()
            .await
            .unwrap()
            .hit
            .unwrap();
        hits.push(hit.hit_id.unwrap());
    }
    // all liability is on hold up front: 300 x $0.06
    assert_eq!(s.balance().await, ("9982.00".to_string(), "18.00".to_string()));
    for id in &hits {
        for worker in [WORKER_1, WORKER_2] {
            let a = s.work(id, worker, "Iris-setosa").await;
            s.mturk.approve_assignment().assignment_id(&a).send().await.unwrap();
        }
    }
    assert_eq!(s.balance().await, ("9982.00".to_string(), "0.00".to_string()));
    let state = s.state().await;
    assert_eq!(state["Account"]["Spent"], "18.00");
    assert_eq!(state["Stats"]["assignments_approved"], 300);
}

#[tokio::test]
async fn large_hits_pay_forty_percent_and_bonuses_twenty() {
    let s = frozen().await;
    let id = s.hit(10, "1.00").await.hit_id.unwrap();
    assert_eq!(s.balance().await.1, "14.00", "10 x ($1.00 + 40 %)");
    let a = s.work(&id, WORKER_1, "x").await;
    s.mturk.approve_assignment().assignment_id(&a).send().await.unwrap();
    let state = s.state().await;
    assert_eq!(state["Account"]["Spent"], "1.40");
    let bonus = || {
        s.mturk
            .send_bonus()
            .worker_id(WORKER_1)
            .assignment_id(&a)
            .bonus_amount("5")
            .reason("great work")
            .unique_request_token("bonus-1")
            .send()
    };
    bonus().await.unwrap();
    assert_eq!(s.state().await["Account"]["Spent"], "7.40", "bonus $5 + 20 %");
    let (_, message) = code_and_message(bonus().await.unwrap_err());
    assert!(message.contains("has already been processed"), "{message}");
    assert_eq!(s.state().await["Account"]["Spent"], "7.40", "paid once");
    let (code, _) = code_and_message(
        s.mturk
            .send_bonus()
            .worker_id(WORKER_2)
            .assignment_id(&a)
            .bonus_amount("1")
            .reason("r")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ParameterValidationError", "the bonus goes to the assignment's worker");
}

#[tokio::test]
async fn insufficient_funds_refuses_work_that_cannot_be_paid() {
    let s = service(ServerConfig { speed: 0.0, balance: "1.00".parse().unwrap(), ..Default::default() }).await;
    let code = turk_code!(
        s.mturk
            .create_hit()
            .max_assignments(20)
            .lifetime_in_seconds(600)
            .assignment_duration_in_seconds(60)
            .reward("0.05")
            .title("T")
            .description("D")
            .question(plain_question("x"))
            .send()
            .await,
        CreateHITError
    );
    assert_eq!(code, "AWS.MechanicalTurk.InsufficientFunds");
    // 8 x ($0.10 + $0.02) = $0.96 fits; one more assignment does not
    let id = s.hit(8, "0.10").await.hit_id.unwrap();
    assert_eq!(s.balance().await, ("0.04".into(), "0.96".into()));
    let (code, _) = code_and_message(
        s.mturk
            .create_additional_assignments_for_hit()
            .hit_id(&id)
            .number_of_additional_assignments(1)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "RequestError");
    assert_eq!(s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap().max_assignments(), Some(8));
}

#[tokio::test]
async fn auto_approval_pays_at_submit_time_plus_delay() {
    let s = frozen().await;
    let id = s
        .mturk
        .create_hit()
        .max_assignments(1)
        .lifetime_in_seconds(600)
        .assignment_duration_in_seconds(60)
        .auto_approval_delay_in_seconds(120)
        .reward("0.10")
        .title("T")
        .description("D")
        .question(plain_question("x"))
        .send()
        .await
        .unwrap()
        .hit
        .unwrap()
        .hit_id
        .unwrap();
    let a = s.work(&id, WORKER_1, "x").await;
    s.advance(119.0).await;
    let status = |s: &Service| {
        let a = a.clone();
        let c = s.mturk.clone();
        async move {
            c.get_assignment().assignment_id(a).send().await.unwrap().assignment.unwrap().assignment_status().cloned()
        }
    };
    assert_eq!(status(&s).await, Some(AssignmentStatus::Submitted));
    s.advance(2.0).await;
    assert_eq!(status(&s).await, Some(AssignmentStatus::Approved));
    assert_eq!(s.balance().await, ("9999.88".into(), "0.00".into()));
    assert_eq!(s.state().await["Stats"]["assignments_auto_approved"], 1);
}

#[tokio::test]
async fn returned_and_abandoned_assignments_reopen_their_slot() {
    let s = frozen().await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    let a = s.accept(&id, WORKER_1).await.unwrap();
    let h = s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap();
    assert_eq!(h.hit_status(), Some(&HitStatus::Unassignable));
    s.return_assignment(&a).await.unwrap();
    let h = s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap();
    assert_eq!((h.hit_status(), h.number_of_assignments_available()), (Some(&HitStatus::Assignable), Some(1)));

    let b = s.accept(&id, WORKER_2).await.unwrap();
    s.advance(301.0).await; // past the 300 s assignment duration
    assert!(s.submit(&b, &[("label", "late")]).await.is_err(), "too late to submit");
    let h = s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap();
    assert_eq!((h.hit_status(), h.number_of_assignments_pending()), (Some(&HitStatus::Assignable), Some(0)));
    assert!(s.mturk.list_assignments_for_hit().hit_id(&id).send().await.unwrap().assignments().is_empty());
    s.work(&id, WORKER_3, "on time").await;
    assert_eq!(s.balance().await.1, "0.06", "one submitted, unpaid assignment on hold");
}

/// (status, pending, available) as GetHIT answers now.
async fn counts(s: &Service, id: &str) -> (HitStatus, i32, i32) {
    let h = s.mturk.get_hit().hit_id(id).send().await.unwrap().hit.unwrap();
    let n = |v: Option<i32>| v.unwrap();
    (h.hit_status().unwrap().clone(), n(h.number_of_assignments_pending()), n(h.number_of_assignments_available()))
}

#[tokio::test]
async fn an_overdue_assignment_gives_its_slot_back_before_any_pass_records_it() {
    let s = frozen_between_passes().await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    let late = s.accept(&id, WORKER_1).await.unwrap();
    assert_eq!(counts(&s, &id).await, (HitStatus::Unassignable, 1, 0));
    // The 300 s are up; no pass has run.
    s.running.shared.clock.advance_ms(300_000);
    assert_eq!(counts(&s, &id).await, (HitStatus::Assignable, 0, 1), "read from the stored deadline");
    assert_eq!(s.balance().await.1, "0.06", "the slot is held once, not twice");
    assert!(s.submit(&late, &[("label", "late")]).await.is_err(), "its time is up at the deadline");
    // Another worker takes the slot: that commit records the abandonment too.
    let emitted = s.running.shared.engine.stats().events_emitted;
    let next = s.accept(&id, WORKER_2).await.unwrap();
    assert_eq!(counts(&s, &id).await, (HitStatus::Unassignable, 1, 0));
    assert_eq!(s.running.shared.engine.stats().events_emitted, emitted + 2, "AssignmentAbandoned, AssignmentAccepted");
    // The pass finds nothing left to do for it.
    s.running.shared.pass().await.unwrap();
    assert_eq!(s.running.shared.engine.stats().events_emitted, emitted + 2);
    s.submit(&next, &[("label", "on time")]).await.unwrap();
    assert_eq!(counts(&s, &id).await, (HitStatus::Reviewable, 0, 0));
}

#[tokio::test]
async fn an_expired_hit_reads_expired_and_can_be_deleted_before_any_pass() {
    let s = frozen_between_passes().await;
    let id = s.hit(2, "0.05").await.hit_id.unwrap();
    s.work(&id, WORKER_1, "cat").await;
    s.running.shared.clock.advance_ms(3_600_000);
    // One submitted, one slot that can no longer be taken.
    assert_eq!(counts(&s, &id).await, (HitStatus::Reviewable, 0, 0));
    // The account is what the last commit left: the lapsed slot stays held
    // (never less than is owed) until a commit records the expiry.
    assert_eq!(s.balance().await.1, "0.12");
    let refused = s.accept(&id, WORKER_2).await.unwrap_err();
    assert!(refused.to_string().contains("Reviewable"), "{refused}");
    let listed = s.mturk.list_assignments_for_hit().hit_id(&id).send().await.unwrap();
    let a = listed.assignments()[0].assignment_id().unwrap().to_string();
    let emitted = s.running.shared.engine.stats().events_emitted;
    s.mturk.approve_assignment().assignment_id(&a).send().await.unwrap();
    // The first commit on the HIT after its expiry records it, in order:
    // HITExpired, then HITReviewable (with AssignmentApproved); the lapsed
    // slot's hold goes back.
    assert_eq!(s.running.shared.engine.stats().events_emitted, emitted + 3);
    assert_eq!(s.balance().await, ("9999.94".to_string(), "0.00".to_string()));
    s.mturk.delete_hit().hit_id(&id).send().await.unwrap();
    assert_eq!(s.running.shared.engine.stats().events_emitted, emitted + 4, "HITDisposed");
    s.running.shared.pass().await.unwrap();
    assert_eq!(s.running.shared.engine.stats().events_emitted, emitted + 4, "nothing left for the pass");
}

#[tokio::test]
async fn a_due_auto_approval_reads_approved_before_the_pass_pays_it() {
    let s = frozen_between_passes().await;
    let created = s
        .mturk
        .create_hit()
        .max_assignments(1)
        .lifetime_in_seconds(3600)
        .assignment_duration_in_seconds(300)
        .auto_approval_delay_in_seconds(60)
        .reward("0.05")
        .title("Label a flower")
        .description("Pick the species")
        .question(plain_question("flower-1"))
        .send()
        .await
        .unwrap();
    let id = created.hit.unwrap().hit_id.unwrap();
    let a = s.work(&id, WORKER_1, "setosa").await;
    s.running.shared.clock.advance_ms(60_000);
    let read = s.mturk.get_assignment().assignment_id(&a).send().await.unwrap().assignment.unwrap();
    assert_eq!(read.assignment_status(), Some(&AssignmentStatus::Approved), "approved from its auto-approval time");
    assert_eq!(read.approval_time(), read.auto_approval_time());
    let listed = |status: AssignmentStatus| {
        let s = &s;
        let id = id.clone();
        async move {
            let page = s.mturk.list_assignments_for_hit().hit_id(&id).assignment_statuses(status).send().await.unwrap();
            page.assignments().len()
        }
    };
    assert_eq!((listed(AssignmentStatus::Submitted).await, listed(AssignmentStatus::Approved).await), (0, 1));
    // Refused as for any approved assignment.
    let approve = turk_code!(s.mturk.approve_assignment().assignment_id(&a).send().await, ApproveAssignmentError);
    let reject = turk_code!(
        s.mturk.reject_assignment().assignment_id(&a).requester_feedback("no").send().await,
        RejectAssignmentError
    );
    assert_eq!(
        (approve.as_str(), reject.as_str()),
        ("AWS.MechanicalTurk.InvalidAssignmentState", "AWS.MechanicalTurk.InvalidAssignmentState")
    );
    // The money moves when the approval is recorded (the pass): AvailableBalance
    // already excludes it, OnHoldBalance still shows it until then.
    assert_eq!(s.balance().await, ("9999.94".to_string(), "0.06".to_string()));
    let emitted = s.running.shared.engine.stats().events_emitted;
    s.running.shared.pass().await.unwrap();
    assert_eq!(s.running.shared.engine.stats().events_emitted, emitted + 1, "AssignmentApproved, once");
    assert_eq!(s.balance().await, ("9999.94".to_string(), "0.00".to_string()));
    let recorded = s.mturk.get_assignment().assignment_id(&a).send().await.unwrap().assignment.unwrap();
    assert_eq!(recorded.approval_time(), read.approval_time(), "recorded as it was read");
}

#[tokio::test]
async fn assignments_page_with_next_token() {
    let s = frozen().await;
    let id = s.hit(9, "0.01").await.hit_id.unwrap();
    let mut made = Vec::new();
    for i in 0..9 {
        made.push(s.work(&id, &format!("A{i}PAGEWORKER"), "x").await);
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page =
            s.mturk.list_assignments_for_hit().hit_id(&id).max_results(4).set_next_token(token).send().await.unwrap();
        seen.extend(page.assignments().iter().map(|a| a.assignment_id().unwrap().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, made);
}
