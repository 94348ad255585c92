//! Who may work: qualification types and requirements, worker blocks, and
//! request faults (throttling, service faults) seen through the SDK.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use aws_sdk_mturk::operation::create_qualification_type::CreateQualificationTypeError;
use aws_sdk_mturk::types::{Comparator, QualificationRequirement, QualificationTypeStatus};
use common::*;
use hitloop_workforce::faults::RequestFaults;
use hitloop_workforce::server::ServerConfig;
use serde_json::json;

#[tokio::test]
async fn qualification_requirements_decide_who_may_accept() {
    let s = frozen().await;
    let qt = s
        .mturk
        .create_qualification_type()
        .name("Iris expert")
        .description("Knows their irises")
        .qualification_type_status(QualificationTypeStatus::Active)
        .send()
        .await
        .unwrap()
        .qualification_type
        .unwrap();
    let qid = qt.qualification_type_id().unwrap().to_string();
    let code = turk_code!(
        s.mturk
            .create_qualification_type()
            .name("Iris expert")
            .description("again")
            .qualification_type_status(QualificationTypeStatus::Active)
            .send()
            .await,
        CreateQualificationTypeError
    );
    assert_eq!(code, "AWS.MechanicalTurk.QualificationTypeAlreadyExists");
    // The type a script created before is found by its name.
    let list = |query: &'static str, requestable: bool| {
        s.mturk.list_qualification_types().query(query).must_be_requestable(requestable).must_be_owned_by_caller(true)
    };
    let found = list("Iris expert", false).send().await.unwrap();
    let ids: Vec<_> = found.qualification_types().iter().filter_map(|q| q.qualification_type_id()).collect();
    assert_eq!((found.num_results(), ids), (Some(1), vec![qid.as_str()]));
    assert_eq!(
        list("Iris expert", true).send().await.unwrap().num_results(),
        Some(0),
        "neither a test nor auto-granted"
    );
    assert_eq!(list("Iris", false).send().await.unwrap().num_results(), Some(0), "a whole name only");
    let unsupported = s.mturk.list_qualification_types().must_be_requestable(false).send().await.unwrap_err();
    assert!(format!("{unsupported:?}").contains("UnsupportedOperation"), "{unsupported:?}");

    let requirement = QualificationRequirement::builder()
        .qualification_type_id(&qid)
        .comparator(Comparator::GreaterThanOrEqualTo)
        .integer_values(80)
        .build()
        .unwrap();
    let hit = s.hit_requiring(requirement).await;
    let id = hit.as_str();
    let refused = s.accept(id, WORKER_1).await.expect_err("no qualification, no work");
    assert!(refused["Message"].as_str().unwrap().contains("qualification"), "{refused}");
    s.mturk
        .associate_qualification_with_worker()
        .qualification_type_id(&qid)
        .worker_id(WORKER_1)
        .integer_value(90)
        .send()
        .await
        .unwrap();
    s.mturk
        .associate_qualification_with_worker()
        .qualification_type_id(&qid)
        .worker_id(WORKER_2)
        .integer_value(50)
        .send()
        .await
        .unwrap();
    assert!(s.accept(id, WORKER_1).await.is_ok());
    assert!(s.accept(id, WORKER_2).await.is_err(), "a score of 50 is below 80");

    let (code, _) = code_and_message(
        s.mturk
            .associate_qualification_with_worker()
            .qualification_type_id("3NOSUCHTYPE")
            .worker_id(WORKER_1)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "RequestError");
}

#[tokio::test]
async fn blocked_workers_cannot_accept() {
    let s = frozen().await;
    s.mturk.create_worker_block().worker_id(WORKER_1).reason("spam").send().await.unwrap();
    s.mturk.create_worker_block().worker_id(WORKER_2).reason("spam too").send().await.unwrap();
    let blocks = s.mturk.list_worker_blocks().max_results(1).send().await.unwrap();
    assert_eq!(blocks.worker_blocks().len(), 1);
    let rest = s.mturk.list_worker_blocks().next_token(blocks.next_token().unwrap()).send().await.unwrap();
    assert_eq!(rest.worker_blocks()[0].worker_id(), Some(WORKER_2));
    assert!(rest.next_token().is_none());

    let id = s.hit(2, "0.05").await.hit_id.unwrap();
    assert!(s.accept(&id, WORKER_1).await.is_err());
    s.mturk.delete_worker_block().worker_id(WORKER_1).send().await.unwrap();
    s.mturk.delete_worker_block().worker_id(WORKER_1).send().await.unwrap(); // not blocked: still fine
    assert!(s.accept(&id, WORKER_1).await.is_ok());
    let (code, _) =
        code_and_message(s.mturk.create_worker_block().worker_id("not-a-worker").reason("x").send().await.unwrap_err());
    assert_eq!(code, "ParameterValidationError");
}

#[tokio::test]
async fn throttling_and_service_faults_are_retried_by_the_sdk() {
    let s = service(ServerConfig {
        speed: 0.0,
        request_faults: RequestFaults { throttle_rate: 0.2, fault_rate: 0.1, ..Default::default() },
        ..Default::default()
    })
    .await;
    // With the SDK's standard retries (3 attempts) almost every call gets through.
    let mut ok = 0;
    for _ in 0..20 {
        if s.mturk.get_account_balance().send().await.is_ok() {
            ok += 1;
        }
    }
    assert!(ok >= 18, "{ok} of 20 succeeded");

    s.set_faults(json!({ "Requests": { "throttle_rate": 1.0 } })).await;
    let (code, message) = code_and_message(s.mturk.get_account_balance().send().await.unwrap_err());
    assert_eq!((code.as_str(), message.as_str()), ("ThrottlingException", "Rate exceeded"));

    s.set_faults(json!({ "Requests": { "fault_rate": 1.0 } })).await;
    let err = s.mturk.get_account_balance().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    let (code, _) = code_and_message(err);
    assert_eq!(code, "ServiceFault");

    s.set_faults(json!({ "Requests": { "rate_limit": 0.001, "burst": 2.0 } })).await;
    let raw = |s: &Service| s.signed_post("MTurkRequesterServiceV20170117.GetAccountBalance", None, "{}").send();
    let statuses: Vec<u16> = {
        let mut v = vec![];
        for _ in 0..4 {
            v.push(raw(&s).await.unwrap().status().as_u16());
        }
        v
    };
    assert_eq!(statuses, vec![200, 200, 400, 400], "a burst of 2, then throttled");
}
