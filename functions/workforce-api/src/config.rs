//! What the function reads from its environment (`Config::VARIABLES`):
//! where the workforce service keeps its records and its requester keys'
//! secrets (what the pass function reads too), and the user pool its
//! worker site signs people in with.

use std::sync::Arc;

use hitloop_core::error::Result;
use hitloop_lambda::env::Vars;
use hitloop_workforce::server::Shared;
use hitloop_workforce::worker::auth::WorkerAuth;
use hitloop_workforce_cognito::{CognitoDirectory, CognitoSignIn, TokenVerifier, UserPool};
use hitloop_workforce_dynamodb::deployment::Deployment;
use hitloop_workforce_dynamodb::DynamoRevokedSessions;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub deployment: Deployment,
    /// HITLOOP_WORKFORCE_USER_POOL, HITLOOP_WORKFORCE_USER_POOL_CLIENT.
    pub user_pool: UserPool,
}

impl Config {
    pub const VARIABLES: &'static [&'static str] = &[
        "HITLOOP_WORKFORCE_TABLE",
        "HITLOOP_WORKFORCE_KMS_KEY",
        "HITLOOP_WORKFORCE_USER_POOL",
        "HITLOOP_WORKFORCE_USER_POOL_CLIENT",
    ];

    pub fn from(env: &Vars<'_>) -> Result<Config> {
        Ok(Config {
            deployment: Deployment::from(env)?,
            user_pool: UserPool {
                pool_id: env.required("HITLOOP_WORKFORCE_USER_POOL")?,
                client_id: env.required("HITLOOP_WORKFORCE_USER_POOL_CLIENT")?,
            },
        })
    }

    /// The service, and the worker site's sign-in on the user pool (its
    /// keys from the pool's issuer URL, or from the local stand-in the
    /// AWS configuration points at). Must run inside a Tokio runtime.
    pub fn build(&self, sdk: &hitloop_aws::SdkConfig) -> std::io::Result<(Arc<Shared>, Arc<dyn WorkerAuth>)> {
        let service = self.deployment.service(sdk)?;
        let jwks_url = self.user_pool.jwks_url(sdk.endpoint_url());
        let revoked = DynamoRevokedSessions::new(aws_sdk_dynamodb::Client::new(sdk), &self.deployment.table);
        let sign_in = CognitoSignIn::new(
            CognitoDirectory::new(sdk, self.user_pool.clone()),
            TokenVerifier::new(&self.user_pool, &jwks_url),
            Arc::new(revoked),
        );
        Ok((service, Arc::new(sign_in)))
    }
}
