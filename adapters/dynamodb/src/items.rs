//! Items: written once by ingest (never over an existing one), read by id,
//! by job, and through sweep's index of open items; published by publish.
//! Their answers, decisions and reservations are `money`'s writes.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use hitloop_aws::classify;
use hitloop_core::error::Result;
use hitloop_core::plan::write::{ItemWrite, WriteOutcome};
use hitloop_core::records::{now_ms, Item, ItemStatus};
use hitloop_pipeline::ports::Items;

use crate::codec;
use crate::keys::{self, item_key, item_sk, job_pk, n, s, ITEM_PREFIX, OPEN_ITEMS, OPEN_SHARDS};
use crate::txn::{applied, built, transact};
use crate::DynamoStore;

/// A transaction takes 100 writes and 4 MB at most.
const TXN_ITEMS: usize = 100;
const TXN_BYTES: usize = 3 << 20;

impl DynamoStore {
    fn put_new(&self, item: &Item) -> Result<Put> {
        let record = format!("item {} of job {}", item.item_id, item.job_id);
        built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(codec::encode(&record, &codec::item_row(item))?))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )
    }

    /// Writes a group in one transaction; if some exist, each on its own.
    async fn put_group(&self, group: &[&Item]) -> Result<usize> {
        let parts = group
            .iter()
            .map(|i| Ok(TransactWriteItem::builder().put(self.put_new(i)?).build()))
            .collect::<Result<Vec<_>>>()?;
        if transact(&self.client, parts).await?.is_none() {
            return Ok(group.len());
        }
        // Some exist (a resumed or racing ingest): write the others, one by one.
        let mut written = 0;
        for i in group {
            let put = self.put_new(i)?;
            let r = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put.item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            if applied(r)? {
                written += 1;
            }
        }
        Ok(written)
    }

    async fn open_page(&self, shard: u32, after: Option<&str>, limit: usize) -> Result<(Vec<Item>, bool)> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_ITEMS)
            .limit(limit as i32)
            .expression_attribute_values(":shard", s(keys::open_shard(shard)));
        q = match after {
            Some(a) => q
                .key_condition_expression("open_shard = :shard AND open_sk > :after")
                .expression_attribute_values(":after", s(a)),
            None => q.key_condition_expression("open_shard = :shard"),
        };
        let out = q.send().await.map_err(classify)?;
        let items = out.items().iter().cloned().map(codec::item).collect::<Result<Vec<_>>>()?;
        Ok((items, out.last_evaluated_key().is_some()))
    }
}

#[async_trait]
impl Items for DynamoStore {
    async fn put_new_items(&self, items: &[Item]) -> Result<usize> {
        let mut written = 0;
        let mut group: Vec<&Item> = Vec::new();
        let mut bytes = 0;
        for i in items {
            let size = i.values.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() + 512;
            if group.len() == TXN_ITEMS || (bytes + size > TXN_BYTES && !group.is_empty()) {
                written += self.put_group(&group).await?;
                group.clear();
                bytes = 0;
            }
            group.push(i);
            bytes += size;
        }
        if !group.is_empty() {
            written += self.put_group(&group).await?;
        }
        Ok(written)
    }

    async fn item(&self, job_id: &str, item_id: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key(job_id, item_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item.map(codec::item).transpose()
    }

    async fn items(&self, job_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>> {
        let start = after.map(|a| keys::key(job_pk(job_id), item_sk(a)));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(job_pk(job_id)))
            .expression_attribute_values(":p", s(ITEM_PREFIX))
            .set_exclusive_start_key(start)
            .limit(limit as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.items().iter().cloned().map(codec::item).collect()
    }

    async fn open_items(&self, cursor: Option<String>, limit: usize) -> Result<(Vec<Item>, Option<String>)> {
        let (mut shard, mut after) = cursor.as_deref().and_then(keys::parse_open_cursor).unwrap_or((0, None));
        while shard < OPEN_SHARDS {
            let (items, more) = self.open_page(shard, after.as_deref(), limit).await?;
            if more {
                let last = items.last().map(|i| keys::open_sk(&i.job_id, &i.item_id));
                return Ok((items, Some(keys::open_cursor(shard, last.as_deref()))));
            }
            shard += 1;
            after = None;
            if !items.is_empty() {
                return Ok((items, (shard < OPEN_SHARDS).then(|| keys::open_cursor(shard, None))));
            }
        }
        Ok((Vec::new(), None))
    }

    async fn write(&self, write: &ItemWrite) -> Result<WriteOutcome> {
        self.apply_write(write).await
    }

    async fn mark_published(&self, job_id: &str, item_id: &str, hit_id: &str) -> Result<bool> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(job_id, item_id)))
            .update_expression("SET item_status = :published, hit_id = :hit, updated_at = :now ADD version :one")
            .condition_expression("item_status = :pending")
            .expression_attribute_values(":published", s(ItemStatus::Published.as_str()))
            .expression_attribute_values(":pending", s(ItemStatus::Pending.as_str()))
            .expression_attribute_values(":hit", s(hit_id))
            .expression_attribute_values(":now", n(now_ms()))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        applied(r)
    }
}
