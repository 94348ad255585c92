//! The team lead's commands end to end (the real `hitloop` binary against
//! the service's table and user pool on moto): `deposit`, `workers`,
//! `payouts`, `block` / `unblock` (by email), `qualify`. Two invited people
//! work through the service's engine on the same table meanwhile.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::process::Command;
use std::sync::Arc;

use hitloop_core::money::Usd;
use hitloop_workforce::answer::crowd_form_answer;
use hitloop_workforce::engine::{Engine, EngineConfig};
use hitloop_workforce_cognito::{worker_id_of, CognitoDirectory, UserPool};
use hitloop_workforce_dynamodb::DynamoStore;
use serde_json::{json, Value};

struct Lead {
    endpoint: String,
    table: String,
    pool: String,
}

impl Lead {
    /// `hitloop workforce <command> --table T --user-pool P <args>`.
    fn run(&self, command: &str, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_hitloop"))
            .args(["workforce", command, "--table", &self.table, "--user-pool", &self.pool])
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "lead")
            .env("AWS_SECRET_ACCESS_KEY", "lead")
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }

    fn ok(&self, command: &str, args: &[&str]) -> String {
        let (ok, out, err) = self.run(command, args);
        assert!(ok, "hitloop workforce {command} {args:?}: {err}");
        out
    }
}

async fn call(engine: &Engine, operation: &str, input: Value) -> Value {
    hitloop_workforce::api::call(engine, operation, &input)
        .await
        .unwrap_or_else(|e| panic!("{operation}: {}", e.message))
}

