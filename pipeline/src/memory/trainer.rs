//! Training jobs in memory: started once per name, described as they were
//! started (a test moves them on with `finish`).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};
use hitloop_core::training_job::{StartError, TrainingRequest, TrainingView};

use crate::ports::Trainer;

#[derive(Default)]
pub struct MemoryTrainer {
    jobs: Mutex<HashMap<String, (TrainingRequest, TrainingView)>>,
}

impl MemoryTrainer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The request a training job was started with.
    pub fn request(&self, name: &str) -> Option<TrainingRequest> {
        self.jobs.lock().ok()?.get(name).map(|(r, _)| r.clone())
    }

    pub fn started(&self) -> usize {
        self.jobs.lock().map(|j| j.len()).unwrap_or_default()
    }

    /// The training job ends with `status` (Completed, Failed, Stopped).
    pub fn finish(&self, name: &str, status: &str) -> Option<TrainingView> {
        let mut jobs = self.jobs.lock().ok()?;
        let (_, view) = jobs.get_mut(name)?;
        view.status = status.into();
        if status == "Completed" {
            view.model_artifacts = Some(format!("s3://models/{name}/output/model.tar.gz"));
        }
        Some(view.clone())
    }
}

#[async_trait]
impl Trainer for MemoryTrainer {
    async fn describe(&self, name: &str) -> Result<Option<TrainingView>> {
        let jobs = self.jobs.lock().map_err(|_| Error::Permanent("poisoned".into()))?;
        Ok(jobs.get(name).map(|(_, v)| v.clone()))
    }

    async fn start(&self, request: &TrainingRequest) -> Result<std::result::Result<String, StartError>> {
        let mut jobs = self.jobs.lock().map_err(|_| Error::Permanent("poisoned".into()))?;
        if jobs.contains_key(&request.name) {
            return Ok(Err(StartError::Exists));
        }
        let arn = format!("arn:aws:sagemaker:us-east-1:000000000000:training-job/{}", request.name);
        let view = TrainingView {
            name: request.name.clone(),
            arn: Some(arn.clone()),
            status: "InProgress".into(),
            failure_reason: None,
            model_artifacts: None,
            held_out_accuracy: None,
        };
        jobs.insert(request.name.clone(), (request.clone(), view));
        Ok(Ok(arn))
    }
}
