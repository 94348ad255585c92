//! Signing people in with the user pool's own API (USER_PASSWORD_AUTH, the
//! NEW_PASSWORD_REQUIRED challenge of an invited person's first sign-in,
//! GlobalSignOut) and inviting them (AdminCreateUser, for the team lead's
//! credentials). The sign-in calls are the public client's: Cognito checks
//! the password, not the caller's IAM identity.

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType, DeliveryMediumType,
};
use aws_sdk_cognitoidentityprovider::Client;

use crate::UserPool;

/// Where a sign-in stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInStep {
    SignedIn(Tokens),
    /// First sign-in with the temporary password: the person chooses theirs,
    /// answering with this session.
    NewPasswordRequired {
        session: String,
    },
}

#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
    pub expires_in_s: i64,
}

/// Never shows the tokens.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("expires_in_s", &self.expires_in_s).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Wrong email or password, or no such person (one answer for both, as
    /// Cognito gives, so that nobody learns who is invited).
    #[error("incorrect email or password")]
    NotAuthorized,
    /// The new password breaks the pool's policy (Cognito's words).
    #[error("{0}")]
    PasswordRejected(String),
    #[error("the sign-in session expired: sign in again")]
    SessionExpired,
    #[error("someone with this email is already invited")]
    AlreadyInvited,
    #[error("the user pool cannot be reached: {0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invited {
    pub username: String,
    pub sub: String,
}

pub struct CognitoDirectory {
    client: Client,
    pool: UserPool,
}

impl CognitoDirectory {
    pub fn new(sdk: &hitloop_aws::SdkConfig, pool: UserPool) -> Self {
        CognitoDirectory { client: Client::new(sdk), pool }
    }

    pub fn pool(&self) -> &UserPool {
        &self.pool
    }

    /// Email and password.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<SignInStep, DirectoryError> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.pool.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(refused)?;
        step(out.authentication_result, out.challenge_name, out.session)
    }

    /// The person's own password, after the temporary one.
    pub async fn set_new_password(
        &self,
        email: &str,
        session: &str,
        new_password: &str,
    ) -> Result<SignInStep, DirectoryError> {
        let out = self
            .client
            .respond_to_auth_challenge()
            .client_id(&self.pool.client_id)
            .challenge_name(ChallengeNameType::NewPasswordRequired)
            .session(session)
            .challenge_responses("USERNAME", email)
            .challenge_responses("NEW_PASSWORD", new_password)
            .send()
            .await
            .map_err(refused)?;
        step(out.authentication_result, out.challenge_name, out.session)
    }

    /// Ends every session of the person the access token belongs to (their
    /// refresh tokens stop working; the worker site also forgets its own).
    pub async fn sign_out(&self, access_token: &str) -> Result<(), DirectoryError> {
        self.client.global_sign_out().access_token(access_token).send().await.map_err(refused)?;
        Ok(())
    }

    /// Invites `email` (the team lead's credentials): Cognito mails a
    /// temporary password, or takes `temporary_password` and mails nothing
    /// (for tests and for teams that hand passwords over themselves).
    pub async fn invite(&self, email: &str, temporary_password: Option<&str>) -> Result<Invited, DirectoryError> {
        let attribute = |name: &str, value: &str| AttributeType::builder().name(name).value(value).build();
        let mut request = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool.pool_id)
            .username(email)
            .user_attributes(attribute("email", email).map_err(|e| DirectoryError::Unavailable(e.to_string()))?)
            .user_attributes(
                attribute("email_verified", "true").map_err(|e| DirectoryError::Unavailable(e.to_string()))?,
            );
        request = match temporary_password {
            Some(p) => request
                .temporary_password(p)
                .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress),
            None => request.desired_delivery_mediums(DeliveryMediumType::Email),
        };
        let out = request.send().await.map_err(refused)?;
        let user = out.user.ok_or_else(|| DirectoryError::Unavailable("no user in the answer".into()))?;
        let sub = user
            .attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value())
            .ok_or_else(|| DirectoryError::Unavailable("the invited user has no sub".into()))?;
        Ok(Invited { username: user.username().unwrap_or(email).to_string(), sub: sub.to_string() })
    }
}

impl CognitoDirectory {
    /// Everyone in the pool, as (email, worker id): what the team lead's
    /// tables and payouts show beside each worker id (the team lead's
    /// credentials; requesters never see an email).
    pub async fn people(&self) -> Result<Vec<(String, String)>, DirectoryError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_users()
                .user_pool_id(&self.pool.pool_id)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(refused)?;
            for user in page.users() {
                let attribute =
                    |name: &str| user.attributes().iter().find(|a| a.name() == name).and_then(|a| a.value());
                if let (Some(email), Some(sub)) = (attribute("email"), attribute("sub")) {
                    out.push((email.to_string(), crate::worker_id_of(sub)));
                }
            }
            token = page.pagination_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}

fn step(
    result: Option<AuthenticationResultType>,
    challenge: Option<ChallengeNameType>,
    session: Option<String>,
) -> Result<SignInStep, DirectoryError> {
    if let Some(r) = result {
        let (Some(id_token), Some(access_token)) = (r.id_token, r.access_token) else {
            return Err(DirectoryError::Unavailable("tokens missing from the answer".into()));
        };
        return Ok(SignInStep::SignedIn(Tokens { id_token, access_token, expires_in_s: i64::from(r.expires_in) }));
    }
    match (challenge, session) {
        (Some(ChallengeNameType::NewPasswordRequired), Some(session)) => {
            Ok(SignInStep::NewPasswordRequired { session })
        }
        (other, _) => Err(DirectoryError::Unavailable(format!("a sign-in step this site does not offer: {other:?}"))),
    }
}

/// Cognito's refusals, as the person should hear them.
fn refused<E, R>(e: aws_sdk_cognitoidentityprovider::error::SdkError<E, R>) -> DirectoryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = e.as_service_error().and_then(|s| s.code()).unwrap_or_default().to_string();
    let message = e.as_service_error().and_then(|s| s.message()).unwrap_or_default().to_string();
    match code.as_str() {
        "NotAuthorizedException" if message.contains("session") => DirectoryError::SessionExpired,
        "NotAuthorizedException" | "UserNotFoundException" => DirectoryError::NotAuthorized,
        "InvalidPasswordException" => DirectoryError::PasswordRejected(message),
        "CodeMismatchException" | "ExpiredCodeException" => DirectoryError::SessionExpired,
        "UsernameExistsException" => DirectoryError::AlreadyInvited,
        _ => DirectoryError::Unavailable(aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(e).to_string()),
    }
}
