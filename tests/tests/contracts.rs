//! Each port's contract (tests/src/contracts) against its in-memory version
//! and its AWS adapter: DynamoDB, S3, SQS, SageMaker and CloudWatch on moto
//! server, SageMaker Runtime against the local stack's stand-in, the
//! marketplace against hitloop's MTurk-compatible service. The memory runs
//! need no server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

mod common;

use std::sync::Arc;

use common::*;
use hitloop_cloudwatch::CloudWatchUsage;
use hitloop_core::money::Usd;
use hitloop_dynamodb::DynamoStore;
use hitloop_local::invocations::LocalInvocations;
use hitloop_mturk_client::MturkCrowd;
use hitloop_pipeline::memory::{
    MemoryBlobs, MemoryCrowd, MemoryDeployer, MemoryPredictor, MemoryQueue, MemoryStore, MemoryTrainer,
};
use hitloop_pipeline::ports::{Blobs, Deployer, EndpointPredictor, EndpointUsage};
use hitloop_s3::S3Blobs;
use hitloop_sagemaker::{SageMakerDeployer, SageMakerTrainer};
use hitloop_sagemaker_runtime::SageMakerPredictor;
use hitloop_sqs::SqsQueue;
use hitloop_tests::contracts;
use hitloop_workforce::server::{start, ServerConfig};
use serde_json::json;

