//! Reading many records: by key (BatchGetItem, 100 keys a request, and what
//! DynamoDB leaves unprocessed asked again until nothing is left), and every
//! record of a job of one kind (a Query of the sort-key prefix, page after
//! page).

use aws_sdk_dynamodb::types::KeysAndAttributes;
use hitloop_aws::classify;
use hitloop_core::error::Result;

use crate::keys::{job_pk, s, Attrs};
use crate::txn::built;
use crate::DynamoStore;

impl DynamoStore {
    /// The records found under `keys` (a key with no record is left out),
    /// in no particular order; `consistent` reads what was last written.
    pub(crate) async fn get_many(&self, keys: Vec<Attrs>, consistent: bool) -> Result<Vec<Attrs>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let first = KeysAndAttributes::builder().set_keys(Some(chunk.to_vec())).consistent_read(consistent);
            let mut request = Some(built(first.build())?);
            while let Some(req) = request.take() {
                let resp =
                    self.client.batch_get_item().request_items(&self.table, req).send().await.map_err(classify)?;
                out.extend(resp.responses().and_then(|r| r.get(&self.table)).into_iter().flatten().cloned());
                request =
                    resp.unprocessed_keys().and_then(|u| u.get(&self.table)).cloned().filter(|k| !k.keys().is_empty());
            }
        }
        Ok(out)
    }

    /// Every record in the job's partition whose sort key starts with
    /// `prefix`, in sort-key order, read consistently.
    pub(crate) async fn all_prefixed(&self, job_id: &str, prefix: &str) -> Result<Vec<Attrs>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(job_pk(job_id)))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            out.extend(resp.items().iter().cloned());
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}
