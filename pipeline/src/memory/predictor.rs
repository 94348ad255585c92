//! An endpoint in memory: it answers every row with the same line (as a
//! model that always says the same would), or refuses; it counts requests.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};

use crate::ports::EndpointPredictor;

#[derive(Default)]
pub struct MemoryPredictor {
    /// endpoint -> the line it answers each row with.
    endpoints: Mutex<BTreeMap<String, String>>,
    requests: Mutex<Vec<(String, usize)>>,
}

impl MemoryPredictor {
    pub fn new() -> Self {
        Self::default()
    }

    /// `endpoint` serves, answering each row with `line`.
    pub fn serve(&self, endpoint: &str, line: &str) {
        if let Ok(mut e) = self.endpoints.lock() {
            e.insert(endpoint.into(), line.into());
        }
    }

    /// The requests made: endpoint and rows, in order.
    pub fn requests(&self) -> Vec<(String, usize)> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
        m.lock().map_err(|_| Error::Permanent("the memory predictor's lock is poisoned".into()))
    }
}

#[async_trait]
impl EndpointPredictor for MemoryPredictor {
    async fn predict(&self, endpoint: &str, rows_csv: &str) -> Result<std::result::Result<String, String>> {
        let rows = rows_csv.lines().filter(|l| !l.trim().is_empty()).count();
        Self::lock(&self.requests)?.push((endpoint.into(), rows));
        Ok(match Self::lock(&self.endpoints)?.get(endpoint) {
            Some(line) => Ok(format!("{line}\n").repeat(rows)),
            None => Err(format!("Endpoint {endpoint} not found.")),
        })
    }
}
