//! Reading many records by key: BatchGetItem, 100 keys a request, and what
//! DynamoDB leaves unprocessed asked again until nothing is left.

use aws_sdk_dynamodb::types::KeysAndAttributes;
use hitloop_aws::classify;
use hitloop_core::error::Result;

use crate::keys::Attrs;
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
}
