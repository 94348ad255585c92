//! Conditional writes and transactions: what came of them, told apart from
//! a fault.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};

/// A conditional write: Ok(true) if it was applied, Ok(false) if its
/// condition failed.
pub fn applied<T, E>(r: std::result::Result<T, SdkError<E, HttpResponse>>) -> Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failed(&e) => Ok(false),
        Err(e) => Err(classify(e)),
    }
}

pub fn is_condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// Runs a transaction. `Ok(None)`: it committed; `Ok(Some(failed))`: its
/// conditions cancelled it, `failed[i]` telling whether part `i` failed.
pub async fn transact(client: &Client, parts: Vec<TransactWriteItem>) -> Result<Option<Vec<bool>>> {
    match client.transact_write_items().set_transact_items(Some(parts)).send().await {
        Ok(_) => Ok(None),
        Err(e) => match cancelled(&e) {
            Some(failed) => Ok(Some(failed)),
            None => Err(classify(e)),
        },
    }
}

/// Did a transaction fail on its conditions (as opposed to a fault)?
fn cancelled(err: &SdkError<TransactWriteItemsError, HttpResponse>) -> Option<Vec<bool>> {
    let TransactWriteItemsError::TransactionCanceledException(t) = err.as_service_error()? else { return None };
    let reasons = t.cancellation_reasons();
    let failed: Vec<bool> = reasons.iter().map(|r| r.code() == Some("ConditionalCheckFailed")).collect();
    failed.iter().any(|f| *f).then_some(failed)
}

/// A request builder that failed to build: a bug, never the user's.
pub fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(Error::permanent)
}
