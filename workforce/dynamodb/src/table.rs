//! The table's keys, in one place.

/// Every requester key is one record of this partition: listing them is one
/// Query, finding one a GetItem.
pub const REQUESTER_KEYS_PK: &str = "REQUESTER_KEYS";
pub const PK: &str = "pk";
pub const SK: &str = "sk";

/// Creates the table (for tests and the local stack; a deployment's comes
/// from the template).
pub async fn create(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
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
    ddb.create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(vec![attr(PK)?, attr(SK)?]))
        .set_key_schema(Some(vec![key(PK, KeyType::Hash)?, key(SK, KeyType::Range)?]))
        .send()
        .await
        .map_err(|e| {
            format!("cannot create the table {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e))
        })?;
    Ok(())
}
