//! A whole hitloop stack on this machine for a test: moto (from
//! HITLOOP_TEST_AWS_ENDPOINT) with the stack's resources, the MTurk-compatible
//! service with a simulated crowd on a frozen clock, and the router playing
//! Lambda. The test moves time on and pumps events until the job is done.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod blocks;
pub mod chromium;
pub mod crash;
pub mod invariants;
pub mod outputs;
pub mod webdriver;

use std::collections::BTreeMap;

use std::sync::Arc;

use hitloop_core::plan::sweep::SweepLimits;
use hitloop_core::records::{AnswerRecord, Item, Job};
use hitloop_dynamodb::DynamoStore;
use hitloop_local::functions::{Configs, Functions};
use hitloop_local::invocations::LocalInvocations;
use hitloop_local::marketplace::Marketplace;
use hitloop_local::resources::{self, StackResources};
use hitloop_local::router::Router;
use hitloop_pipeline::ports::{all_items, Crowd, Items, Jobs};
use hitloop_workforce::crowd::{Truth, WorkforceConfig};
use hitloop_workforce::faults::RequestFaults;
use hitloop_workforce::notify::NotificationFaults;
use hitloop_workforce::server::{start, GivenSignIn, GivenStore, Running, ServerConfig};
use serde_json::{json, Value};

pub const SPECIES: [&str; 3] = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"];

pub fn aws_endpoint() -> String {
    std::env::var("HITLOOP_TEST_AWS_ENDPOINT")
        .expect("HITLOOP_TEST_AWS_ENDPOINT must point at a moto server: run `make test`")
}

/// The 150 irises: (id, image URL, true species, measurements).
pub fn iris() -> Vec<(String, String, String, Vec<String>)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/iris/iris.csv")).unwrap();
    text.lines()
        .skip(1)
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            let species = SPECIES[f[4].parse::<usize>().unwrap()].to_string();
            (
                format!("iris-{i:03}"),
                format!("https://images.hitloop.example/iris/{i:03}.jpg"),
                species,
                f[..4].iter().map(|s| s.to_string()).collect(),
            )
        })
        .collect()
}

pub fn iris_manifest() -> String {
    iris_manifest_every(1)
}

/// Every `step`-th iris: a small job with all three species.
pub fn iris_manifest_every(step: usize) -> String {
    let mut csv = String::from("id,image_url,sepal_length,sepal_width,petal_length,petal_width\n");
    for (id, url, _, m) in iris().into_iter().step_by(step) {
        csv.push_str(&format!("{id},{url},{}\n", m.join(",")));
    }
    csv
}

pub const FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

/// The blog's classifier on the measurements: built-in XGBoost, 20 % held out.
pub fn training_settings() -> Value {
    json!({
        "features": FEATURES,
        "test_fraction": 0.2,
        "seed": 7,
        "sagemaker": { "algorithm": "xgboost", "instance_type": "ml.m5.large", "max_runtime_seconds": 1800,
                       "hyperparameters": { "num_round": 50, "eta": 0.3 } }
    })
}

pub fn with_training(mut job: Value, training: Value) -> Value {
    job["training"] = training;
    job
}

pub fn iris_truth() -> BTreeMap<String, String> {
    iris().into_iter().map(|(id, _, species, _)| (id, species)).collect()
}

pub fn iris_template() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/iris/template.html")).unwrap()
}

/// The blog's task: 2 assignments, $0.05, 4 h, 5 min, two must agree.
/// Posted in the manifest's order (iris.csv is sorted by species): the
/// end-to-end tests' figures were measured so, and the pipeline test's
/// spend is exact; the shuffled default is tested in ingest.rs and runs in
/// `make demo`.
pub fn iris_job() -> Value {
    json!({
        "publish_order": "manifest",
        "task": { "title": "Classify the iris", "description": "Which species is in the photo?", "reward": "0.05",
                  "lifetime_seconds": 14400, "assignment_duration_seconds": 300 },
        "labels": SPECIES,
        "answer": { "format": "crowd-form", "field": "category" },
        "consensus": { "initial_assignments": 2, "agreement": 2, "max_assignments": 9 }
    })
}

/// Good workers only, quick: for jobs whose labeling is not the point.
pub const GOOD_CROWD: &str = r#"
seed = 7
[[group]]
name = "careful"
count = 8
accuracy = 0.97
work_seconds = { median = 30, spread = 0.3 }
pause_seconds = { median = 10, spread = 0.5 }
"#;

