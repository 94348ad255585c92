//! Crowd: HITs created once per token, their counts, answers read one at a
//! time or all, approvals and purchases made once, HITs closed.

use std::future::Future;
use std::pin::Pin;

use hitloop_core::job::JobSpec;
use hitloop_core::marketplace::CreateHitError;
use hitloop_core::plan::publish::HitRequest;
use hitloop_pipeline::ports::Crowd;

/// Workers of the marketplace under test: accept a HIT and submit an
/// answer; the assignment's id.
pub type Work<'a> =
    Box<dyn Fn(String, String, String) -> Pin<Box<dyn Future<Output = String> + Send + 'a>> + Send + Sync + 'a>;

const NS: &str = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd";

fn answer(label: &str) -> String {
    format!(
        r#"<QuestionFormAnswers xmlns="{NS}"><Answer><QuestionIdentifier>taskAnswers</QuestionIdentifier><FreeText>[{{"category":{{"label":"{label}"}}}}]</FreeText></Answer></QuestionFormAnswers>"#
    )
}

const QUESTION: &str = r#"<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[<!DOCTYPE html><crowd-form><crowd-classifier name="category" categories="['a','b']" header="?"></crowd-classifier></crowd-form><script src="https://assets.crowd.aws/crowd-html-elements.js"></script>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#;

pub async fn crowd(c: &dyn Crowd, work: Work<'_>, token: &str) {
    assert!(c.now_ms() > 1_500_000_000_000, "a clock in epoch milliseconds");
    assert!(c.balance().await.unwrap().cents() > 0);
    let spec =
        JobSpec::parse(r#"{"labels": ["a", "b"], "task": {"title": "Contract", "description": "A contract HIT"}}"#)
            .unwrap();
    let hit_type = c.create_hit_type(&spec, None).await.unwrap();
    assert_eq!(c.create_hit_type(&spec, None).await.unwrap(), hit_type, "the same attributes, the same type");
    // A job's access qualification: created once, found again by its name.
    let job = format!("contract-{token}");
    let access = c.access_qualification(&job).await.unwrap();
    assert_eq!(c.access_qualification(&job).await.unwrap(), access, "one per job");
    assert_ne!(c.access_qualification(&format!("{job}-other")).await.unwrap(), access);
    let guarded = c.create_hit_type(&spec, Some(&access)).await.unwrap();
    assert_ne!(guarded, hit_type, "requiring the qualification makes another type");
    c.revoke_access(&access, "AWORKERBAD", "wrong on the known items").await.unwrap();
    c.revoke_access(&access, "AWORKERBAD", "wrong on the known items").await.unwrap();
    let request = HitRequest {
        question: QUESTION.into(),
        assignments: 2,
        lifetime_s: 3600,
        annotation: "hitloop:contract/item-1".into(),
        token: token.into(),
    };
    let hit = c.create_hit(&hit_type, &request).await.unwrap().unwrap();
    assert_eq!(
        c.create_hit(&hit_type, &request).await.unwrap(),
        Err(CreateHitError::AlreadyExists(Some(hit.clone()))),
        "a token posts once, and says which HIT it posted"
    );
    let state = c.hit(&hit).await.unwrap().unwrap();
    assert_eq!((state.max_assignments, state.pending, state.available), (2, 0, 2));
    assert_eq!(state.annotation.as_deref(), Some("hitloop:contract/item-1"));
    assert!(state.expiration > c.now_ms());
    assert_eq!(c.hit("3NOSUCHHIT000000000000000000AA").await.unwrap(), None);

    let first = work(hit.clone(), "AWORKERONE".into(), answer("a")).await;
    let (view, seen) = c.assignment(&first).await.unwrap().unwrap();
    assert_eq!((view.worker_id.as_str(), view.status.as_str()), ("AWORKERONE", "Submitted"));
    assert!(view.answer.contains("taskAnswers") && view.submit_time > 0);
    assert_eq!((seen.hit_id.as_str(), seen.done(), seen.available), (hit.as_str(), 1, 1), "the HIT, with it");
    assert!(c.approve(&first).await.unwrap());
    assert!(!c.approve(&first).await.unwrap(), "approved once");
    let second = work(hit.clone(), "AWORKERTWO".into(), answer("b")).await;
    let all = c.assignments(&hit).await.unwrap();
    let mut ids: Vec<&str> = all.iter().map(|a| a.assignment_id.as_str()).collect();
    ids.sort();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "approved and submitted, listed");

    let more = format!("{token}-2");
    assert_eq!(c.add_assignments(&hit, 1, &more).await.unwrap(), Ok(true));
    assert_eq!(c.add_assignments(&hit, 1, &more).await.unwrap(), Ok(false), "a round is bought once");
    let state = c.hit(&hit).await.unwrap().unwrap();
    assert_eq!((state.max_assignments, state.available), (3, 1));
    c.expire(&hit).await.unwrap();
    let closed = c.hit(&hit).await.unwrap().unwrap();
    assert_eq!(closed.available, 0, "closed to new workers");
    c.extend(&hit, c.now_ms() + 3_600_000).await.unwrap();
    assert_eq!(c.hit(&hit).await.unwrap().unwrap().available, 1, "open again");
}
