//! Who is calling. Requesters sign every API request with AWS Signature
//! Version 4 and an access key this service issued (`keys`); `sigv4` checks
//! the signature; `RequesterAuth` puts the two together for the HTTP layer.

pub mod keys;
pub mod sigv4;

use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{ApiError, ErrorType};
pub use keys::{IssuedKey, KeyStatus, MemoryKeys, RequesterKey, RequesterKeys};
pub use sigv4::SignedRequest;

/// Why a request's identity was not accepted, in AWS's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no signature")]
    Missing,
    /// The signature's form is wrong (a part missing, a malformed scope).
    #[error("incomplete signature: {0}")]
    Incomplete(String),
    /// Well formed but refused before any arithmetic (scope, date, skew).
    #[error("invalid signature: {0}")]
    Invalid(String),
    /// The arithmetic disagrees: wrong secret, or the request was changed.
    #[error("signature does not match")]
    Mismatch,
    /// No active key with this id (never issued, or revoked).
    #[error("unknown access key")]
    UnknownKey,
    /// The key store could not be read: retryable.
    #[error("key store unavailable: {0}")]
    Unavailable(String),
}

impl AuthError {
    pub fn incomplete(message: impl Into<String>) -> Self {
        AuthError::Incomplete(message.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        AuthError::Invalid(message.into())
    }

    pub fn mismatch() -> Self {
        AuthError::Mismatch
    }

    /// The error an AWS JSON endpoint answers with (all HTTP 400 but the
    /// store being down, which is the service's fault and retryable).
    pub fn to_api_error(&self) -> ApiError {
        let (kind, message) = match self {
            AuthError::Missing => {
                (ErrorType::MissingAuthenticationToken, "Request is missing Authentication Token".into())
            }
            AuthError::Incomplete(m) => (ErrorType::IncompleteSignature, m.clone()),
            AuthError::Invalid(m) => (ErrorType::InvalidSignature, m.clone()),
            AuthError::Mismatch => (
                ErrorType::InvalidSignature,
                "The request signature we calculated does not match the signature you provided. Check your AWS \
                 Secret Access Key and signing method. Consult the service documentation for details."
                    .into(),
            ),
            AuthError::UnknownKey => {
                (ErrorType::UnrecognizedClient, "The security token included in the request is invalid.".into())
            }
            AuthError::Unavailable(_) => return ApiError::service_fault(),
        };
        ApiError { kind, message, turk_code: None }
    }
}

/// How the API checks requesters: with the keys of a key store, or not at all
/// (the local stack's `--no-auth`, never a deployment).
#[derive(Clone)]
pub enum RequesterAuth {
    Keys(Arc<dyn RequesterKeys>),
    Off,
}

impl RequesterAuth {
    /// The access key id of a request whose signature is good.
    pub async fn check(&self, request: &SignedRequest<'_>, clocks: &[SystemTime]) -> Result<Option<String>, AuthError> {
        let RequesterAuth::Keys(keys) = self else { return Ok(None) };
        let claim = request.claim(clocks)?;
        let secret = keys.secret_of(&claim.access_key_id).await?.ok_or(AuthError::UnknownKey)?;
        request.verify(&claim, &secret)?;
        Ok(Some(claim.access_key_id))
    }
}

/// One requester key given to a service that keeps its keys in memory (the
/// local stack and the tests), so its clients can be configured with it.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl LocalKey {
    pub fn generate() -> Self {
        let (access_key_id, secret_access_key) = keys::new_key_pair();
        LocalKey { access_key_id, secret_access_key }
    }

    /// `ID:SECRET`, as `HITLOOP_MTURK_REQUESTER_KEY` carries it.
    pub fn parse(text: &str) -> Option<Self> {
        let (id, secret) = text.trim().split_once(':')?;
        (!id.is_empty() && !secret.is_empty())
            .then(|| LocalKey { access_key_id: id.to_string(), secret_access_key: secret.to_string() })
    }
}

/// Never prints the secret.
impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}
