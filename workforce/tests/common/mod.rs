//! Shared test scaffolding: start the service in-process on a free port and
//! talk to it the way users do, through the real aws-sdk-mturk client over
//! HTTP, plus the control endpoints for the worker side and the clock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use hitloop_workforce::server::{start, GivenStore, Running, ServerConfig, Turns};
use serde_json::{json, Value};

pub const HTML_NS: &str =
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd";

pub struct Service {
    pub running: Running,
    pub mturk: aws_sdk_mturk::Client,
    pub http: reqwest::Client,
}

/// A client signing as the service's requester.
pub async fn mturk_client(running: &Running) -> aws_sdk_mturk::Client {
    mturk_client_as(&running.url, running.credentials()).await
}

/// A client of the service at `url` signing with `credentials`.
pub async fn mturk_client_as(url: &str, credentials: aws_credential_types::Credentials) -> aws_sdk_mturk::Client {
    aws_sdk_mturk::Client::new(&hitloop_aws::local_sdk_config_as(url, credentials).await)
}

/// Which store the suite runs on: `HITLOOP_WORKFORCE_STORE=dynamodb` runs
/// every test on the DynamoDB store (a fresh table on moto for each service),
/// otherwise on the memory store. `make test` runs both.
pub fn on_dynamodb() -> bool {
    std::env::var("HITLOOP_WORKFORCE_STORE").is_ok_and(|v| v == "dynamodb")
}

/// A fresh DynamoDB store holding `balance`, on the moto server the tests use.
pub async fn dynamodb_store(balance: hitloop_core::money::Usd) -> GivenStore {
    let endpoint =
        std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("HITLOOP_TEST_AWS_ENDPOINT (moto) for the DynamoDB store");
    let ddb = aws_sdk_dynamodb::Client::new(&hitloop_aws::local_sdk_config(&endpoint).await);
    let table = format!("workforce-{}", uuid::Uuid::new_v4());
    let store = hitloop_workforce_dynamodb::DynamoStore::create_funded(ddb, &table, balance).await.expect("table");
    GivenStore(std::sync::Arc::new(store))
}

/// A service as the config says. Without a simulated crowd it serves
/// requests at once, as a deployment does (concurrent turns, what is due done
/// by a pass); on the DynamoDB store when the suite runs there. A service
/// with a crowd stays on simulated turns and the memory store: the crowd is
/// the local stack's, it makes thousands of requests per simulated hour, and
/// its tests are about the crowd, not the store.
pub async fn service(mut config: ServerConfig) -> Service {
    if config.workforce.is_none() {
        config.turns = Turns::Concurrent { pass_every: Some(std::time::Duration::from_millis(50)) };
        if on_dynamodb() && config.store.is_none() {
            config.store = Some(dynamodb_store(config.balance).await);
        }
    }
    let running = start(config).await.expect("service starts");
    let mturk = mturk_client(&running).await;
    Service { running, mturk, http: reqwest::Client::new() }
}

pub async fn frozen() -> Service {
    service(ServerConfig { speed: 0.0, ..Default::default() }).await
}

/// A frozen service whose pass runs only when a test calls it
/// (`running.shared.pass()`), and whose clock the test moves without one
/// (`running.shared.clock.advance_ms`): what is read between two runs of
/// the scheduled function.
pub async fn frozen_between_passes() -> Service {
    let mut config = ServerConfig { speed: 0.0, ..Default::default() };
    if on_dynamodb() {
        config.store = Some(dynamodb_store(config.balance).await);
    }
    config.turns = Turns::Concurrent { pass_every: None };
    let running = start(config).await.expect("service starts");
    let mturk = mturk_client(&running).await;
    Service { running, mturk, http: reqwest::Client::new() }
}

