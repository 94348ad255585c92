//! The worker site's sign-in on a user pool: email and password checked by
//! Cognito (with the new-password step of a first sign-in), the pool's ID
//! token kept as the session in an HttpOnly cookie and verified on every
//! request, and signing out revoking that token (`RevokedSessions`) as well
//! as clearing the cookie. Sessions last as long as the token (an hour, as
//! the template sets the app client): then the person signs in again.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{HeaderMap, HeaderValue};
use hitloop_workforce::worker::auth::{field, SignIn, WorkerAuth};
use hitloop_workforce::worker::cookies::{self, SameSite};
use hitloop_workforce::worker::pages::SignInForm;
use hitloop_workforce::worker::sessions::RevokedSessions;

use crate::directory::{CognitoDirectory, DirectoryError, SignInStep};
use crate::tokens::{Person, TokenVerifier};

pub const SESSION_COOKIE: &str = "hitloop_session";

pub struct CognitoSignIn {
    directory: CognitoDirectory,
    tokens: TokenVerifier,
    revoked: Arc<dyn RevokedSessions>,
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl CognitoSignIn {
    pub fn new(directory: CognitoDirectory, tokens: TokenVerifier, revoked: Arc<dyn RevokedSessions>) -> Self {
        CognitoSignIn { directory, tokens, revoked }
    }

    /// The person the request's session names, if it holds.
    pub async fn person(&self, headers: &HeaderMap) -> Option<Person> {
        let token = cookies::get(headers, SESSION_COOKIE)?;
        let person = match self.tokens.verify(&token, now_s()).await {
            Ok(p) => p,
            Err(e) => {
                if e.is_retryable() {
                    tracing::error!(error = %e, "worker site: cannot check sessions");
                } else {
                    tracing::info!(error = %e, "worker site: session refused");
                }
                return None;
            }
        };
        match self.revoked.is_revoked(&person.session_id).await {
            Ok(false) => Some(person),
            Ok(true) => None,
            Err(e) => {
                tracing::error!(error = %e, "worker site: cannot read signed-out sessions");
                None
            }
        }
    }
}

#[async_trait]
impl WorkerAuth for CognitoSignIn {
    async fn worker(&self, headers: &HeaderMap) -> Option<String> {
        self.person(headers).await.map(|p| p.worker_id)
    }

    fn form(&self) -> SignInForm {
        SignInForm::EmailPassword
    }

    async fn sign_in(&self, fields: &[(String, String)], secure: bool) -> SignIn {
        let email = field(fields, "email").unwrap_or_default().trim().to_lowercase();
        let step = match (field(fields, "session"), field(fields, "new_password")) {
            (Some(session), Some(new_password)) => self.directory.set_new_password(&email, session, new_password).await,
            _ => self.directory.sign_in(&email, field(fields, "password").unwrap_or_default()).await,
        };
        let tokens = match step {
            Ok(SignInStep::SignedIn(tokens)) => tokens,
            Ok(SignInStep::NewPasswordRequired { session }) => return SignIn::ChoosePassword { email, session },
            Err(DirectoryError::Unavailable(e)) => {
                tracing::error!(error = %e, "worker site: the user pool did not answer");
                return SignIn::Refused("Signing in is not possible just now: try again in a moment.".into());
            }
            Err(e) => return SignIn::Refused(sentence(&e.to_string())),
        };
        // Only a session this site will accept is handed out.
        let person = match self.tokens.verify(&tokens.id_token, now_s()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "worker site: the user pool's own token does not verify");
                return SignIn::Refused("Signing in is not possible just now: try again in a moment.".into());
            }
        };
        tracing::info!(worker_id = %person.worker_id, "signed in");
        let lasts = (person.expires_s - now_s()).max(0);
        match cookies::set(SESSION_COOKIE, &tokens.id_token, SameSite::Lax, secure, Some(lasts)) {
            Some(cookie) => SignIn::Done(vec![cookie]),
            None => SignIn::Refused("The session cannot be kept in a cookie.".into()),
        }
    }

    async fn sign_out(&self, headers: &HeaderMap, secure: bool) -> Vec<HeaderValue> {
        if let Some(person) = self.person(headers).await {
            if let Err(e) = self.revoked.revoke(&person.session_id, person.expires_s).await {
                tracing::error!(error = %e, "worker site: a signed-out session could not be recorded");
            }
            tracing::info!(worker_id = %person.worker_id, "signed out");
        }
        cookies::clear(SESSION_COOKIE, secure).into_iter().collect()
    }
}

/// "incorrect email or password" -> "Incorrect email or password."
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.extend(chars);
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
