//! Worker estimates: what a worker model knows of each worker of a job, one
//! record each, read in batches for the workers who answered an item.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{KeysAndAttributes, PutRequest, WriteRequest};
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};
use hitloop_core::records::WorkerEstimate;
use hitloop_pipeline::ports::WorkerModels;

use crate::codec::{self, EstimateRow};
use crate::keys::{job_pk, key, worker_sk, Attrs};
use crate::txn::built;
use crate::DynamoStore;

#[async_trait]
impl WorkerModels for DynamoStore {
    async fn estimates(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerEstimate>> {
        let mut out = BTreeMap::new();
        for chunk in workers.chunks(100) {
            let keys: Vec<Attrs> = chunk.iter().map(|w| key(job_pk(job_id), worker_sk(w))).collect();
            let mut request = Some(built(KeysAndAttributes::builder().set_keys(Some(keys)).build())?);
            while let Some(req) = request.take() {
                let resp =
                    self.client.batch_get_item().request_items(&self.table, req).send().await.map_err(classify)?;
                for found in resp.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                    let row: EstimateRow = codec::decode(&format!("worker estimate of job {job_id}"), found.clone())?;
                    out.insert(row.estimate.worker_id.clone(), row.estimate);
                }
                request =
                    resp.unprocessed_keys().and_then(|u| u.get(&self.table)).cloned().filter(|k| !k.keys().is_empty());
            }
        }
        Ok(out)
    }

    async fn put_estimates(&self, job_id: &str, estimates: &[WorkerEstimate]) -> Result<()> {
        for chunk in estimates.chunks(25) {
            let mut writes = Vec::with_capacity(chunk.len());
            for e in chunk {
                let row = EstimateRow {
                    pk: job_pk(job_id),
                    sk: worker_sk(&e.worker_id),
                    job_id: job_id.into(),
                    estimate: e.clone(),
                };
                let item = codec::encode("worker estimate", &row)?;
                writes.push(
                    WriteRequest::builder()
                        .put_request(built(PutRequest::builder().set_item(Some(item)).build())?)
                        .build(),
                );
            }
            let mut pending = Some(writes);
            let mut attempt = 0u32;
            while let Some(w) = pending.take() {
                let resp =
                    self.client.batch_write_item().request_items(&self.table, w).send().await.map_err(classify)?;
                let left = resp.unprocessed_items().and_then(|u| u.get(&self.table)).cloned().unwrap_or_default();
                if !left.is_empty() {
                    attempt += 1;
                    if attempt > 8 {
                        return Err(Error::Retryable("DynamoDB kept estimates unprocessed".into()));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5))).await;
                    pending = Some(left);
                }
            }
        }
        Ok(())
    }
}
