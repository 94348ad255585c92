//! How the stack's functions reach the MTurk-compatible service: its URL
//! and the Secrets Manager secret holding the key they sign with (the
//! template's `MTurkEndpoint` and `MTurkKeySecret`). Locally the secret is
//! made in moto from the service's own key, so the functions read their
//! credentials exactly as they do on Lambda.

use hitloop_secrets::StoredKey;

use crate::resources::CreateError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marketplace {
    pub endpoint: String,
    /// The secret's ARN.
    pub key_secret: String,
}

impl Marketplace {
    /// Stores the key `service` checks requests against in a secret of the
    /// stack `stack` (moto), and names both.
    pub async fn of(
        sdk: &hitloop_aws::SdkConfig,
        stack: &str,
        service: &hitloop_workforce::server::Running,
    ) -> Result<Marketplace, CreateError> {
        let key = service.credentials();
        let key = StoredKey {
            access_key_id: key.access_key_id().to_string(),
            secret_access_key: key.secret_access_key().to_string(),
        };
        let key_secret = store_key(sdk, &format!("{stack}-mturk-requester-key"), &key).await?;
        Ok(Marketplace { endpoint: service.url.clone(), key_secret })
    }

    /// The template parameter `name` as this marketplace sets it.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        match name {
            "MTurkEndpoint" => Some(&self.endpoint),
            "MTurkKeySecret" => Some(&self.key_secret),
            _ => None,
        }
    }
}

/// Puts `key` in the secret `name`: a new secret, or a new version of an
/// existing one (a rotation: the functions read it again within
/// `hitloop_secrets::REREAD_AFTER`). The secret's ARN.
pub async fn store_key(sdk: &hitloop_aws::SdkConfig, name: &str, key: &StoredKey) -> Result<String, CreateError> {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let failed = |e: String| CreateError { what: format!("the secret {name}"), message: e };
    let created = secrets
        .create_secret()
        .name(name)
        .description("the requester key hitloop's functions sign MTurk requests with")
        .secret_string(key.to_json())
        .send()
        .await;
    let arn = match created {
        Ok(made) => made.arn().map(str::to_string),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => secrets
            .put_secret_value()
            .secret_id(name)
            .secret_string(key.to_json())
            .send()
            .await
            .map_err(|e| failed(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?
            .arn()
            .map(str::to_string),
        Err(e) => return Err(failed(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())),
    };
    arn.ok_or_else(|| failed("no ARN in the answer".into()))
}
