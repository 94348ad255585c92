//! HIT types and HITs through aws-sdk-mturk: creation, validation, reading,
//! pagination, idempotency, expiry, review status and disposal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use aws_sdk_mturk::operation::create_additional_assignments_for_hit::CreateAdditionalAssignmentsForHITError;
use aws_sdk_mturk::operation::create_hit::CreateHITError;
use aws_sdk_mturk::operation::delete_hit::DeleteHITError;
use aws_sdk_mturk::operation::get_hit::GetHITError;
use aws_sdk_mturk::operation::update_hit_review_status::UpdateHITReviewStatusError;
use aws_sdk_mturk::primitives::DateTime;
use aws_sdk_mturk::types::{Comparator, HitStatus, Locale, QualificationRequirement};
use common::*;

#[tokio::test]
async fn creates_reads_and_lists_hits() {
    let s = frozen().await;
    let hit = s.hit(2, "0.05").await;
    let id = hit.hit_id().unwrap();
    assert_eq!(id.len(), 30);
    assert_eq!(hit.hit_status(), Some(&HitStatus::Assignable));
    assert_eq!(hit.reward(), Some("0.05"));
    assert_eq!(hit.max_assignments(), Some(2));
    assert_eq!(hit.number_of_assignments_available(), Some(2));
    assert_eq!(hit.auto_approval_delay_in_seconds(), Some(2_592_000), "the 30-day default");
    let lifetime = hit.expiration().unwrap().secs() - hit.creation_time().unwrap().secs();
    assert_eq!(lifetime, 3600);
    assert_ne!(hit.hit_type_id(), hit.hit_group_id());

    let got = s.mturk.get_hit().hit_id(id).send().await.unwrap().hit.unwrap();
    assert_eq!(got.question(), Some(plain_question("flower-1").as_str()));

    let code = turk_code!(s.mturk.get_hit().hit_id("3NOSUCHHIT000000000000000000000").send().await, GetHITError);
    assert_eq!(code, "AWS.MechanicalTurk.HITDoesNotExist");
}

#[tokio::test]
async fn hit_types_are_deduplicated_on_their_attributes() {
    let s = frozen().await;
    let make = |reward: &'static str| {
        s.mturk.create_hit_type().title("T").description("D").reward(reward).assignment_duration_in_seconds(300).send()
    };
    let a = make("0.05").await.unwrap().hit_type_id.unwrap();
    let b = make("0.05").await.unwrap().hit_type_id.unwrap();
    let c = make("0.06").await.unwrap().hit_type_id.unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    // CreateHIT with the same attributes lands in the same type
    let hit = s
        .mturk
        .create_hit()
        .title("T")
        .description("D")
        .reward("0.05")
        .assignment_duration_in_seconds(300)
        .auto_approval_delay_in_seconds(2_592_000)
        .lifetime_in_seconds(600)
        .question(plain_question("x"))
        .send()
        .await
        .unwrap()
        .hit
        .unwrap();
    assert_eq!(hit.hit_type_id(), Some(a.as_str()));
    let with_type = s
        .mturk
        .create_hit_with_hit_type()
        .hit_type_id(&c)
        .lifetime_in_seconds(600)
        .max_assignments(3)
        .question(plain_question("y"))
        .send()
        .await
        .unwrap()
        .hit
        .unwrap();
    assert_eq!(with_type.hit_type_id(), Some(c.as_str()));
    assert_eq!(with_type.reward(), Some("0.06"));
}

