//! `hitloop workforce`: for the team lead (whose AWS credentials may read
//! the workforce table, use its KMS key and administer its user pool;
//! nobody else's need to). `keys`: the requester keys of the service;
//! `invite`: people into the annotators' user pool.

use hitloop_secrets::StoredKey;
use hitloop_workforce::auth::{RequesterKey, RequesterKeys};
use hitloop_workforce_dynamodb::DynamoKeys;

use crate::marketplace::store_key;

/// Where a workforce service keeps its keys.
#[derive(Debug, Clone)]
pub struct KeyStore {
    pub table: String,
    pub kms_key: String,
}

impl KeyStore {
    /// The keys, read and written with the admin's credentials in `sdk`.
    pub fn open(&self, sdk: &hitloop_aws::SdkConfig) -> DynamoKeys {
        DynamoKeys::new(aws_sdk_dynamodb::Client::new(sdk), aws_sdk_kms::Client::new(sdk), &self.table, &self.kms_key)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Where `keys create` puts the secret of the key it issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDestination {
    /// Shown on the terminal, this once.
    Terminal,
    /// Printed as the JSON a key secret holds, for a tool to store.
    Json,
    /// Put in this Secrets Manager secret (made, or given a new version),
    /// never shown: what the pipeline's `MTurkKeySecret` names.
    Secret(String),
}

/// Issues a key and puts its secret where `to` says; what to print.
pub async fn create(
    keys: &dyn RequesterKeys,
    description: &str,
    to: &KeyDestination,
    sdk: &hitloop_aws::SdkConfig,
) -> Result<String, String> {
    let issued = keys.issue(description, now_ms()).await.map_err(|e| e.to_string())?;
    let id = issued.key.access_key_id.clone();
    let key = StoredKey { access_key_id: id.clone(), secret_access_key: issued.secret_access_key };
    Ok(match to {
        KeyDestination::Terminal => format!(
            "AccessKeyId:     {id}\nSecretAccessKey: {}\n\nThe secret is shown this once: put it where your MTurk client reads its credentials\n(boto3: aws_access_key_id / aws_secret_access_key). Revoke: hitloop workforce keys revoke {id}\n",
            key.secret_access_key
        ),
        KeyDestination::Json => format!("{}\n", key.to_json()),
        KeyDestination::Secret(name) => {
            let arn = match store_key(sdk, name, &key).await {
                Ok(arn) => arn,
                Err(e) => {
                    // The key exists but nobody holds its secret: take it back.
                    let _ = keys.revoke(&id).await;
                    return Err(format!("{e}; the key {id} was revoked"));
                }
            };
            format!(
                "AccessKeyId: {id}\nstored in {arn} (the secret was not shown)\n\nDeploy the pipeline with MTurkKeySecret={arn}; functions already running read it again\nwithin {} minutes. Then revoke the key it replaces: hitloop workforce keys revoke <old id>\n",
                hitloop_secrets::REREAD_AFTER.as_secs() / 60
            )
        }
    })
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

/// Invites `email` into the user pool `pool_id`: Cognito emails them a
/// temporary password. What to print.
pub async fn invite(sdk: &hitloop_aws::SdkConfig, pool_id: &str, email: &str) -> Result<String, String> {
    let pool = hitloop_workforce_cognito::UserPool { pool_id: pool_id.to_string(), client_id: String::new() };
    let directory = hitloop_workforce_cognito::CognitoDirectory::new(sdk, pool);
    let invited = directory.invite(email.trim(), None).await.map_err(|e| format!("{email}: {e}"))?;
    Ok(format!(
        "invited {email}: the user pool emails them a temporary password for the worker site\nworker id: {} (what requesters and hitloop will see; the email is never shown to them)\n",
        hitloop_workforce_cognito::worker_id_of(&invited.sub)
    ))
}
