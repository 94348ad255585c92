//! Requester keys: one contract, run on the memory store and on DynamoDB with
//! KMS (moto), and what only the durable store must show: no secret in the
//! table, a ciphertext that does not decrypt as another key's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use hitloop_workforce::auth::{AuthError, KeyStatus, MemoryKeys, RequesterKeys};
use hitloop_workforce_dynamodb::{table, DynamoKeys};

/// What every key store does.
async fn contract(keys: &dyn RequesterKeys) {
    let a = keys.issue("ci pipeline", 1_000).await.unwrap();
    let b = keys.issue("notebook", 2_000).await.unwrap();
    assert_ne!(a.key.access_key_id, b.key.access_key_id);
    assert_ne!(a.secret_access_key, b.secret_access_key);
    assert_eq!(keys.secret_of(&a.key.access_key_id).await.unwrap().as_deref(), Some(a.secret_access_key.as_str()));
    assert_eq!(keys.secret_of(&b.key.access_key_id).await.unwrap().as_deref(), Some(b.secret_access_key.as_str()));

    let listed = keys.list().await.unwrap();
    let a_listed = listed.iter().find(|k| k.access_key_id == a.key.access_key_id).unwrap();
    assert_eq!(
        (a_listed.description.as_str(), a_listed.created_ms, a_listed.status),
        ("ci pipeline", 1_000, KeyStatus::Active)
    );
    assert!(listed.iter().any(|k| k.access_key_id == b.key.access_key_id));

    assert!(keys.revoke(&a.key.access_key_id).await.unwrap());
    assert_eq!(keys.secret_of(&a.key.access_key_id).await.unwrap(), None, "revoked at once");
    assert!(keys.secret_of(&b.key.access_key_id).await.unwrap().is_some(), "the other key still works");
    let listed = keys.list().await.unwrap();
    assert_eq!(listed.iter().find(|k| k.access_key_id == a.key.access_key_id).unwrap().status, KeyStatus::Revoked);

    assert!(!keys.revoke("AKHLNOSUCHKEY0000000").await.unwrap());
    assert_eq!(keys.secret_of("AKHLNOSUCHKEY0000000").await.unwrap(), None);
}

struct Moto {
    ddb: aws_sdk_dynamodb::Client,
    kms: aws_sdk_kms::Client,
    table: String,
    kms_key: String,
}

async fn moto() -> Moto {
    let endpoint = std::env::var("HITLOOP_TEST_AWS_ENDPOINT").expect("run under `make test` (moto)");
    let sdk = hitloop_aws::local_sdk_config(&endpoint).await;
    let (ddb, kms) = (aws_sdk_dynamodb::Client::new(&sdk), aws_sdk_kms::Client::new(&sdk));
    let table = format!("workforce-{}", uuid::Uuid::new_v4().simple());
    table::create(&ddb, &table).await.unwrap();
    let kms_key = kms.create_key().description("hitloop test").send().await.unwrap();
    let kms_key = kms_key.key_metadata.unwrap().key_id;
    Moto { ddb, kms, table, kms_key }
}

#[tokio::test]
async fn memory_keys_keep_the_contract() {
    contract(&MemoryKeys::new()).await;
}

#[tokio::test]
async fn dynamodb_keys_keep_the_contract() {
    let m = moto().await;
    contract(&DynamoKeys::new(m.ddb.clone(), m.kms.clone(), &m.table, &m.kms_key)).await;
}

async fn stored(m: &Moto, id: &str) -> HashMap<String, AttributeValue> {
    let key = HashMap::from([
        ("pk".to_string(), AttributeValue::S("REQUESTER_KEYS".into())),
        ("sk".to_string(), AttributeValue::S(id.into())),
    ]);
    m.ddb.get_item().table_name(&m.table).set_key(Some(key)).send().await.unwrap().item.unwrap()
}

#[tokio::test]
async fn the_table_holds_only_ciphertext_bound_to_its_key() {
    let m = moto().await;
    let keys = DynamoKeys::new(m.ddb.clone(), m.kms.clone(), &m.table, &m.kms_key);
    let a = keys.issue("a", 1).await.unwrap();
    let b = keys.issue("b", 2).await.unwrap();

    let record = stored(&m, &a.key.access_key_id).await;
    let text = format!("{record:?}");
    assert!(!text.contains(&a.secret_access_key), "no plaintext secret in the record");
    assert!(matches!(record.get("secret_ciphertext"), Some(AttributeValue::B(_))), "{record:?}");

    // Someone who can write the table copies b's ciphertext onto a's record:
    // it was encrypted for b's id, so it does not decrypt as a's secret.
    let mut forged = record.clone();
    forged.insert("secret_ciphertext".into(), stored(&m, &b.key.access_key_id).await["secret_ciphertext"].clone());
    m.ddb.put_item().table_name(&m.table).set_item(Some(forged)).send().await.unwrap();
    assert!(matches!(keys.secret_of(&a.key.access_key_id).await, Err(AuthError::Unavailable(_))));
}

#[tokio::test]
async fn a_record_missing_an_attribute_is_an_error_not_a_default() {
    let m = moto().await;
    let keys = DynamoKeys::new(m.ddb.clone(), m.kms.clone(), &m.table, &m.kms_key);
    let a = keys.issue("a", 1).await.unwrap();
    let mut record = stored(&m, &a.key.access_key_id).await;
    record.remove("status");
    m.ddb.put_item().table_name(&m.table).set_item(Some(record)).send().await.unwrap();
    match keys.secret_of(&a.key.access_key_id).await {
        Err(AuthError::Unavailable(m)) => assert!(m.contains("status"), "{m}"),
        other => panic!("{other:?}"),
    }
}
