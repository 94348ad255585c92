//! Prediction batches: one record per batch under its job's partition
//! (`BATCH#<batch>`), replaced whole by conditional puts on its status.

use async_trait::async_trait;
use hitloop_aws::classify;
use hitloop_core::error::Result;
use hitloop_core::records::{BatchStatus, PredictionBatch};
use hitloop_pipeline::ports::Batches;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::keys::{batch_key, job_pk, open_sk, s, BATCH_PREFIX, OPEN_BATCHES, OPEN_ITEMS};
use crate::txn::applied;
use crate::DynamoStore;

#[derive(Debug, Serialize, Deserialize)]
struct BatchRow {
    pk: String,
    sk: String,
    /// The status again, top level, for the conditions.
    batch_status: String,
    /// In the open-items index while open (`OPEN_BATCHES`, `<job>#<batch>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open_sk: Option<String>,
    #[serde(flatten)]
    batch: PredictionBatch,
}

fn status_name(status: BatchStatus) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn row(b: &PredictionBatch) -> BatchRow {
    BatchRow {
        pk: job_pk(&b.job_id),
        sk: format!("{BATCH_PREFIX}{}", b.batch),
        batch_status: status_name(b.status),
        open_shard: b.is_open().then(|| OPEN_BATCHES.to_string()),
        open_sk: b.is_open().then(|| open_sk(&b.job_id, &b.batch)),
        batch: b.clone(),
    }
}

#[async_trait]
impl Batches for DynamoStore {
    async fn put_batch(&self, batch: &PredictionBatch) -> Result<bool> {
        let item = codec::encode("a prediction batch", &row(batch))?;
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR batch_status = :failed")
            .expression_attribute_values(":failed", s(status_name(BatchStatus::Failed)))
            .send()
            .await;
        applied(r)
    }

    async fn batch(&self, job_id: &str, batch: &str) -> Result<Option<PredictionBatch>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(batch_key(job_id, batch)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(found) = out.item else { return Ok(None) };
        let row: BatchRow = codec::decode(&format!("prediction batch {batch} of job {job_id}"), found)?;
        Ok(Some(row.batch))
    }

    async fn update_batch(&self, next: &PredictionBatch, from: &[BatchStatus]) -> Result<bool> {
        let item = codec::encode("a prediction batch", &row(next))?;
        let names: Vec<String> = (0..from.len()).map(|i| format!(":f{i}")).collect();
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(format!("batch_status IN ({})", names.join(", ")));
        for (name, status) in names.iter().zip(from) {
            req = req.expression_attribute_values(name, s(status_name(*status)));
        }
        applied(req.send().await)
    }

    async fn job_batches(&self, job_id: &str) -> Result<Vec<PredictionBatch>> {
        let mut batches = Vec::new();
        for found in self.all_prefixed(job_id, BATCH_PREFIX).await? {
            let row: BatchRow = codec::decode(&format!("a prediction batch of job {job_id}"), found)?;
            batches.push(row.batch);
        }
        Ok(batches)
    }

    async fn open_batches(&self, limit: usize) -> Result<Vec<PredictionBatch>> {
        let mut batches = Vec::new();
        let mut start = None;
        while batches.len() < limit {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(OPEN_ITEMS)
                .key_condition_expression("open_shard = :batches")
                .expression_attribute_values(":batches", s(OPEN_BATCHES))
                .limit((limit - batches.len()).min(1000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for found in out.items().iter().cloned() {
                let row: BatchRow = codec::decode("an open prediction batch", found)?;
                batches.push(row.batch);
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        Ok(batches)
    }
}