fn unique(name: &str) -> String {
    format!("{name}{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

async fn moto() -> (hitloop_aws::SdkConfig, hitloop_local::resources::StackResources) {
    let sdk = hitloop_local::local_sdk(&aws_endpoint()).await;
    let resources = hitloop_local::resources::create(&sdk, &unique("ct")).await.unwrap();
    (sdk, resources)
}

#[tokio::test]
async fn store_in_memory() {
    contracts::store::store(&MemoryStore::new(), "m").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_on_dynamodb() {
    let (sdk, resources) = moto().await;
    contracts::store::store(&DynamoStore::from_sdk(&sdk, &resources.table), "d").await;
}

#[tokio::test]
async fn blobs_in_memory() {
    contracts::blobs::blobs(&MemoryBlobs::new(), "bucket", "jobs/ct").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_on_s3() {
    let (sdk, resources) = moto().await;
    contracts::blobs::blobs(&S3Blobs::from_sdk(&sdk), &resources.bucket, "jobs/ct").await;
}

#[tokio::test]
async fn queue_in_memory() {
    let q = MemoryQueue::new();
    contracts::queue::queue(&q, "q", || async { q.take("q") }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_on_sqs() {
    let (sdk, resources) = moto().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = resources.publish_queue_url.clone();
    contracts::queue::queue(&SqsQueue::from_sdk(&sdk), &url, || async {
        let out = sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.unwrap();
        out.messages().iter().filter_map(|m| m.body().map(str::to_string)).collect()
    })
    .await;
}

#[tokio::test]
async fn trainer_in_memory() {
    contracts::trainer::trainer(&MemoryTrainer::new(), "hitloop-ct-abcdef", "bucket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainer_on_sagemaker() {
    let (sdk, resources) = moto().await;
    contracts::trainer::trainer(&SageMakerTrainer::from_sdk(&sdk), &unique("hitloop-ct-"), &resources.bucket).await;
}

#[tokio::test]
async fn deployer_in_memory() {
    contracts::deployer::deployer(&MemoryDeployer::new(), "ct", "bucket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployer_on_sagemaker() {
    let (sdk, resources) = moto().await;
    contracts::deployer::deployer(&SageMakerDeployer::from_sdk(&sdk), &unique("ct"), &resources.bucket).await;
}

#[tokio::test]
async fn predictor_in_memory() {
    let p = MemoryPredictor::new();
    p.serve("hitloop-ct-serving", "0.7");
    contracts::predictor::predictor(&p, "hitloop-ct-serving", "hitloop-ct-unknown").await;
}

/// SageMaker Runtime's adapter against the local stand-in, serving a model
/// the local trainer fitted, deployed on moto as train deploys one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictor_on_sagemaker_runtime() {
    let (sdk, resources) = moto().await;
    let job_id = unique("ct");
    let request = contracts::deployer::request(&job_id, 1, &resources.bucket);
    let rows: String = (0..40).map(|n| format!("{},{}.{n},0.5\n", n % 2, n % 2)).collect();
    let fitted = hitloop_local::trainer::fit(&rows, None, 2, 7).unwrap();
    let archive = hitloop_local::trainer::model_archive(&fitted).unwrap();
    let key = request.model_data.trim_start_matches(&format!("s3://{}/", resources.bucket)).to_string();
    S3Blobs::from_sdk(&sdk).put(&resources.bucket, &key, archive, "application/gzip").await.unwrap();
    assert_eq!(SageMakerDeployer::from_sdk(&sdk).deploy(&request).await.unwrap(), Ok(()));
    let invocations = LocalInvocations::start(&sdk, 0).await.unwrap();
    let p = SageMakerPredictor::from_sdk(&sdk, Some(&invocations.url));
    contracts::predictor::predictor(&p, &request.endpoint, &format!("{}-unknown", request.endpoint)).await;
    // Rows the model cannot read are refused by it, too.
    let refused = p.predict(&request.endpoint, "not,numbers\n").await.unwrap().expect_err("a model error");
    assert!(refused.starts_with("ModelError"), "{refused}");
}

/// CloudWatch's adapter on moto: the requests counted for one endpoint in a
/// window, none for another or outside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_usage_on_cloudwatch() {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let (sdk, _) = moto().await;
    let endpoint = unique("hitloop-ct-");
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    for _ in 0..3 {
        let datum = MetricDatum::builder()
            .metric_name("Invocations")
            .dimensions(Dimension::builder().name("EndpointName").value(&endpoint).build())
            .dimensions(Dimension::builder().name("VariantName").value(hitloop_core::deploy::VARIANT).build())
            .value(1.0)
            .build();
        cloudwatch.put_metric_data().namespace("AWS/SageMaker").metric_data(datum).send().await.unwrap();
    }
    let usage = CloudWatchUsage::from_sdk(&sdk);
    let now = hitloop_core::records::now_ms();
    let hour = 3_600_000;
    assert_eq!(usage.invocations(&endpoint, now - hour, now + 60_000).await.unwrap(), 3);
    assert_eq!(usage.invocations(&format!("{endpoint}-other"), now - hour, now + 60_000).await.unwrap(), 0);
    assert_eq!(usage.invocations(&endpoint, now - 3 * hour, now - 2 * hour).await.unwrap(), 0, "before them");
}

#[tokio::test]
async fn crowd_in_memory() {
    let c = Arc::new(MemoryCrowd::new(1_800_000_000_000, Usd::from_cents(10_000)));
    let worker = c.clone();
    let work: contracts::crowd::Work = Box::new(move |hit, who, answer| {
        let worker = worker.clone();
        Box::pin(async move { worker.work(&hit, &who, &answer).unwrap() })
    });
    contracts::crowd::crowd(c.as_ref(), work, "hl1-contract").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crowd_on_the_mturk_compatible_service() {
    let service = start(ServerConfig { speed: 0.0, ..Default::default() }).await.unwrap();
    // Signing as the functions do: with the key in a Secrets Manager secret.
    let sdk = hitloop_local::local_sdk(&aws_endpoint()).await;
    let stack = format!("contract{}", uuid::Uuid::new_v4().simple());
    let marketplace = hitloop_local::marketplace::Marketplace::of(&sdk, &stack, &service).await.unwrap();
    let signing = hitloop_secrets::signing_with_key_in(&sdk, &marketplace.key_secret);
    let crowd = MturkCrowd::new(&signing, &service.url, std::time::Duration::from_secs(10));
    let (http, url) = (reqwest::Client::new(), service.url.clone());
    let work: contracts::crowd::Work = Box::new(move |hit, who, answer| {
        let (http, url) = (http.clone(), url.clone());
        Box::pin(async move { work_at(&http, &url, &hit, &who, &json!({ "Answer": answer })).await.unwrap() })
    });
    contracts::crowd::crowd(&crowd, work, "hl1-contract").await;
    service.stop().await;
}
