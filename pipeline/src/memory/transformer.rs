//! Transform jobs in memory: started once per name, `InProgress` until the
//! test ends them (`finish`).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};
use hitloop_core::plan::deploy::DeployRequest;
use hitloop_core::transform_job::{TransformRequest, TransformView};

use crate::ports::Transformer;

#[derive(Default)]
pub struct MemoryTransformer {
    jobs: Mutex<BTreeMap<String, (TransformRequest, TransformView)>>,
}

impl MemoryTransformer {
    pub fn new() -> Self {
        Self::default()
    }

    fn jobs(&self) -> Result<MutexGuard<'_, BTreeMap<String, (TransformRequest, TransformView)>>> {
        self.jobs.lock().map_err(|_| Error::Permanent("the memory transformer's lock is poisoned".into()))
    }

    /// Transform jobs started, by name.
    pub fn started(&self) -> Vec<TransformRequest> {
        self.jobs().map(|j| j.values().map(|(r, _)| r.clone()).collect()).unwrap_or_default()
    }

    /// The transform job ends with `status` (Completed, Failed).
    pub fn finish(&self, name: &str, status: &str, reason: Option<&str>) -> Option<TransformView> {
        let mut jobs = self.jobs().ok()?;
        let (_, view) = jobs.get_mut(name)?;
        view.status = status.into();
        view.failure_reason = reason.map(str::to_string);
        Some(view.clone())
    }
}

fn tag(r: &TransformRequest, key: &str) -> Option<String> {
    r.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[async_trait]
impl Transformer for MemoryTransformer {
    async fn start(&self, model: &DeployRequest, r: &TransformRequest) -> Result<std::result::Result<(), String>> {
        if model.image.trim().is_empty() {
            return Ok(Err(format!("could not find the image {:?}", model.image)));
        }
        let view = TransformView {
            name: r.name.clone(),
            status: "InProgress".into(),
            failure_reason: None,
            job_id: tag(r, hitloop_core::transform_job::JOB_TAG),
            batch: tag(r, hitloop_core::transform_job::BATCH_TAG),
        };
        self.jobs()?.entry(r.name.clone()).or_insert((r.clone(), view));
        Ok(Ok(()))
    }

    async fn describe(&self, name: &str) -> Result<Option<TransformView>> {
        Ok(self.jobs()?.get(name).map(|(_, v)| v.clone()))
    }
}
