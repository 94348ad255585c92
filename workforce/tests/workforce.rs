//! The simulated workforce: seeded workers who find HITs, answer the way the
//! task page submits, respect qualifications and blocks, and reproduce a run
//! from its seed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_mturk::types::{Comparator, HitStatus, Locale, QualificationRequirement};
use common::*;
use hitloop_core::xml::{parse, Limits};
use hitloop_workforce::crowd::{Truth, WorkforceConfig};
use hitloop_workforce::server::ServerConfig;
use serde_json::Value;

const LABELS: [&str; 3] = ["setosa", "versicolor", "virginica"];
const CROWD: &str = r#"
seed = 11
[[group]]
name = "perfect"
count = 3
worker_ids = ["A1PERFECT00001", "A1PERFECT00002", "A1PERFECT00003"]
accuracy = 1.0
work_seconds = { median = 40, spread = 0.3 }
pause_seconds = { median = 10, spread = 0.5 }
[[group]]
name = "spammer"
count = 1
worker_ids = ["A9SPAMMER00001"]
behaviour = "spammer"
work_seconds = { median = 5 }
pause_seconds = { median = 5 }
[[group]]
name = "abroad"
count = 2
worker_ids = ["A5ABROAD000001", "A5ABROAD000002"]
locale = "DE"
accuracy = 1.0
"#;

fn truth(n: usize) -> Truth {
    Truth::from_pairs((0..n).map(|i| (format!("https://example.com/iris/{i}.jpg"), LABELS[i % 3].to_string())))
}

async fn crowd(seed_offset: u64) -> Service {
    let mut wf = WorkforceConfig::parse(CROWD).unwrap();
    wf.seed += seed_offset;
    service(ServerConfig { speed: 0.0, workforce: Some(wf), truth: truth(30), ..Default::default() }).await
}

fn us_only() -> QualificationRequirement {
    QualificationRequirement::builder()
        .qualification_type_id("00000000000000000071")
        .comparator(Comparator::EqualTo)
        .locale_values(Locale::builder().country("US").build().unwrap())
        .build()
        .unwrap()
}

/// Posts 30 iris HITs (2 assignments, US only), lets the crowd work until all
/// are reviewable, and returns (item, worker, label) for every answer.
async fn run(s: &Service) -> Vec<(usize, String, String)> {
    let mut hits = Vec::new();
    for i in 0..30 {
        let hit = s
            .mturk
            .create_hit()
            .max_assignments(2)
            .lifetime_in_seconds(4 * 3600)
            .assignment_duration_in_seconds(300)
            .reward("0.05")
            .title("Classify the iris")
            .description("Which species?")
            .question(crowd_question(&format!("https://example.com/iris/{i}.jpg")))
            .qualification_requirements(us_only())
            .send()
            .await
            .unwrap()
            .hit
            .unwrap();
        hits.push(hit.hit_id.unwrap());
    }
    for _ in 0..240 {
        s.advance(60.0).await;
        let reviewable = s.mturk.list_reviewable_hits().max_results(100).send().await.unwrap();
        if reviewable.hits().len() == hits.len() {
            break;
        }
    }
    let mut answers = Vec::new();
    for (i, id) in hits.iter().enumerate() {
        let h = s.mturk.get_hit().hit_id(id).send().await.unwrap().hit.unwrap();
        assert_eq!(h.hit_status(), Some(&HitStatus::Reviewable), "item {i}");
        for a in s.mturk.list_assignments_for_hit().hit_id(id).send().await.unwrap().assignments() {
            let root = parse(a.answer().unwrap(), &Limits::ANSWER).unwrap();
            let answer = root.child("Answer").unwrap();
            assert_eq!(answer.child_text("QuestionIdentifier"), Some("taskAnswers"));
            let json: Value = serde_json::from_str(answer.child_text("FreeText").unwrap()).unwrap();
            let label = json[0]["category"]["label"].as_str().unwrap().to_string();
            answers.push((i, a.worker_id().unwrap().to_string(), label));
        }
    }
    answers
}

