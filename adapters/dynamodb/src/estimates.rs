//! Worker estimates: what a worker model knows of each worker of a job, one
//! record each, read in batches for the workers who answered an item; and
//! the refit that writes them: the items marked for it (a sparse index),
//! the job's model record, and one transaction per refit, conditional on
//! the model's generation and each item's version.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, PutRequest, TransactWriteItem, Update, WriteRequest};
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};
use hitloop_core::plan::refit::Refit;
use hitloop_core::records::{Item, JobModel, WorkerEstimate};
use hitloop_pipeline::ports::WorkerModels;

use crate::codec::{self, EstimateRow, ItemRow, ModelRow};
use crate::keys::{item_key, job_pk, key, model_key, n, refit_pk, s, worker_sk, ITEMS_TO_REFIT, MODEL_SK};
use crate::txn::{built, transact};
use crate::DynamoStore;

#[async_trait]
impl WorkerModels for DynamoStore {
    async fn estimates(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerEstimate>> {
        let keys = workers.iter().map(|w| key(job_pk(job_id), worker_sk(w))).collect();
        let mut out = BTreeMap::new();
        for found in self.get_many(keys, false).await? {
            let row: EstimateRow = codec::decode(&format!("worker estimate of job {job_id}"), found)?;
            out.insert(row.estimate.worker_id.clone(), row.estimate);
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

    async fn items_to_refit(&self, job_id: &str, limit: usize) -> Result<Vec<Item>> {
        self.items_marked_for_refit(job_id, limit).await
    }

    async fn job_model(&self, job_id: &str) -> Result<JobModel> {
        self.read_job_model(job_id).await
    }

    async fn apply_refit(&self, refit: &Refit) -> Result<bool> {
        self.write_refit(refit).await
    }
}

/// What refits read and write: the refit index, the job's model record,
/// and one transaction per refit.
#[async_trait]
pub(crate) trait RefitRecords {
    async fn refit_keys(&self, job_id: &str, limit: usize) -> Result<Vec<String>>;
}

#[async_trait]
impl RefitRecords for DynamoStore {
    /// Item ids in the job's partition of the refit index (keys only: the
    /// items are then read from the table, consistently).
    async fn refit_keys(&self, job_id: &str, limit: usize) -> Result<Vec<String>> {
        let resp = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ITEMS_TO_REFIT)
            .key_condition_expression("refit_pk = :pk")
            .expression_attribute_values(":pk", s(refit_pk(job_id)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(classify)?;
        Ok(resp.items().iter().filter_map(|i| i.get("refit_sk")?.as_s().ok().cloned()).collect())
    }
}

impl DynamoStore {
    pub(crate) async fn items_marked_for_refit(&self, job_id: &str, limit: usize) -> Result<Vec<Item>> {
        let ids = self.refit_keys(job_id, limit).await?;
        let keys = ids.iter().map(|i| item_key(job_id, i)).collect();
        let mut out = Vec::new();
        for found in self.get_many(keys, true).await? {
            let row: ItemRow = codec::decode(&format!("item of job {job_id}"), found)?;
            // The index may lag: an item refitted since is no longer marked.
            if row.refit_pk.is_some() {
                out.push(codec::item_from(row)?);
            }
        }
        out.sort_by(|a, b| a.item_id.cmp(&b.item_id));
        Ok(out)
    }

    pub(crate) async fn read_job_model(&self, job_id: &str) -> Result<JobModel> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(model_key(job_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        match resp.item {
            Some(attrs) => Ok(codec::decode::<ModelRow>(&format!("worker model of job {job_id}"), attrs)?.model),
            None => Ok(JobModel::default()),
        }
    }

    pub(crate) async fn write_refit(&self, r: &Refit) -> Result<bool> {
        let mut parts = Vec::with_capacity(r.items.len() + r.estimates.len() + 1);
        let row =
            ModelRow { pk: job_pk(&r.job_id), sk: MODEL_SK.into(), job_id: r.job_id.clone(), model: r.model.clone() };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(codec::encode("worker model", &row)?))
            .condition_expression("attribute_not_exists(pk) OR generation = :g")
            .expression_attribute_values(":g", n(r.read_generation));
        parts.push(TransactWriteItem::builder().put(built(put.build())?).build());
        for item in &r.items {
            let mut u = Update::builder()
                .table_name(&self.table)
                .set_key(Some(item_key(&r.job_id, &item.item_id)))
                .condition_expression("version = :v AND attribute_exists(refit_pk)")
                .expression_attribute_values(":v", n(item.version));
            u = match &item.model {
                Some(m) => {
                    let value = serde_dynamo::to_attribute_value(m)
                        .map_err(|e| Error::Permanent(format!("an item's model cannot be stored: {e}")))?;
                    u.update_expression("SET model = :m REMOVE refit_pk, refit_sk")
                        .expression_attribute_values(":m", value)
                }
                None => u.update_expression("REMOVE model, refit_pk, refit_sk"),
            };
            parts.push(TransactWriteItem::builder().update(built(u.build())?).build());
        }
        for e in &r.estimates {
            let row = EstimateRow {
                pk: job_pk(&r.job_id),
                sk: worker_sk(&e.worker_id),
                job_id: r.job_id.clone(),
                estimate: e.clone(),
            };
            let put = Put::builder().table_name(&self.table).set_item(Some(codec::encode("worker estimate", &row)?));
            parts.push(TransactWriteItem::builder().put(built(put.build())?).build());
        }
        Ok(transact(&self.client, parts).await?.is_none())
    }
}