/// Mixed quality: careful and sloppy workers and a spammer.
pub const MIXED_CROWD: &str = r#"
seed = 42
[[group]]
name = "careful"
count = 10
accuracy = 0.96
work_seconds = { median = 40, spread = 0.4 }
pause_seconds = { median = 20, spread = 0.6 }
return_rate = 0.02
abandon_rate = 0.01
[[group]]
name = "sloppy"
count = 2
accuracy = 0.8
work_seconds = { median = 20, spread = 0.4 }
pause_seconds = { median = 30, spread = 0.6 }
[[group]]
name = "spammer"
count = 1
behaviour = "spammer"
work_seconds = { median = 15, spread = 0.3 }
pause_seconds = { median = 45, spread = 0.3 }
"#;

/// A worker of the MTurk-compatible service at `url` accepts `hit` and
/// submits `answer` (its control API's body: `Answer`, or `Fields`); the
/// assignment's id, or None when no slot was open.
pub async fn work_at(http: &reqwest::Client, url: &str, hit: &str, worker: &str, answer: &Value) -> Option<String> {
    let accepted: Value = http
        .post(format!("{url}/_hitloop/workers/accept"))
        .json(&json!({"HITId": hit, "WorkerId": worker}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = accepted["AssignmentId"].as_str()?.to_string();
    let mut body = answer.clone();
    body["AssignmentId"] = json!(id);
    let resp = http.post(format!("{url}/_hitloop/workers/submit")).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    Some(id)
}

pub struct Stack {
    pub mturk: Running,
    pub router: Router,
    pub resources: StackResources,
    /// SageMaker Runtime's stand-in, which train's predictor talks to.
    pub invocations: LocalInvocations,
    pub s3: aws_sdk_s3::Client,
    pub http: reqwest::Client,
    /// What the functions write to, read back as tests need it.
    pub store: Arc<DynamoStore>,
    /// The marketplace as the functions see it (no crashes).
    pub crowd: Arc<dyn Crowd>,
    pub sdk: hitloop_aws::SdkConfig,
}

pub struct Options {
    pub crowd: Option<&'static str>,
    pub request_faults: RequestFaults,
    pub notification_faults: NotificationFaults,
    pub balance: &'static str,
    /// Calls of the functions' store and MTurk client that die half-way.
    pub crashes: Option<std::sync::Arc<crash::Crashes>>,
    /// How long one MTurk request may take (the functions' setting).
    pub mturk_attempt_timeout_ms: Option<u64>,
    /// How people sign in to the worker site: by worker id (None, the local
    /// sandbox), or as given (a user pool). With a sign-in, the service
    /// serves no control endpoints, as deployed.
    pub sign_in: Option<GivenSignIn>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            crowd: Some(MIXED_CROWD),
            request_faults: Default::default(),
            notification_faults: Default::default(),
            balance: "10000.00",
            crashes: None,
            mturk_attempt_timeout_ms: None,
            sign_in: None,
        }
    }
}

/// Where the MTurk-compatible service keeps its records: its memory store,
/// or with `HITLOOP_WORKFORCE_STORE=dynamodb` a fresh DynamoDB table on moto
/// holding `balance` (make test runs the iris job on both).
async fn workforce_store(endpoint: &str, balance: hitloop_core::money::Usd) -> Option<GivenStore> {
    if !std::env::var("HITLOOP_WORKFORCE_STORE").is_ok_and(|v| v == "dynamodb") {
        return None;
    }
    let ddb = aws_sdk_dynamodb::Client::new(&hitloop_aws::local_sdk_config(endpoint).await);
    let table = format!("workforce-{}", uuid::Uuid::new_v4());
    let store = hitloop_workforce_dynamodb::DynamoStore::create_funded(ddb, &table, balance).await.unwrap();
    Some(GivenStore(Arc::new(store)))
}

impl Stack {
    pub async fn new(options: Options) -> Stack {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
        let endpoint = aws_endpoint();
        let truth = Truth::from_pairs(iris().into_iter().map(|(_, url, species, _)| (url, species)));
        let balance = options.balance.parse().unwrap();
        let mturk = start(ServerConfig {
            store: workforce_store(&endpoint, balance).await,
            speed: 0.0,
            aws_endpoint: Some(endpoint.clone()),
            workforce: options.crowd.map(|c| WorkforceConfig::parse(c).unwrap()),
            truth,
            balance,
            request_faults: options.request_faults,
            notification_faults: options.notification_faults,
            worker_sign_in: options.sign_in,
            ..Default::default()
        })
        .await
        .unwrap();
        let sdk = hitloop_local::local_sdk(&endpoint).await;
        let name = format!("hl{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let resources = resources::create(&sdk, &name).await.unwrap();
        let marketplace = Marketplace::of(&sdk, &name, &mturk).await.unwrap();
        let invocations = LocalInvocations::start(&sdk, 0).await.unwrap();
        let mut configs = Configs::of(&resources, &marketplace).unwrap();
        configs.train.sagemaker_runtime_url = Some(invocations.url.clone());
        if let Some(ms) = options.mturk_attempt_timeout_ms {
            configs.publish.mturk.attempt_timeout_ms = ms;
            configs.collect.mturk.attempt_timeout_ms = ms;
            configs.sweep.mturk.attempt_timeout_ms = ms;
        }
        let mut functions = configs.functions(&sdk);
        let store = Arc::new(DynamoStore::from_sdk(&sdk, &resources.table));
        let crowd: Arc<dyn Crowd> = functions.collect.crowd.clone();
        if let Some(crashes) = options.crashes {
            crash::wrap(&mut functions, store.clone(), crowd.clone(), crashes);
        }
        let router = Router::new(functions, resources.clone(), &sdk);
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        Stack { mturk, router, resources, s3, http: reqwest::Client::new(), store, crowd, sdk, invocations }
    }

    pub async fn put(&self, key: &str, body: impl Into<Vec<u8>>) {
        self.s3
            .put_object()
            .bucket(&self.resources.bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.into()))
            .send()
            .await
            .unwrap();
    }

