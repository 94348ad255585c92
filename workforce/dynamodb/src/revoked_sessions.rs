//! Signed-out sessions on DynamoDB: one item per revoked token
//! (`SESSION#<jti>`, `REVOKED`), gone by the table's TTL (`expires_at`)
//! once the token would have expired anyway. A consistent read per
//! signed-in request.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use hitloop_workforce::store::{StoreError, StoreResult};
use hitloop_workforce::worker::sessions::RevokedSessions;

use crate::table::{PK, SK};

pub struct DynamoRevokedSessions {
    ddb: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoRevokedSessions {
    pub fn new(ddb: aws_sdk_dynamodb::Client, table: &str) -> Self {
        DynamoRevokedSessions { ddb, table: table.to_string() }
    }
}

fn key_of(id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(format!("SESSION#{id}"))),
        (SK.to_string(), AttributeValue::S("REVOKED".into())),
    ])
}

fn unavailable(e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

#[async_trait]
impl RevokedSessions for DynamoRevokedSessions {
    async fn revoke(&self, id: &str, expires_s: i64) -> StoreResult<()> {
        let mut item = key_of(id);
        item.insert("expires_at".into(), AttributeValue::N(expires_s.to_string()));
        self.ddb.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn is_revoked(&self, id: &str) -> StoreResult<bool> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item.is_some())
    }
}
