//! Deployer: a model, its endpoint configuration and an endpoint created by
//! name, safe to repeat; moved to a new model version; described; deleted
//! once.

use hitloop_core::deploy::{endpoint_name, model_name, Serving};
use hitloop_core::plan::deploy::DeployRequest;
use hitloop_pipeline::ports::Deployer;

pub fn request(job_id: &str, version: u32, bucket: &str) -> DeployRequest {
    DeployRequest {
        version,
        model: model_name(job_id, 1, version),
        endpoint: endpoint_name(job_id, 1),
        image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into(),
        model_data: format!("s3://{bucket}/jobs/{job_id}/output/model/m/output/model.tar.gz"),
        role_arn: "arn:aws:iam::123456789012:role/hitloop-sagemaker".into(),
        serving: Serving::Serverless { memory_mb: 2048, max_concurrency: 5 },
        tags: vec![("hitloop:job-id".into(), job_id.into())],
    }
}

pub async fn deployer(d: &dyn Deployer, job_id: &str, bucket: &str) {
    let first = request(job_id, 1, bucket);
    assert_eq!(d.endpoint(&first.endpoint).await.unwrap(), None, "no endpoint yet");
    assert_eq!(d.deploy(&first).await.unwrap(), Ok(()));
    assert_eq!(d.deploy(&first).await.unwrap(), Ok(()), "again: what exists counts as done");
    let e = d.endpoint(&first.endpoint).await.unwrap().expect("the endpoint");
    assert_eq!((e.name.as_str(), e.config.as_deref()), (first.endpoint.as_str(), Some(first.model.as_str())));
    assert!(["Creating", "InService"].contains(&e.status.as_str()), "{}", e.status);

    // A new model version moves the endpoint; the old model stays.
    let second = request(job_id, 2, bucket);
    assert_eq!(d.deploy(&second).await.unwrap(), Ok(()));
    assert_eq!(d.deploy(&second).await.unwrap(), Ok(()), "again: already moving or moved");
    let e = d.endpoint(&first.endpoint).await.unwrap().expect("the endpoint");
    assert_eq!(e.config.as_deref(), Some(second.model.as_str()));

    assert!(d.delete_endpoint(&first.endpoint).await.unwrap());
    assert!(!d.delete_endpoint(&first.endpoint).await.unwrap(), "deleted once");
    assert_eq!(d.endpoint(&first.endpoint).await.unwrap(), None);
    assert!(d.delete_model(&first.model).await.unwrap(), "version 1 was kept");
    assert!(!d.delete_model(&first.model).await.unwrap(), "deleted once");
    assert!(d.delete_model(&second.model).await.unwrap());
}