    pub async fn get(&self, key: &str) -> Option<String> {
        let out = self.s3.get_object().bucket(&self.resources.bucket).key(key).send().await.ok()?;
        Some(String::from_utf8(out.body.collect().await.unwrap().into_bytes().to_vec()).unwrap())
    }

    /// Uploads job.json and the template, then the manifest (the trigger).
    pub async fn submit(&self, job_id: &str, job: &Value, template: &str, manifest_name: &str, manifest: &str) {
        self.put(&format!("jobs/{job_id}/job.json"), job.to_string()).await;
        self.put(&format!("jobs/{job_id}/template.html"), template.to_string()).await;
        self.put(&format!("jobs/{job_id}/{manifest_name}"), manifest.to_string()).await;
    }

    pub fn sagemaker(&self) -> aws_sdk_sagemaker::Client {
        aws_sdk_sagemaker::Client::new(&self.sdk)
    }

    /// Puts a message on the training queue, as collect or EventBridge would.
    pub async fn send_training(&self, body: &str) {
        aws_sdk_sqs::Client::new(&self.sdk)
            .send_message()
            .queue_url(&self.resources.training_queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    /// Every training job moto holds whose name contains `name`.
    pub async fn training_jobs(&self, name: &str) -> Vec<String> {
        let out = self.sagemaker().list_training_jobs().name_contains(name).max_results(100).send().await.unwrap();
        out.training_job_summaries().iter().map(|t| t.training_job_name().unwrap_or_default().to_string()).collect()
    }

    /// Emits an event on the default EventBridge bus, as SageMaker does.
    pub async fn put_event(&self, event: &Value) {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(event["source"].as_str().unwrap())
            .detail_type(event["detail-type"].as_str().unwrap())
            .detail(event["detail"].to_string())
            .resources(event["resources"][0].as_str().unwrap_or_default())
            .build();
        let out = aws_sdk_eventbridge::Client::new(&self.sdk).put_events().entries(entry).send().await.unwrap();
        assert_eq!(out.failed_entry_count(), 0, "{out:?}");
    }

    /// Runs a job to the end of labeling, then delivers what is left.
    pub async fn run_job(&self, job_id: &str, job: &Value, manifest: &str) -> Job {
        self.run_jobs(&[(job_id, job.clone(), manifest.to_string())]).await.remove(0)
    }

    /// Submits every job, then runs them all to the end of labeling.
    pub async fn run_jobs(&self, jobs: &[(&str, Value, String)]) -> Vec<Job> {
        for (job_id, job, manifest) in jobs {
            self.submit(job_id, job, &iris_template(), "manifest.csv", manifest).await;
        }
        for (job_id, _, _) in jobs {
            let settled = self.run_until_settled(job_id, false, 240).await;
            assert!(!settled.status.is_active(), "{job_id} is still {}: {}", settled.status, self.stuck(job_id).await);
        }
        self.router.pump_until_idle(100).await;
        let mut out = Vec::new();
        for (job_id, _, _) in jobs {
            out.push(self.job(job_id).await.unwrap());
        }
        out
    }

    pub async fn job(&self, job_id: &str) -> Option<Job> {
        self.store.job(job_id).await.unwrap()
    }

    pub async fn items(&self, job_id: &str) -> Vec<Item> {
        all_items(self.store.as_ref(), job_id).await.unwrap()
    }

    pub async fn item(&self, job_id: &str, item_id: &str) -> Option<Item> {
        self.store.item(job_id, item_id).await.unwrap()
    }

    /// The answers recorded for an item.
    pub async fn answers(&self, job_id: &str, item_id: &str) -> Vec<AnswerRecord> {
        self.item(job_id, item_id).await.map(|i| i.answers).unwrap_or_default()
    }

    /// The functions, as the router runs them.
    pub fn functions(&self) -> &Functions {
        &self.router.functions
    }

    pub async fn advance(&self, seconds: f64) {
        self.http
            .post(format!("{}/_hitloop/clock/advance", self.mturk.url))
            .json(&json!({ "Seconds": seconds }))
            .send()
            .await
            .unwrap();
    }

    /// Waits until every notification the service decided is sent (in
    /// process: a service with a user pool has no control endpoint).
    pub async fn flush(&self) {
        self.mturk.shared.delivered().await;
    }

    pub async fn mturk_state(&self) -> Value {
        self.http.get(format!("{}/_hitloop/state", self.mturk.url)).send().await.unwrap().json().await.unwrap()
    }

    /// Moves simulated time a minute at a time, delivering every event, until
    /// the job leaves `labeling` (or `max_minutes` pass). With `sweep`, the
    /// schedule runs every five simulated minutes too.
    pub async fn run_until_settled(&self, job_id: &str, sweep: bool, max_minutes: usize) -> Job {
        self.router.pump_until_idle(100).await;
        for minute in 0..max_minutes {
            self.flush().await;
            self.router.pump_until_idle(100).await;
            if sweep && minute % 5 == 4 {
                self.router.sweep(SweepLimits { stale_after_ms: 0, max_items: 10_000, ..Default::default() }).await;
                self.flush().await;
                self.router.pump_until_idle(100).await;
            }
            if let Some(job) = self.job(job_id).await {
                if !job.status.is_active() {
                    return job;
                }
            }
            self.advance(60.0).await;
        }
        self.job(job_id).await.expect("the job exists")
    }
}

impl Stack {
    /// Pays money into the marketplace account (a requester topping up).
    pub async fn deposit(&self, amount: &str) {
        self.http
            .post(format!("{}/_hitloop/account/deposit", self.mturk.url))
            .json(&json!({ "Amount": amount }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    /// MTurk notifications to the stack's notification queue.
    pub fn notification_spec(&self) -> aws_sdk_mturk::types::NotificationSpecification {
        aws_sdk_mturk::types::NotificationSpecification::builder()
            .destination(&self.resources.notification_queue_url)
            .transport(aws_sdk_mturk::types::NotificationTransport::Sqs)
            .version("2014-08-15")
            .event_types(aws_sdk_mturk::types::EventType::AssignmentSubmitted)
            .build()
            .unwrap()
    }

    /// Accepts the HIT as `worker` and submits `answer` (Answer XML unchecked, or form fields).
    pub async fn work(&self, hit: &str, worker: &str, answer: &Value) -> bool {
        work_at(&self.http, &self.mturk.url, hit, worker, answer).await.is_some()
    }

    /// A description of every undecided item, for failure messages.
    pub async fn stuck(&self, job_id: &str) -> String {
        let mut out = String::new();
        for i in self.items(job_id).await.into_iter().filter(|i| !i.status.is_decided()).take(5) {
            let hit = match &i.hit_id {
                Some(h) => self.crowd.hit(h).await.map(|h| format!("{h:?}")).unwrap_or_else(|e| e.to_string()),
                None => "no HIT".into(),
            };
            let answers = &i.answers;
            let labels: Vec<_> =
                answers.iter().map(|a| a.label.clone().unwrap_or_else(|| "<invalid>".into())).collect();
            out.push_str(&format!(
                "\n{} {:?} bought={} rounds={} answers={labels:?} hit={hit}",
                i.item_id, i.status, i.bought, i.rounds
            ));
        }
        let state = self.mturk_state().await;
        out.push_str(&format!("\nmturk now {} ; crowd now {}", state["Now"], self.crowd.now_ms()));
        out.push_str(&format!(
            "\nnotifications {} stats {} assignments {}",
            state["Notifications"], state["Stats"], state["Assignments"]
        ));
        let sqs = aws_sdk_sqs::Client::new(&hitloop_local::local_sdk(&aws_endpoint()).await);
        for q in [&self.resources.notification_queue_url, &self.resources.publish_queue_url] {
            let a = sqs
                .get_queue_attributes()
                .queue_url(q)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await
                .unwrap();
            out.push_str(&format!(
                "\n{q}: {:?}",
                a.attributes().map(|m| m
                    .iter()
                    .filter(|(k, _)| k.as_str().contains("Approximate"))
                    .map(|(k, v)| format!("{}={v}", k.as_str()))
                    .collect::<Vec<_>>())
            ));
        }
        let dlq = self.resources.notification_queue_url.replace("NotificationQueue", "NotificationDLQ");
        let a = sqs
            .get_queue_attributes()
            .queue_url(&dlq)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        out.push_str(&format!("\nDLQ: {:?}", a.attributes()));
        out
    }
}
