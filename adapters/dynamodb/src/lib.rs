//! hitloop's store on DynamoDB: the `Jobs`, `Items`, `TrainingClaims` and
//! `WorkerModels` ports of `hitloop-pipeline` on one table, a module per
//! aggregate, keys in `keys` and every record's codec in `codec`. Linked
//! only by what uses DynamoDB.

mod batch;
mod batches;
mod codec;
mod deployments;
mod estimates;
mod items;
mod jobs;
pub mod keys;
mod money;
mod standings;
mod training;
mod txn;

use aws_sdk_dynamodb::Client;

pub use keys::{JOBS_BY_STATUS, OPEN_ITEMS, OPEN_SHARDS};

pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    pub fn from_sdk(sdk: &hitloop_aws::SdkConfig, table: &str) -> Self {
        DynamoStore::new(Client::new(sdk), table)
    }
}
