//! Making a user pool and its worker-site client as `infra/workforce.yaml`
//! makes them (people sign in with their email; the site signs them in with
//! their password and reads their email): for a workforce run on moto's
//! cognito-idp, and for the tests that stand one up.

use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, UsernameAttributeType};
use aws_sdk_cognitoidentityprovider::Client;

use crate::{DirectoryError, UserPool};

fn failed(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

/// A new pool named `name` with a worker-site client.
pub async fn create_pool(sdk: &hitloop_aws::SdkConfig, name: &str) -> Result<UserPool, DirectoryError> {
    let made = Client::new(sdk)
        .create_user_pool()
        .pool_name(name)
        .username_attributes(UsernameAttributeType::Email)
        .send()
        .await
        .map_err(|e| failed(aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e)))?;
    let pool_id = made.user_pool.and_then(|p| p.id).ok_or_else(|| failed("no pool id in the answer"))?;
    create_site_client(sdk, &pool_id).await
}

/// Another worker-site client of the pool `pool_id`.
pub async fn create_site_client(sdk: &hitloop_aws::SdkConfig, pool_id: &str) -> Result<UserPool, DirectoryError> {
    let client = Client::new(sdk)
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("worker-site")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .read_attributes("email")
        .send()
        .await
        .map_err(|e| failed(aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e)))?;
    let client_id =
        client.user_pool_client.and_then(|c| c.client_id).ok_or_else(|| failed("no client id in the answer"))?;
    Ok(UserPool { pool_id: pool_id.to_string(), client_id })
}
