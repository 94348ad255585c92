//! `hitloop workforce keys`: the requester keys of a workforce service that
//! keeps them in DynamoDB, for the team's admin (whose AWS credentials may
//! read the table and use the KMS key; nobody else's need to).

use hitloop_workforce::auth::{RequesterKey, RequesterKeys};
use hitloop_workforce_dynamodb::DynamoKeys;

/// Where a workforce service keeps its keys.
#[derive(Debug, Clone)]
pub struct KeyStore {
    pub table: String,
    pub kms_key: String,
}

impl KeyStore {
    pub async fn open(&self) -> DynamoKeys {
        let sdk = hitloop_aws::loader().load().await;
        DynamoKeys::new(aws_sdk_dynamodb::Client::new(&sdk), aws_sdk_kms::Client::new(&sdk), &self.table, &self.kms_key)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Issues a key; the text shows its secret, this once.
pub async fn create(keys: &dyn RequesterKeys, description: &str) -> Result<String, String> {
    let issued = keys.issue(description, now_ms()).await.map_err(|e| e.to_string())?;
    Ok(format!(
        "AccessKeyId:     {}\nSecretAccessKey: {}\n\nThe secret is shown this once: put it where your MTurk client reads its credentials\n(boto3: aws_access_key_id / aws_secret_access_key). Revoke: hitloop workforce keys revoke {}\n",
        issued.key.access_key_id, issued.secret_access_key, issued.key.access_key_id
    ))
}

pub async fn list(keys: &dyn RequesterKeys) -> Result<String, String> {
    let listed = keys.list().await.map_err(|e| e.to_string())?;
    Ok(render(&listed))
}

pub fn render(keys: &[RequesterKey]) -> String {
    let mut out = format!("{:<20}  {:<7}  {:<20}  {}\n", "ACCESS KEY ID", "STATUS", "CREATED (UTC)", "DESCRIPTION");
    for k in keys {
        let created = chrono::DateTime::from_timestamp_millis(k.created_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<20}  {:<7}  {:<20}  {}\n",
            k.access_key_id,
            format!("{:?}", k.status),
            created,
            k.description
        ));
    }
    out
}

pub async fn revoke(keys: &dyn RequesterKeys, access_key_id: &str) -> Result<String, String> {
    match keys.revoke(access_key_id).await.map_err(|e| e.to_string())? {
        true => Ok(format!("revoked {access_key_id}: requests signed with it are refused from now on\n")),
        false => Err(format!("there is no key {access_key_id} (hitloop workforce keys list shows them)")),
    }
}
