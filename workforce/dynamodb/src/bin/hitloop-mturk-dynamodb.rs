//! `hitloop-mturk-dynamodb`: the MTurk-compatible service on a DynamoDB
//! table, served as one process (the same router the Lambda entry serves).

use std::sync::Arc;

use clap::Parser;
use hitloop_workforce::auth::RequesterKeys;
use hitloop_workforce::cli::{init_logging, serve, ServeArgs};
use hitloop_workforce::server::GivenStore;
use hitloop_workforce_dynamodb::{DynamoKeys, DynamoStore};

/// The MTurk-compatible service with its records in a DynamoDB table: what
/// `hitloop-mturk` is, made durable. Several processes may serve one table.
///
/// With --aws-endpoint every AWS service (DynamoDB, KMS, SQS, SNS) is reached
/// there (moto locally); otherwise the usual AWS credential chain and region.
#[derive(Parser, Debug)]
#[command(name = "hitloop-mturk-dynamodb", version)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,
    /// The table holding the marketplace's records.
    #[arg(long, env = "HITLOOP_WORKFORCE_TABLE")]
    table: String,
    /// Create the table and pay --balance into it (a local run; a
    /// deployment's table comes from infra/workforce.yaml).
    #[arg(long)]
    create_table: bool,
    /// Verify requests against the keys issued into the table (`hitloop
    /// workforce keys create`), whose secrets this KMS key encrypts, instead
    /// of the one key in HITLOOP_MTURK_REQUESTER_KEY.
    #[arg(long, env = "HITLOOP_WORKFORCE_KMS_KEY")]
    kms_key: Option<String>,
}

fn fail(message: String) -> ! {
    eprintln!("hitloop-mturk-dynamodb: {message}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    init_logging();
    let args = Args::parse();
    let sdk = match &args.serve.aws_endpoint {
        Some(endpoint) => hitloop_aws::local_sdk_config(endpoint).await,
        None => hitloop_aws::sdk_config().await,
    };
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let keys = args.kms_key.as_deref().map(|kms_key| {
        let keys = DynamoKeys::new(ddb.clone(), aws_sdk_kms::Client::new(&sdk), &args.table, kms_key);
        Arc::new(keys) as Arc<dyn RequesterKeys>
    });
    let mut config = args.serve.config_with_keys(keys).unwrap_or_else(|e| fail(e));
    let store = match args.create_table {
        true => DynamoStore::create_funded(ddb, &args.table, config.balance).await.unwrap_or_else(|e| fail(e)),
        false => DynamoStore::new(ddb, &args.table),
    };
    config.store = Some(GivenStore(Arc::new(store)));
    serve(config).await.unwrap_or_else(|e| fail(e));
}