async fn hit(engine: &Engine) -> String {
    let question = r#"<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"><HTMLContent><![CDATA[<p>x</p>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#;
    let made = call(
        engine,
        "CreateHIT",
        json!({
            "MaxAssignments": 2, "LifetimeInSeconds": 3600, "AssignmentDurationInSeconds": 600, "Reward": "0.25",
            "Title": "Iris", "Description": "Pick the species", "Question": question,
        }),
    )
    .await;
    made["HIT"]["HITId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_team_lead_sees_who_did_what_pays_them_and_decides_who_may_work() {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("run under `make test` (moto)");
    let sdk = hitloop_local::local_sdk(&endpoint).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("team-{}", std::process::id());
    let store = DynamoStore::create_funded(ddb, &table, Usd::from_cents(1_000)).await.unwrap();
    let engine = Engine::new(
        Arc::new(store),
        EngineConfig { seed: None, ..Default::default() },
        chrono::Utc::now().timestamp_millis(),
    );

    let pool = hitloop_workforce_cognito::pools::create_pool(&sdk, &format!("team-{}", std::process::id()))
        .await
        .unwrap()
        .pool_id;
    let directory = CognitoDirectory::new(&sdk, UserPool { pool_id: pool.clone(), client_id: String::new() });
    let ana = worker_id_of(&directory.invite("ana@example.org", Some("Temporary-1234")).await.unwrap().sub);
    let bo = worker_id_of(&directory.invite("bo@example.org", Some("Temporary-1234")).await.unwrap().sub);
    let lead = Lead { endpoint, table, pool };

    let out = lead.ok("deposit", &["5.00"]);
    assert!(out.contains("deposited $5.00: available $15.00"), "{out}");
    let (ok, _, err) = lead.run("deposit", &["0.00"]);
    assert!(!ok && err.contains("more than $0.00"), "{err}");

    // Ana: two approved and a bonus; Bo: one rejected.
    let hits = [hit(&engine).await, hit(&engine).await];
    for h in &hits {
        let a = engine.accept(h, &ana).await.unwrap();
        engine.submit(&a, crowd_form_answer("category", "setosa")).await.unwrap();
        call(&engine, "ApproveAssignment", json!({ "AssignmentId": a })).await;
        if h == &hits[0] {
            call(
                &engine,
                "SendBonus",
                json!({ "WorkerId": ana, "AssignmentId": a, "BonusAmount": "0.50", "Reason": "careful" }),
            )
            .await;
        }
    }
    let theirs = engine.accept(&hits[0], &bo).await.unwrap();
    engine.submit(&theirs, crowd_form_answer("category", "virginica")).await.unwrap();
    call(&engine, "RejectAssignment", json!({ "AssignmentId": theirs, "RequesterFeedback": "no" })).await;

    // The pipeline's job over these HITs, finished: its workers.csv.
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let bucket = format!("team-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let agreement = format!("worker_id,answers,answers_on_labeled_items,agreed_with_label,agreement,blocked\n{ana},2,2,2,1.0000,\n{bo},1,1,0,0.0000,0 of 4 right on gold\n");
    s3.put_object()
        .bucket(&bucket)
        .key("jobs/iris/output/workers.csv")
        .body(agreement.into_bytes().into())
        .send()
        .await
        .unwrap();
    let state = std::env::temp_dir().join(format!("team-state-{}.json", std::process::id()));
    std::fs::write(
        &state,
        json!({ "aws_endpoint": lead.endpoint, "mturk_url": "", "bucket": bucket, "table": "t", "pid": 0 }).to_string(),
    )
    .unwrap();
    let state = state.to_str().unwrap().to_string();

    let table_text = lead.ok("workers", &["--job", "iris", "--state", &state]);
    let row = |worker: &str| {
        table_text.lines().find(|l| l.starts_with(worker)).unwrap_or_else(|| panic!("{table_text}")).to_string()
    };
    let ana_row: Vec<String> = row(&ana).split_whitespace().map(str::to_string).collect();
    assert_eq!(&ana_row[1..7], ["ana@example.org", "2", "2", "0", "0", "0"], "{table_text}");
    assert!(ana_row.contains(&"$1.00".to_string()), "two rewards of $0.25 and a bonus of $0.50: {table_text}");
    assert!(ana_row.contains(&"100%".to_string()), "agreement with the job's labels: {table_text}");
    let bo_row: Vec<String> = row(&bo).split_whitespace().map(str::to_string).collect();
    assert_eq!(&bo_row[1..5], ["bo@example.org", "1", "0", "1"]);
    assert!(bo_row.contains(&"0%".to_string()), "{table_text}");
    assert!(row(&bo).ends_with("on job iris (gold answers)"), "the job that blocked bo: {table_text}");
    assert!(!row(&ana).contains("gold answers"), "{table_text}");
    let (ok, _, err) = lead.run("workers", &["--job", "unfinished", "--state", &state]);
    assert!(!ok && err.contains("written when every item is decided"), "{err}");

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let csv = lead.ok("payouts", &["--from", &today, "--to", &today]);
    assert_eq!(
        csv,
        format!("worker_id,email,approved_assignments,rewards_usd,bonuses_usd,total_usd\n{ana},ana@example.org,2,0.50,0.50,1.00\n"),
        "only who is owed something"
    );
    let csv = lead.ok("payouts", &["--from", "2020-01-01", "--to", "2020-01-31"]);
    assert_eq!(csv.lines().count(), 1, "nothing in another month: {csv}");

    let out = lead.ok("block", &["bo@example.org", "--reason", "answers at random"]);
    assert!(out.contains(&format!("blocked {bo}")), "{out}");
    let third = hit(&engine).await;
    assert!(engine.accept(&third, &bo).await.is_err(), "blocked");
    assert!(lead.ok("workers", &[]).contains("answers at random"));
    lead.ok("unblock", &[&bo]);
    engine.accept(&third, &bo).await.expect("unblocked");

    let (ok, _, err) = lead.run("qualify", &[&ana, "Iris expert", "90"]);
    assert!(!ok && err.contains("--create"), "{err}");
    lead.ok("qualify", &["ana@example.org", "Iris expert", "90", "--create"]);
    lead.ok("qualify", &[&ana, "Iris expert", "95"]);
    let type_id = engine.store().qualification_type_by_name("Iris expert").await.unwrap().unwrap();
    let holders = call(&engine, "ListWorkersWithQualificationType", json!({ "QualificationTypeId": type_id })).await;
    assert_eq!(holders["Qualifications"][0]["WorkerId"], json!(ana));
    assert_eq!(holders["Qualifications"][0]["IntegerValue"], json!(95), "the last value given");

    let (ok, _, err) = lead.run("block", &["nobody@example.org", "--reason", "x"]);
    assert!(!ok && err.contains("not in the user pool"), "{err}");
}
