//! Worker standings: per job and worker, the gold answers (added by the item
//! writes that record them, in `money.rs`) and the block, set once, in one
//! transaction with the job's count of blocks.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use hitloop_core::error::Result;
use hitloop_core::records::WorkerStanding;
use hitloop_pipeline::ports::Standings;

use crate::codec::{self, StandingRow};
use crate::keys::{n, s, standing_key, state_key, STANDING_PREFIX};
use crate::txn::{applied, built, transact};
use crate::DynamoStore;

#[async_trait]
impl Standings for DynamoStore {
    async fn standings(&self, job_id: &str, workers: &[String]) -> Result<BTreeMap<String, WorkerStanding>> {
        let keys = workers.iter().map(|w| standing_key(job_id, w)).collect();
        let mut out = BTreeMap::new();
        // Consistent: a block just written must be seen by the next decision.
        for found in self.get_many(keys, true).await? {
            let row: StandingRow = codec::decode(&format!("worker standing of job {job_id}"), found)?;
            out.insert(row.standing.worker_id.clone(), row.standing);
        }
        Ok(out)
    }

    async fn all_standings(&self, job_id: &str) -> Result<Vec<WorkerStanding>> {
        let mut out = Vec::new();
        for found in self.all_prefixed(job_id, STANDING_PREFIX).await? {
            let row: StandingRow = codec::decode(&format!("worker standing of job {job_id}"), found)?;
            out.push(row.standing);
        }
        Ok(out)
    }

    async fn block(&self, job_id: &str, worker_id: &str, reason: &str, now: i64) -> Result<bool> {
        let standing = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(standing_key(job_id, worker_id)))
                .update_expression("SET worker_id = :w, blocked = :why, blocked_at = :now")
                .condition_expression("attribute_not_exists(blocked)")
                .expression_attribute_values(":w", s(worker_id))
                .expression_attribute_values(":why", s(reason))
                .expression_attribute_values(":now", n(now))
                .build(),
        )?;
        let job = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(state_key(job_id)))
                .update_expression(
                    "ADD workers_blocked :one SET redecided_blocks = if_not_exists(redecided_blocks, :zero)",
                )
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":zero", n(0))
                .build(),
        )?;
        let parts = vec![
            TransactWriteItem::builder().update(standing).build(),
            TransactWriteItem::builder().update(job).build(),
        ];
        Ok(transact(&self.client, parts).await?.is_none())
    }

    async fn record_redecided(&self, job_id: &str, through: u64) -> Result<bool> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(state_key(job_id)))
            .update_expression("SET redecided_blocks = :t")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(redecided_blocks) OR redecided_blocks < :t)",
            )
            .expression_attribute_values(":t", n(through))
            .send()
            .await;
        applied(r)
    }
}
