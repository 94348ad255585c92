//! The table's keys, in one place.

/// Every requester key is one record of this partition: listing them is one
/// Query, finding one a GetItem.
pub const REQUESTER_KEYS_PK: &str = "REQUESTER_KEYS";
pub const PK: &str = "pk";
pub const SK: &str = "sk";

/// HITs by creation, one partition a month (`HITS#<yyyy-mm>`): ListHITs reads
/// months in order, no scan, no global counter.
pub const HITS_BY_MONTH: &str = "hits-by-month";
/// HITs by status (`STATUS#<status>`): ListReviewableHITs.
pub const HITS_BY_STATUS: &str = "hits-by-status";
pub const MONTH_PK: &str = "month_pk";
pub const STATUS_PK: &str = "status_pk";
/// Both indexes' sort key: `<created ms, 13 digits>#<hit id>`.
pub const CREATED_SK: &str = "created_sk";

/// Creates the table (for tests and the local stack; a deployment's comes
/// from the template).
pub async fn create(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
        ScalarAttributeType,
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| e.to_string())
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(|e| e.to_string())
    };
    let index = |name: &str, pk: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .set_key_schema(Some(vec![key(pk, KeyType::Hash)?, key(CREATED_SK, KeyType::Range)?]))
            .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
            .build()
            .map_err(|e| e.to_string())
    };
    ddb.create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(vec![
            attr(PK)?,
            attr(SK)?,
            attr(MONTH_PK)?,
            attr(STATUS_PK)?,
            attr(CREATED_SK)?,
        ]))
        .set_key_schema(Some(vec![key(PK, KeyType::Hash)?, key(SK, KeyType::Range)?]))
        .set_global_secondary_indexes(Some(vec![index(HITS_BY_MONTH, MONTH_PK)?, index(HITS_BY_STATUS, STATUS_PK)?]))
        .send()
        .await
        .map_err(|e| {
            format!("cannot create the table {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e))
        })?;
    Ok(())
}
