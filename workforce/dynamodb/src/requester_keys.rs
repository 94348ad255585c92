//! Requester keys on DynamoDB. A key's secret is stored only as KMS
//! ciphertext, bound to its key id by the encryption context (a ciphertext
//! copied onto another key's record does not decrypt); verifying a request
//! reads the record and asks KMS for the secret. Nothing is cached in the
//! process, so a revoked key is refused by the next request.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::primitives::Blob;
use hitloop_workforce::auth::keys::new_key_pair;
use hitloop_workforce::auth::{AuthError, IssuedKey, KeyStatus, RequesterKey, RequesterKeys};
use serde::{Deserialize, Serialize};

use crate::table::{PK, REQUESTER_KEYS_PK, SK};

/// The encryption context every secret is encrypted under.
const CONTEXT_KEY: &str = "hitloop:access-key-id";

/// A key's record, as stored (decoded strictly: a missing or mistyped
/// attribute is an error, never a default).
#[derive(Debug, Serialize, Deserialize)]
struct KeyRecord {
    pk: String,
    sk: String,
    description: String,
    created_ms: i64,
    status: String,
    // As DynamoDB's binary type (B), not a list of numbers.
    #[serde(with = "serde_bytes")]
    secret_ciphertext: Vec<u8>,
}

pub struct DynamoKeys {
    ddb: aws_sdk_dynamodb::Client,
    kms: aws_sdk_kms::Client,
    table: String,
    kms_key_id: String,
}

impl DynamoKeys {
    pub fn new(ddb: aws_sdk_dynamodb::Client, kms: aws_sdk_kms::Client, table: &str, kms_key_id: &str) -> Self {
        DynamoKeys { ddb, kms, table: table.to_string(), kms_key_id: kms_key_id.to_string() }
    }

    fn key_of(id: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_string(), AttributeValue::S(REQUESTER_KEYS_PK.into())),
            (SK.to_string(), AttributeValue::S(id.to_string())),
        ])
    }

    async fn record(&self, id: &str) -> Result<Option<KeyRecord>, AuthError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_of(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("read the key", e))?;
        out.item.map(decode).transpose()
    }
}

fn unavailable(what: &str, e: impl std::error::Error + 'static) -> AuthError {
    AuthError::Unavailable(format!("cannot {what}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
}

fn decode(item: HashMap<String, AttributeValue>) -> Result<KeyRecord, AuthError> {
    serde_dynamo::from_item(item)
        .map_err(|e| AuthError::Unavailable(format!("a requester key record does not decode: {e}")))
}

fn status_of(text: &str) -> Result<KeyStatus, AuthError> {
    match text {
        "Active" => Ok(KeyStatus::Active),
        "Revoked" => Ok(KeyStatus::Revoked),
        other => Err(AuthError::Unavailable(format!("a requester key has the unknown status {other:?}"))),
    }
}

fn public(r: &KeyRecord) -> Result<RequesterKey, AuthError> {
    Ok(RequesterKey {
        access_key_id: r.sk.clone(),
        description: r.description.clone(),
        created_ms: r.created_ms,
        status: status_of(&r.status)?,
    })
}

#[async_trait]
impl RequesterKeys for DynamoKeys {
    async fn secret_of(&self, access_key_id: &str) -> Result<Option<String>, AuthError> {
        let Some(record) = self.record(access_key_id).await? else { return Ok(None) };
        if status_of(&record.status)? != KeyStatus::Active {
            return Ok(None);
        }
        let out = self
            .kms
            .decrypt()
            .key_id(&self.kms_key_id)
            .ciphertext_blob(Blob::new(record.secret_ciphertext))
            .encryption_context(CONTEXT_KEY, access_key_id)
            .send()
            .await
            .map_err(|e| unavailable("decrypt the key's secret", e))?;
        let plain = out.plaintext.ok_or_else(|| AuthError::Unavailable("KMS returned no plaintext".into()))?;
        String::from_utf8(plain.into_inner())
            .map(Some)
            .map_err(|_| AuthError::Unavailable("a key's secret is not text".into()))
    }

    async fn issue(&self, description: &str, now_ms: i64) -> Result<IssuedKey, AuthError> {
        let (access_key_id, secret) = new_key_pair();
        let encrypted = self
            .kms
            .encrypt()
            .key_id(&self.kms_key_id)
            .plaintext(Blob::new(secret.as_bytes()))
            .encryption_context(CONTEXT_KEY, &access_key_id)
            .send()
            .await
            .map_err(|e| unavailable("encrypt the key's secret", e))?;
        let ciphertext = encrypted
            .ciphertext_blob
            .ok_or_else(|| AuthError::Unavailable("KMS returned no ciphertext".into()))?
            .into_inner();
        let record = KeyRecord {
            pk: REQUESTER_KEYS_PK.into(),
            sk: access_key_id.clone(),
            description: description.to_string(),
            created_ms: now_ms,
            status: "Active".into(),
            secret_ciphertext: ciphertext,
        };
        let item = serde_dynamo::to_item(&record).map_err(|e| AuthError::Unavailable(e.to_string()))?;
        self.ddb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // A key id is issued once: never overwrite another key's record.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| unavailable("store the key", e))?;
        Ok(IssuedKey { key: public(&record)?, secret_access_key: secret })
    }

    async fn list(&self) -> Result<Vec<RequesterKey>, AuthError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .ddb
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(REQUESTER_KEYS_PK.into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("list the keys", e))?;
            for item in page.items.unwrap_or_default() {
                keys.push(public(&decode(item)?)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(keys);
            }
        }
    }

    async fn revoke(&self, access_key_id: &str) -> Result<bool, AuthError> {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_of(access_key_id)))
            .update_expression("SET #status = :revoked")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":revoked", AttributeValue::S("Revoked".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(unavailable("revoke the key", e)),
        }
    }
}