#[tokio::test]
async fn the_crowd_answers_like_the_task_page_within_its_qualifications() {
    let s = crowd(0).await;
    s.mturk.create_worker_block().worker_id("A1PERFECT00003").reason("testing blocks").send().await.unwrap();
    let answers = run(&s).await;
    assert_eq!(answers.len(), 60, "two answers for each of 30 items");
    let workers: BTreeSet<&str> = answers.iter().map(|(_, w, _)| w.as_str()).collect();
    assert!(!workers.iter().any(|w| w.starts_with("A5ABROAD")), "DE workers fail the US-only requirement");
    assert!(!workers.contains("A1PERFECT00003"), "blocked workers never work");
    for (i, w, label) in &answers {
        assert!(label.starts_with("Iris-"), "labels come from the page's categories: {label}");
        if w.starts_with("A1PERFECT") {
            assert_eq!(label, &format!("Iris-{}", LABELS[i % 3]), "a perfect worker on item {i}");
        }
    }
    let spam: BTreeSet<&str> =
        answers.iter().filter(|(_, w, _)| w == "A9SPAMMER00001").map(|(_, _, l)| l.as_str()).collect();
    assert!(spam.len() >= 2, "a spammer's answers are spread: {spam:?}");
    let state = s.state().await;
    assert_eq!(state["Workforce"]["Stats"]["submitted"], 60);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_run() {
    let first = run(&crowd(0).await).await;
    let again = run(&crowd(0).await).await;
    assert_eq!(first, again);
    let other = run(&crowd(1).await).await;
    assert_ne!(first, other, "another seed, another crowd");
    let tally = |v: &[(usize, String, String)]| {
        v.iter().fold(BTreeMap::new(), |mut m: BTreeMap<String, usize>, (_, w, _)| {
            *m.entry(w.clone()).or_default() += 1;
            m
        })
    };
    assert_eq!(tally(&first).values().sum::<usize>(), 60);
}

#[tokio::test]
async fn confusion_fixed_answers_returns_and_abandonment_follow_the_file() {
    let wf = WorkforceConfig::parse(
        r#"
        seed = 5
        [[group]]
        name = "confused"
        worker_ids = ["A1CONFUSED0001"]
        confusion = { setosa = { versicolor = 1.0 } }
        accuracy = 1.0
        pause_seconds = { median = 5 }
        [[group]]
        name = "fixed"
        worker_ids = ["A2FIXED0000001"]
        behaviour = "fixed"
        answer = "virginica"
        pause_seconds = { median = 5 }
        [[group]]
        name = "flaky"
        count = 2
        worker_ids = ["A3FLAKY0000001", "A3FLAKY0000002"]
        return_rate = 0.4
        abandon_rate = 0.4
        pause_seconds = { median = 5 }
        "#,
    )
    .unwrap();
    // keys are found through RequesterAnnotation here, and the page is a plain radio form
    let truth = Truth::from_pairs((0..12).map(|i| (format!("item-{i}"), "setosa".to_string())));
    let s = service(ServerConfig { speed: 0.0, workforce: Some(wf), truth, ..Default::default() }).await;
    let page = r#"<form><input type="radio" name="species" value="setosa"><input type="radio" name="species" value="versicolor"><input type="radio" name="species" value="virginica"></form>"#;
    let question = format!(
        r#"<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><![CDATA[{page}]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"#
    );
    let mut hits = Vec::new();
    for i in 0..12 {
        let hit = s
            .mturk
            .create_hit()
            .max_assignments(3)
            .lifetime_in_seconds(24 * 3600)
            .assignment_duration_in_seconds(600)
            .reward("0.05")
            .title("T")
            .description("D")
            .requester_annotation(format!("item-{i}"))
            .question(&question)
            .send()
            .await
            .unwrap()
            .hit
            .unwrap();
        hits.push(hit.hit_id.unwrap());
    }
    for _ in 0..24 * 60 {
        s.advance(60.0).await;
        if s.mturk.list_reviewable_hits().max_results(100).send().await.unwrap().hits().len() == hits.len() {
            break;
        }
    }
    let mut by_worker: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for id in &hits {
        for a in s.mturk.list_assignments_for_hit().hit_id(id).send().await.unwrap().assignments() {
            let root = parse(a.answer().unwrap(), &Limits::ANSWER).unwrap();
            let answer = root.child("Answer").unwrap();
            assert_eq!(answer.child_text("QuestionIdentifier"), Some("species"), "one answer per form field");
            by_worker
                .entry(a.worker_id().unwrap().to_string())
                .or_default()
                .insert(answer.child_text("FreeText").unwrap().to_string());
        }
    }
    assert_eq!(by_worker["A1CONFUSED0001"], BTreeSet::from(["versicolor".to_string()]), "the confusion row decides");
    assert_eq!(by_worker["A2FIXED0000001"], BTreeSet::from(["virginica".to_string()]));
    let state = s.state().await;
    let stats = &state["Workforce"]["Stats"];
    assert!(stats["returned"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["abandoned"].as_u64().unwrap() > 0, "{stats}");
    assert!(state["Assignments"]["Returned"].as_u64().unwrap() > 0, "{state}");
    assert!(state["Assignments"]["Abandoned"].as_u64().unwrap() > 0, "{state}");
}
