//! An ID token of the pool, checked as AWS documents: an RS256 signature
//! by one of the pool's keys, the pool as issuer, the worker site's app
//! client as audience, `token_use` "id", and the time between `iat` and
//! `exp`. Expiry is checked against the `now` given (the wall clock in the
//! service), not the library's own clock, so that it can be tested.

use std::collections::HashSet;

use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;

use crate::jwks::Jwks;
use crate::worker_id::worker_id_of;
use crate::UserPool;

/// Who a verified token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The pool's id for the person.
    pub sub: String,
    /// What requesters and hitloop see (`worker_id_of(sub)`).
    pub worker_id: String,
    pub email: Option<String>,
    /// When the person signed in (the token's `auth_time`), seconds.
    pub signed_in_s: i64,
    /// When the token stops being accepted, seconds.
    pub expires_s: i64,
    /// The token's own id (`jti`): what signing out revokes.
    pub session_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a token")]
    Malformed,
    #[error("signed with a key the user pool does not publish")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("issued by another user pool")]
    WrongIssuer,
    #[error("issued to another app client")]
    WrongClient,
    #[error("not an ID token")]
    WrongUse,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("the user pool's keys cannot be read: {0}")]
    KeysUnavailable(String),
}

impl TokenError {
    /// Worth trying again later (the person is not at fault).
    pub fn is_retryable(&self) -> bool {
        matches!(self, TokenError::KeysUnavailable(_))
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    token_use: String,
    exp: i64,
    iat: i64,
    #[serde(default)]
    auth_time: Option<i64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    jti: Option<String>,
}

pub struct TokenVerifier {
    issuer: String,
    client_id: String,
    keys: Jwks,
}

/// Seconds a token issued by a clock ahead of this host is still taken.
const LEEWAY_S: i64 = 60;

impl TokenVerifier {
    /// Verifies tokens of `pool`, whose keys are at `jwks_url`.
    pub fn new(pool: &UserPool, jwks_url: &str) -> Self {
        TokenVerifier { issuer: pool.issuer(), client_id: pool.client_id.clone(), keys: Jwks::new(jwks_url) }
    }

    pub fn keys(&self) -> &Jwks {
        &self.keys
    }

    /// The person an ID token names, if it holds at `now_s`.
    pub async fn verify(&self, token: &str, now_s: i64) -> Result<Person, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::BadSignature);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.keys.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client_id]);
        // Expiry against `now_s` below; these must be there.
        validation.validate_exp = false;
        validation.required_spec_claims =
            ["exp", "iss", "aud", "sub"].into_iter().map(String::from).collect::<HashSet<_>>();
        let data = decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm | ErrorKind::InvalidRsaKey(_) => {
                    TokenError::BadSignature
                }
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAudience => TokenError::WrongClient,
                ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => TokenError::WrongUse,
                _ => TokenError::Malformed,
            }
        })?;
        let claims = data.claims;
        if claims.token_use != "id" {
            return Err(TokenError::WrongUse);
        }
        if now_s >= claims.exp {
            return Err(TokenError::Expired);
        }
        if claims.iat > now_s + LEEWAY_S {
            return Err(TokenError::NotYetValid);
        }
        // Every Cognito ID token has a jti; a digest of the token otherwise.
        let session_id = claims.jti.unwrap_or_else(|| {
            use sha2::{Digest, Sha256};
            Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
        });
        Ok(Person {
            session_id,
            worker_id: worker_id_of(&claims.sub),
            sub: claims.sub,
            email: claims.email,
            signed_in_s: claims.auth_time.unwrap_or(claims.iat),
            expires_s: claims.exp,
        })
    }
}
