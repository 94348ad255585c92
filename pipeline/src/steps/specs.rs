//! The job specs collect reads, kept for a while in the process: a live
//! job's spec never changes but for its budget (which the store checks
//! itself), so a warm function reads each job's spec once, not once per
//! notification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hitloop_core::error::Result;
use hitloop_core::job::JobSpec;

use crate::ports::Jobs;

/// Long enough to serve a busy job from memory, short enough that a job id
/// reused after a failed upload is read again soon.
const KEEP: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct SpecCache {
    specs: Mutex<HashMap<String, (Instant, Arc<JobSpec>)>>,
}

impl SpecCache {
    /// The job's spec; None if there is no such job.
    pub async fn get(&self, jobs: &dyn Jobs, job_id: &str) -> Result<Option<Arc<JobSpec>>> {
        if let Some(spec) = self.cached(job_id) {
            return Ok(Some(spec));
        }
        let Some(job) = jobs.job(job_id).await? else { return Ok(None) };
        let spec = Arc::new(job.spec);
        if let Ok(mut specs) = self.specs.lock() {
            specs.insert(job_id.to_string(), (Instant::now(), spec.clone()));
        }
        Ok(Some(spec))
    }

    fn cached(&self, job_id: &str) -> Option<Arc<JobSpec>> {
        let specs = self.specs.lock().ok()?;
        let (at, spec) = specs.get(job_id)?;
        (at.elapsed() < KEEP).then(|| spec.clone())
    }
}
