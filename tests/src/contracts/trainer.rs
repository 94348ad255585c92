//! Trainer: a training job is started by name and described after.

use std::collections::BTreeMap;

use hitloop_core::training_job::{StartError, TrainingRequest};
use hitloop_pipeline::ports::Trainer;

pub fn request(name: &str, bucket: &str) -> TrainingRequest {
    TrainingRequest {
        name: name.into(),
        image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into(),
        role_arn: "arn:aws:iam::123456789012:role/hitloop-sagemaker".into(),
        instance_type: "ml.m5.large".into(),
        instance_count: 1,
        volume_size_gb: 10,
        max_runtime_seconds: 3600,
        hyperparameters: BTreeMap::from([("num_round".to_string(), "10".to_string())]),
        train_uri: format!("s3://{bucket}/jobs/j/output/train/"),
        test_uri: Some(format!("s3://{bucket}/jobs/j/output/test/")),
        test_channel: "validation".into(),
        content_type: "text/csv".into(),
        output_uri: format!("s3://{bucket}/jobs/j/output/model/"),
        tags: vec![("hitloop:job-id".into(), "j".into())],
    }
}

pub async fn trainer(t: &dyn Trainer, name: &str, bucket: &str) {
    assert_eq!(t.describe(name).await.unwrap(), None);
    let arn = t.start(&request(name, bucket)).await.unwrap().unwrap();
    assert!(arn.ends_with(name), "{arn}");
    // SageMaker refuses a second job of the name (ResourceInUse); moto does
    // not, so the train step never relies on it (it describes first and
    // holds a claim). Either way there is one job of that name.
    match t.start(&request(name, bucket)).await.unwrap() {
        Err(StartError::Exists) => {}
        Ok(again) => assert_eq!(again, arn, "the same job"),
        Err(other) => panic!("{other:?}"),
    }
    let view = t.describe(name).await.unwrap().unwrap();
    assert_eq!((view.name.as_str(), view.arn.as_deref()), (name, Some(arn.as_str())));
    assert!(["InProgress", "Completed"].contains(&view.status.as_str()), "{}", view.status);
}
