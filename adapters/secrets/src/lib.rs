//! The requester key a workforce service issued, kept in a Secrets Manager
//! secret, as the credentials the MTurk client signs with. Mechanical Turk
//! checked a caller's IAM identity; an MTurk-compatible service cannot, so it
//! issues its own keys (`hitloop workforce keys create`) and the functions
//! that call it read theirs from the secret the stack names
//! (`MTurkKeySecret`), never from their environment or the template.
//!
//! The secret is read when the client first signs and again after
//! `REREAD_AFTER`, so a key rotated in the secret is picked up without a
//! deployment. Linked only by the functions that call the marketplace.

mod stored_key;

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;

pub use stored_key::{StoredKey, StoredKeyError};

/// How long credentials read from the secret are used before it is read
/// again: a rotation reaches every warm function within this, at one
/// GetSecretValue per function instance per period.
pub const REREAD_AFTER: Duration = Duration::from_secs(15 * 60);

/// What the credentials are called in the SDK's logs.
const PROVIDER_NAME: &str = "hitloop-requester-key-secret";

/// The key in one secret, read through Secrets Manager with the function's
/// own credentials (its role may read that secret and no other).
#[derive(Debug, Clone)]
pub struct RequesterKeySecret {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl RequesterKeySecret {
    pub fn new(sdk: &hitloop_aws::SdkConfig, secret_id: &str) -> Self {
        RequesterKeySecret { client: aws_sdk_secretsmanager::Client::new(sdk), secret_id: secret_id.to_string() }
    }

    async fn read(&self) -> provider::Result {
        let out = self.client.get_secret_value().secret_id(&self.secret_id).send().await.map_err(|e| {
            CredentialsError::provider_error(format!(
                "cannot read the MTurk requester key from the secret {}: {}",
                self.secret_id,
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))
        })?;
        let text = out.secret_string().ok_or_else(|| {
            CredentialsError::invalid_configuration(format!(
                "the secret {} holds binary data, not the requester key's JSON",
                self.secret_id
            ))
        })?;
        let key = StoredKey::parse(text)
            .map_err(|e| CredentialsError::invalid_configuration(format!("the secret {}: {e}", self.secret_id)))?;
        Ok(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            None,
            Some(SystemTime::now() + REREAD_AFTER),
            PROVIDER_NAME,
        ))
    }
}

impl ProvideCredentials for RequesterKeySecret {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.read())
    }
}

/// `sdk` signing with the key in the secret `secret_id` instead of the
/// function's own credentials: what an MTurk client is built from. The
/// secret itself is read with `sdk`'s credentials.
pub fn signing_with_key_in(sdk: &hitloop_aws::SdkConfig, secret_id: &str) -> hitloop_aws::SdkConfig {
    let key = RequesterKeySecret::new(sdk, secret_id);
    sdk.to_builder().credentials_provider(SharedCredentialsProvider::new(key)).build()
}