impl Service {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.url, path)
    }

    /// A raw API request (for what an SDK will not send: unknown operations,
    /// bodies that are not JSON), signed with the service's key as boto3 signs.
    pub fn signed_post(&self, target: &str, content_type: Option<&str>, body: &str) -> reqwest::RequestBuilder {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        let key = self.running.requester_key.clone().expect("a service with a key");
        let host = self.running.url.trim_start_matches("http://").to_string();
        let mut headers = vec![("host", host.as_str()), ("x-amz-target", target)];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct));
        }
        let identity =
            aws_credential_types::Credentials::new(key.access_key_id, key.secret_access_key, None, None, "t").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("mturk-requester")
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable =
            SignableRequest::new("POST", "/", headers.iter().copied(), SignableBody::Bytes(body.as_bytes())).unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut request = self.http.post(self.url("/")).body(body.to_string());
        for (name, value) in headers.iter().filter(|(n, _)| *n != "host").copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        request
    }

    async fn control(&self, path: &str, body: Value) -> Result<Value, Value> {
        let resp = self.http.post(self.url(path)).json(&body).send().await.expect("control call");
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if ok {
            Ok(v)
        } else {
            Err(v)
        }
    }

    pub async fn advance(&self, seconds: f64) {
        self.control("/_hitloop/clock/advance", json!({ "Seconds": seconds })).await.expect("advance");
    }

    pub async fn accept(&self, hit: &str, worker: &str) -> Result<String, Value> {
        self.control("/_hitloop/workers/accept", json!({ "HITId": hit, "WorkerId": worker }))
            .await
            .map(|v| v["AssignmentId"].as_str().expect("assignment id").to_string())
    }

    pub async fn submit(&self, assignment: &str, fields: &[(&str, &str)]) -> Result<Value, Value> {
        self.control("/_hitloop/workers/submit", json!({ "AssignmentId": assignment, "Fields": fields })).await
    }

    pub async fn work(&self, hit: &str, worker: &str, label: &str) -> String {
        let a = self.accept(hit, worker).await.expect("accept");
        self.submit(&a, &[("label", label)]).await.expect("submit");
        a
    }

    pub async fn return_assignment(&self, assignment: &str) -> Result<Value, Value> {
        self.control("/_hitloop/workers/return", json!({ "AssignmentId": assignment })).await
    }

    pub async fn state(&self) -> Value {
        self.http.get(self.url("/_hitloop/state")).send().await.expect("state").json().await.expect("json")
    }

    pub async fn flush(&self) -> Value {
        self.control("/_hitloop/notifications/flush", json!({})).await.expect("flush")
    }

    pub async fn set_faults(&self, faults: Value) {
        let resp = self.http.put(self.url("/_hitloop/faults")).json(&faults).send().await.expect("faults");
        assert!(resp.status().is_success(), "{:?}", resp.text().await);
    }

    pub async fn balance(&self) -> (String, String) {
        let b = self.mturk.get_account_balance().send().await.expect("balance");
        (b.available_balance().unwrap_or_default().to_string(), b.on_hold_balance().unwrap_or_default().to_string())
    }

    /// A HIT with a plain one-field form question.
    pub async fn hit(&self, max_assignments: i32, reward: &str) -> aws_sdk_mturk::types::Hit {
        self.mturk
            .create_hit()
            .max_assignments(max_assignments)
            .lifetime_in_seconds(3600)
            .assignment_duration_in_seconds(300)
            .reward(reward)
            .title("Label a flower")
            .description("Pick the species")
            .question(plain_question("flower-1"))
            .send()
            .await
            .expect("create hit")
            .hit
            .expect("hit")
    }
}

impl Service {
    /// A HIT of 3 slots that only workers meeting `requirement` may accept.
    pub async fn hit_requiring(&self, requirement: aws_sdk_mturk::types::QualificationRequirement) -> String {
        self.mturk
            .create_hit()
            .max_assignments(3)
            .lifetime_in_seconds(600)
            .assignment_duration_in_seconds(60)
            .reward("0.05")
            .title("Qualified workers only")
            .description("D")
            .question(plain_question("x"))
            .qualification_requirements(requirement)
            .send()
            .await
            .expect("create hit")
            .hit
            .and_then(|h| h.hit_id)
            .expect("hit id")
    }
}

pub fn plain_question(item: &str) -> String {
    format!(
        r#"<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><![CDATA[<form><p>{item}</p><input type="text" name="label"></form>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"#
    )
}

pub fn crowd_question(image_url: &str) -> String {
    format!(
        r#"<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><![CDATA[<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form><crowd-image-classifier src="{image_url}" header="Which species?" name="category" categories="['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']"></crowd-image-classifier></crowd-form>]]></HTMLContent><FrameHeight>650</FrameHeight></HTMLQuestion>"#
    )
}

/// The TurkErrorCode of a RequestError returned by any operation.
#[macro_export]
macro_rules! turk_code {
    ($result:expr, $error:path) => {{
        use $error as E;
        match $result.expect_err("the call should fail").into_service_error() {
            E::RequestError(e) => e.turk_error_code().unwrap_or_default().to_string(),
            other => panic!("not a RequestError: {other:?}"),
        }
    }};
}

/// The error code (`__type`) and message of any failed call.
pub fn code_and_message<E, R>(err: aws_sdk_mturk::error::SdkError<E, R>) -> (String, String)
where
    E: aws_sdk_mturk::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match &err {
        aws_sdk_mturk::error::SdkError::ServiceError(s) => {
            (s.err().code().unwrap_or_default().to_string(), s.err().message().unwrap_or_default().to_string())
        }
        other => panic!("not a service error: {other:?}"),
    }
}

pub const WORKER_1: &str = "A1WORKERONE0001";
pub const WORKER_2: &str = "A2WORKERTWO0002";
pub const WORKER_3: &str = "A3WORKERTHREE03";
