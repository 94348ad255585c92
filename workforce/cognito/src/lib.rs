//! The people who label, in an Amazon Cognito user pool. The team lead
//! invites them (AdminCreateUser: Cognito mails a temporary password); they
//! sign in with their email and password, setting their own the first time
//! (`directory.rs`); the worker site keeps the pool's ID token as the session
//! and checks it on every request against the pool's published keys, issuer,
//! app client, token use and expiry (`tokens.rs`, keys in `jwks.rs`). The
//! worker id requesters and hitloop see is derived from the person's `sub`
//! (`worker_id.rs`), never from the email.
//!
//! Locally the same code runs against moto's cognito-idp (its tokens carry
//! the real AWS issuer; its keys are served at the moto endpoint).

pub mod directory;
pub mod jwks;
pub mod pools;
pub mod sign_in;
pub mod tokens;
pub mod worker_id;

pub use directory::{CognitoDirectory, DirectoryError, Invited, SignInStep, Tokens};
pub use jwks::Jwks;
pub use sign_in::CognitoSignIn;
pub use tokens::{Person, TokenError, TokenVerifier};
pub use worker_id::worker_id_of;

/// What a user pool is known by: its id (`<region>_<suffix>`) and the app
/// client the worker site signs people in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPool {
    pub pool_id: String,
    pub client_id: String,
}

impl UserPool {
    /// The region is the pool id's prefix.
    pub fn region(&self) -> &str {
        self.pool_id.split('_').next().unwrap_or("us-east-1")
    }

    /// The `iss` of the pool's tokens (always the AWS host, moto's too).
    pub fn issuer(&self) -> String {
        format!("https://cognito-idp.{}.amazonaws.com/{}", self.region(), self.pool_id)
    }

    /// Where the pool's keys are published: under the issuer, or under
    /// `endpoint` (a local stand-in) when given.
    pub fn jwks_url(&self, endpoint: Option<&str>) -> String {
        match endpoint {
            Some(e) => format!("{}/{}/.well-known/jwks.json", e.trim_end_matches('/'), self.pool_id),
            None => format!("{}/.well-known/jwks.json", self.issuer()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_and_keys_url_follow_from_the_pool_id() {
        let pool = UserPool { pool_id: "eu-west-1_AbC123".into(), client_id: "c".into() };
        assert_eq!(pool.region(), "eu-west-1");
        assert_eq!(pool.issuer(), "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123");
        assert_eq!(
            pool.jwks_url(None),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json"
        );
        assert_eq!(
            pool.jwks_url(Some("http://127.0.0.1:5000/")),
            "http://127.0.0.1:5000/eu-west-1_AbC123/.well-known/jwks.json"
        );
    }
}