#[tokio::test]
async fn create_hit_validates_like_the_real_service() {
    let s = frozen().await;
    let base = || {
        s.mturk
            .create_hit()
            .title("T")
            .description("D")
            .reward("0.05")
            .lifetime_in_seconds(600)
            .assignment_duration_in_seconds(300)
            .question(plain_question("x"))
    };
    let cases = [
        ("no title", base().set_title(None).send().await.map(|_| ())),
        ("reward with 3 decimals", base().reward("0.055").send().await.map(|_| ())),
        ("lifetime below 30 s", base().lifetime_in_seconds(29).send().await.map(|_| ())),
        ("lifetime over a year", base().lifetime_in_seconds(31_536_001).send().await.map(|_| ())),
        ("auto-approval over 30 days", base().auto_approval_delay_in_seconds(2_592_001).send().await.map(|_| ())),
        ("zero assignments", base().max_assignments(0).send().await.map(|_| ())),
        ("title over 128", base().title("x".repeat(129)).send().await.map(|_| ())),
        ("annotation over 255", base().requester_annotation("x".repeat(256)).send().await.map(|_| ())),
        ("no question", base().set_question(None).send().await.map(|_| ())),
        ("token over 64", base().unique_request_token("t".repeat(65)).send().await.map(|_| ())),
    ];
    for (what, result) in cases {
        let (code, message) = code_and_message(result.expect_err(what));
        assert_eq!(code, "ParameterValidationError", "{what}: {message}");
        assert!(message.ends_with(')'), "messages end with (<epoch ms>): {message}");
    }

    let big = format!(
        r#"<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><![CDATA[{}]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"#,
        "x".repeat(65_536)
    );
    let (code, message) = code_and_message(base().question(big).send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError");
    assert!(message.contains("65535"), "{message}");

    for bad in [
        "<HTMLQuestion><HTMLContent>x</HTMLContent>".to_string(),
        r#"<HTMLQuestion xmlns="urn:wrong"><HTMLContent>x</HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"#
            .to_string(),
        "<Question>plain</Question>".to_string(),
    ] {
        let code = turk_code!(base().question(bad).send().await, CreateHITError);
        assert_eq!(code, "AWS.MechanicalTurk.XMLParseError");
    }

    let too_many: Vec<_> = (0..11)
        .map(|_| {
            QualificationRequirement::builder()
                .qualification_type_id("000000000000000000L0")
                .comparator(Comparator::GreaterThan)
                .integer_values(90)
                .build()
                .unwrap()
        })
        .collect();
    let (code, _) = code_and_message(base().set_qualification_requirements(Some(too_many)).send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError");

    let locale = QualificationRequirement::builder()
        .qualification_type_id("00000000000000000071")
        .comparator(Comparator::In)
        .locale_values(Locale::builder().country("US").build().unwrap())
        .locale_values(Locale::builder().country("CA").build().unwrap())
        .build()
        .unwrap();
    let ok = base().qualification_requirements(locale).send().await.unwrap().hit.unwrap();
    assert_eq!(ok.qualification_requirements().len(), 1);
    assert_eq!(s.state().await["Stats"]["hits_created"], 1, "no invalid request created a HIT");
}

#[tokio::test]
async fn a_duplicate_unique_request_token_names_the_original_hit() {
    let s = frozen().await;
    let create = || {
        s.mturk
            .create_hit()
            .title("T")
            .description("D")
            .reward("0.05")
            .lifetime_in_seconds(600)
            .assignment_duration_in_seconds(300)
            .question(plain_question("x"))
            .unique_request_token("job-1/item-7")
            .send()
    };
    let first = create().await.unwrap().hit.unwrap();
    let err = create().await.expect_err("a duplicate token is refused");
    let service = err.into_service_error();
    let CreateHITError::RequestError(e) = service else { panic!("{service:?}") };
    assert_eq!(e.turk_error_code(), Some("AWS.MechanicalTurk.HitAlreadyExists"));
    assert!(e.message().unwrap().contains(first.hit_id().unwrap()), "{:?}", e.message());
    assert_eq!(s.state().await["Stats"]["hits_created"], 1);
    // After 24 hours the token may be used again (and creates a second HIT).
    s.advance(24.0 * 3600.0 + 1.0).await;
    assert!(create().await.is_ok());
}

#[tokio::test]
async fn pages_through_hits_with_next_token() {
    let s = frozen().await;
    let mut created = Vec::new();
    for _ in 0..23 {
        created.push(s.hit(1, "0.01").await.hit_id.unwrap());
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = s.mturk.list_hits().max_results(10).set_next_token(token).send().await.unwrap();
        assert_eq!(page.num_results(), Some(page.hits().len() as i32));
        seen.extend(page.hits().iter().map(|h| h.hit_id().unwrap().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, created, "every HIT once, in creation order");
    // the SDK paginator agrees
    let pages: Vec<_> = s.mturk.list_hits().max_results(7).into_paginator().send().collect::<Vec<_>>().await;
    let total: usize = pages.into_iter().map(|p| p.unwrap().hits().len()).sum();
    assert_eq!(total, 23);
    let (code, _) = code_and_message(s.mturk.list_hits().max_results(101).send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError");
    let (code, _) = code_and_message(s.mturk.list_hits().next_token("forged").send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError");
}

#[tokio::test]
async fn pages_run_across_months_with_none_in_between() {
    // The DynamoDB store lists HITs one month partition at a time: a page
    // may end in one month and the next start two months later.
    let s = frozen().await;
    let mut created = Vec::new();
    for i in 0..25 {
        if i == 10 {
            s.advance(62.0 * 24.0 * 3600.0).await;
        }
        let hit = s
            .mturk
            .create_hit()
            .max_assignments(1)
            .lifetime_in_seconds(365 * 24 * 3600)
            .assignment_duration_in_seconds(300)
            .reward("0.01")
            .title("Label a flower")
            .description("Pick the species")
            .question(plain_question("flower"))
            .send()
            .await
            .unwrap();
        created.push(hit.hit.unwrap().hit_id.unwrap());
    }
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = s.mturk.list_hits().max_results(10).set_next_token(token).send().await.unwrap();
        seen.extend(page.hits().iter().map(|h| h.hit_id().unwrap().to_string()));
        pages += 1;
        token = page.next_token().map(str::to_string);
        if token.is_none() || pages > 5 {
            break;
        }
    }
    assert_eq!(seen, created, "every HIT once, oldest first");
    assert!(pages <= 4, "{pages} pages for 25 HITs");
}

#[tokio::test]
async fn expiry_makes_a_hit_reviewable_and_extension_reopens_it() {
    let s = frozen().await;
    let hit = s.hit(2, "0.05").await;
    let id = hit.hit_id().unwrap();
    s.work(id, WORKER_1, "setosa").await;
    s.advance(3601.0).await;
    let h = s.mturk.get_hit().hit_id(id).send().await.unwrap().hit.unwrap();
    assert_eq!(h.hit_status(), Some(&HitStatus::Reviewable));
    assert_eq!(h.number_of_assignments_available(), Some(0));
    let reviewable = s.mturk.list_reviewable_hits().send().await.unwrap();
    assert_eq!(reviewable.hits().len(), 1);
    // an expired HIT cannot be accepted
    assert!(s.accept(id, WORKER_2).await.is_err());

    // extend: a shorter future time is refused, then a later one works
    let now = h.expiration().unwrap().secs() + 1;
    let (code, message) = code_and_message(
        s.mturk
            .update_expiration_for_hit()
            .hit_id(id)
            .expire_at(DateTime::from_secs(now + 30))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ParameterValidationError");
    assert!(message.contains("ExpirationIncrementInSeconds"), "{message}");
    let later = DateTime::from_secs(now + 3600);
    s.mturk.update_expiration_for_hit().hit_id(id).expire_at(later).send().await.unwrap();
    let (_, message) =
        code_and_message(s.mturk.update_expiration_for_hit().hit_id(id).expire_at(later).send().await.unwrap_err());
    assert!(message.contains("has already been processed"), "the same ExpireAt twice: {message}");
    let h = s.mturk.get_hit().hit_id(id).send().await.unwrap().hit.unwrap();
    assert_eq!(h.hit_status(), Some(&HitStatus::Assignable));
    assert_eq!(h.number_of_assignments_available(), Some(1));
    s.work(id, WORKER_2, "setosa").await;

    // expire now with 0
    let other = s.hit(1, "0.05").await;
    let oid = other.hit_id().unwrap();
    s.mturk.update_expiration_for_hit().hit_id(oid).expire_at(DateTime::from_secs(0)).send().await.unwrap();
    let o = s.mturk.get_hit().hit_id(oid).send().await.unwrap().hit.unwrap();
    assert_eq!(o.hit_status(), Some(&HitStatus::Reviewable));
}

#[tokio::test]
async fn review_status_moves_between_reviewable_and_reviewing() {
    let s = frozen().await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    let code = turk_code!(s.mturk.update_hit_review_status().hit_id(&id).send().await, UpdateHITReviewStatusError);
    assert_eq!(code, "AWS.MechanicalTurk.InvalidHITState", "Assignable cannot go to Reviewing");
    s.work(&id, WORKER_1, "a").await;
    s.mturk.update_hit_review_status().hit_id(&id).send().await.unwrap();
    let status = |h: aws_sdk_mturk::types::Hit| h.hit_status().cloned();
    assert_eq!(status(s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap()), Some(HitStatus::Reviewing));
    let listed = s.mturk.list_reviewable_hits().status("Reviewing".into()).send().await.unwrap();
    assert_eq!(listed.hits().len(), 1);
    s.mturk.update_hit_review_status().hit_id(&id).revert(true).send().await.unwrap();
    assert_eq!(status(s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap()), Some(HitStatus::Reviewable));
}

#[tokio::test]
async fn delete_hit_needs_every_submission_reviewed() {
    let s = frozen().await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    let code = turk_code!(s.mturk.delete_hit().hit_id(&id).send().await, DeleteHITError);
    assert_eq!(code, "AWS.MechanicalTurk.InvalidHITState");
    let a = s.work(&id, WORKER_1, "a").await;
    let err = s.mturk.delete_hit().hit_id(&id).send().await.unwrap_err();
    let (_, message) = code_and_message(err);
    assert!(message.contains("currently in the state 'Reviewable'"), "{message}");
    assert!(message.contains("can be called with a status of: Reviewing, Reviewable"), "{message}");
    s.mturk.approve_assignment().assignment_id(&a).send().await.unwrap();
    s.mturk.delete_hit().hit_id(&id).send().await.unwrap();
    let code = turk_code!(s.mturk.get_hit().hit_id(&id).send().await, GetHITError);
    assert_eq!(code, "AWS.MechanicalTurk.HITDoesNotExist");
    assert!(s.mturk.list_hits().send().await.unwrap().hits().is_empty());
}

#[tokio::test]
async fn the_ten_assignment_rule() {
    let s = frozen().await;
    let id = s.hit(2, "0.05").await.hit_id.unwrap();
    s.mturk
        .create_additional_assignments_for_hit()
        .hit_id(&id)
        .number_of_additional_assignments(7)
        .send()
        .await
        .unwrap();
    let h = s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap();
    assert_eq!(h.max_assignments(), Some(9));
    let code = turk_code!(
        s.mturk.create_additional_assignments_for_hit().hit_id(&id).number_of_additional_assignments(1).send().await,
        CreateAdditionalAssignmentsForHITError
    );
    assert_eq!(code, "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease");
    // a HIT created with 10 or more may grow
    let big = s.hit(10, "0.05").await.hit_id.unwrap();
    s.mturk
        .create_additional_assignments_for_hit()
        .hit_id(&big)
        .number_of_additional_assignments(5)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn additional_assignments_are_idempotent_per_token_and_reopen_a_hit() {
    let s = frozen().await;
    let id = s.hit(1, "0.05").await.hit_id.unwrap();
    s.work(&id, WORKER_1, "a").await;
    let add = || {
        s.mturk
            .create_additional_assignments_for_hit()
            .hit_id(&id)
            .number_of_additional_assignments(1)
            .unique_request_token("job-1/item-1/round-1")
            .send()
    };
    add().await.unwrap();
    let (code, message) = code_and_message(add().await.unwrap_err());
    assert_eq!(code, "RequestError");
    assert!(message.contains("has already been processed"), "{message}");
    let h = s.mturk.get_hit().hit_id(&id).send().await.unwrap().hit.unwrap();
    assert_eq!(h.max_assignments(), Some(2), "bought once");
    assert_eq!(h.hit_status(), Some(&HitStatus::Assignable));
    // the same worker may not take a second assignment of one HIT
    assert!(s.accept(&id, WORKER_1).await.is_err());
    s.work(&id, WORKER_2, "a").await;
}

#[tokio::test]
async fn unknown_and_unsupported_operations_answer_in_the_wire_format() {
    let s = frozen().await;
    let resp = s
        .signed_post("MTurkRequesterServiceV20170117.LaunchRocket", Some("application/x-amz-json-1.1"), "{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");

    let resp = s.signed_post("MTurkRequesterServiceV20170117.GetHIT", None, "{not json").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["__type"], "SerializationException", "signed, then refused for its body");

    let resp = s
        .http
        .post(s.url("/"))
        .header("x-amz-target", "MTurkRequesterServiceV20170117.GetHIT")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1");
    assert!(resp.headers().contains_key("x-amzn-requestid"));

    let (code, message) =
        code_and_message(s.mturk.get_qualification_type().qualification_type_id("3QUAL").send().await.unwrap_err());
    assert_eq!(code, "RequestError");
    assert!(message.contains("not supported"), "{message}");
}

/// A simulated clock runs ahead of real time; every response's Date header
/// is the marketplace's time, so a client can send deadlines in its future.
#[tokio::test]
async fn the_date_header_is_the_marketplaces_clock() {
    let s = frozen().await;
    let date = |resp: &reqwest::Response| {
        let text = resp.headers()["date"].to_str().unwrap().to_string();
        chrono::DateTime::parse_from_rfc2822(&text).unwrap().timestamp()
    };
    let call = || {
        s.signed_post("MTurkRequesterServiceV20170117.GetAccountBalance", Some("application/x-amz-json-1.1"), "{}")
            .send()
    };
    let before = date(&call().await.unwrap());
    s.advance(3.0 * 86_400.0).await;
    let after = date(&call().await.unwrap());
    assert!((after - before - 3 * 86_400).abs() <= 1, "{before} -> {after}");
}
