//! Endpoints in memory: created `Creating`, moved on by the test
//! (`settle`), every model and configuration kept until deleted.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};
use hitloop_core::plan::deploy::{DeployRequest, EndpointView};

use crate::ports::Deployer;

#[derive(Default)]
struct State {
    models: BTreeMap<String, DeployRequest>,
    endpoints: BTreeMap<String, EndpointView>,
    calls: usize,
}

#[derive(Default)]
pub struct MemoryDeployer {
    state: Mutex<State>,
}

impl MemoryDeployer {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Error::Permanent("the memory deployer's lock is poisoned".into()))
    }

    /// The endpoint reaches `status` (InService, Failed, ...).
    pub fn settle(&self, name: &str, status: &str, reason: Option<&str>) -> Option<EndpointView> {
        let mut s = self.state().ok()?;
        let e = s.endpoints.get_mut(name)?;
        e.status = status.into();
        e.failure_reason = reason.map(str::to_string);
        Some(e.clone())
    }

    /// The models kept, by name.
    pub fn models(&self) -> Vec<String> {
        self.state().map(|s| s.models.keys().cloned().collect()).unwrap_or_default()
    }

    /// Calls of `deploy` that created or changed something.
    pub fn changes(&self) -> usize {
        self.state().map(|s| s.calls).unwrap_or_default()
    }
}

#[async_trait]
impl Deployer for MemoryDeployer {
    async fn deploy(&self, r: &DeployRequest) -> Result<std::result::Result<(), String>> {
        let mut s = self.state()?;
        if r.image.trim().is_empty() {
            return Ok(Err(format!("could not find the image {:?}", r.image)));
        }
        let mut changed = s.models.insert(r.model.clone(), r.clone()).is_none();
        let serving = s.endpoints.get(&r.endpoint).and_then(|e| e.config.clone());
        if serving.as_deref() != Some(r.model.as_str()) {
            let status = if serving.is_some() { "Updating" } else { "Creating" };
            s.endpoints.insert(
                r.endpoint.clone(),
                EndpointView {
                    name: r.endpoint.clone(),
                    status: status.into(),
                    failure_reason: None,
                    config: Some(r.model.clone()),
                },
            );
            changed = true;
        }
        if changed {
            s.calls += 1;
        }
        Ok(Ok(()))
    }

    async fn endpoint(&self, name: &str) -> Result<Option<EndpointView>> {
        Ok(self.state()?.endpoints.get(name).cloned())
    }

    async fn delete_endpoint(&self, name: &str) -> Result<bool> {
        Ok(self.state()?.endpoints.remove(name).is_some())
    }

    async fn delete_model(&self, name: &str) -> Result<bool> {
        Ok(self.state()?.models.remove(name).is_some())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use hitloop_core::deploy::Serving;

    use super::*;

    fn request(version: u32) -> DeployRequest {
        DeployRequest {
            version,
            model: format!("hitloop-j-abcdef-v{version}"),
            endpoint: "hitloop-j-abcdef".into(),
            image: "img".into(),
            model_data: "s3://b/m.tar.gz".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            serving: Serving::Serverless { memory_mb: 2048, max_concurrency: 5 },
            tags: vec![],
        }
    }

    #[tokio::test]
    async fn a_new_version_moves_the_endpoint_and_keeps_the_old_model() {
        let d = MemoryDeployer::new();
        d.deploy(&request(1)).await.unwrap().unwrap();
        d.settle("hitloop-j-abcdef", "InService", None);
        d.deploy(&request(2)).await.unwrap().unwrap();
        let e = d.endpoint("hitloop-j-abcdef").await.unwrap().unwrap();
        assert_eq!((e.status.as_str(), e.config.as_deref()), ("Updating", Some("hitloop-j-abcdef-v2")));
        assert_eq!(d.models(), ["hitloop-j-abcdef-v1", "hitloop-j-abcdef-v2"], "the old one until the new serves");
        d.deploy(&request(2)).await.unwrap().unwrap();
        assert_eq!(d.changes(), 2, "the same version again changes nothing");
        let mut bad = request(3);
        bad.image = " ".into();
        assert!(d.deploy(&bad).await.unwrap().is_err(), "a refusal says why");
    }
}
