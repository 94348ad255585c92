//! Requester access keys: issued by the service, the secret shown once, listed
//! and revoked. The memory store keeps them for the life of the process (the
//! local stack); a deployment keeps them in DynamoDB.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use rand::Rng;
use serde::Serialize;

use super::AuthError;

/// Key ids look like AWS's (`AKIA` + 16) with our own prefix, so a key of this
/// service is never mistaken for an IAM user's.
const KEY_ID_PREFIX: &str = "AKHL";
const KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyStatus {
    Active,
    Revoked,
}

/// What is known of a key, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequesterKey {
    pub access_key_id: String,
    pub description: String,
    pub created_ms: i64,
    pub status: KeyStatus,
}

/// A key just issued: the only time its secret is shown.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: RequesterKey,
    pub secret_access_key: String,
}

#[async_trait]
pub trait RequesterKeys: Send + Sync {
    /// The secret of an active key, if there is one with this id.
    async fn secret_of(&self, access_key_id: &str) -> Result<Option<String>, AuthError>;
    async fn issue(&self, description: &str, now_ms: i64) -> Result<IssuedKey, AuthError>;
    async fn list(&self) -> Result<Vec<RequesterKey>, AuthError>;
    /// Revokes a key; false if there is no such key.
    async fn revoke(&self, access_key_id: &str) -> Result<bool, AuthError>;
}

/// A fresh key id and secret from the thread's CSPRNG (ChaCha, OS-seeded).
pub fn new_key_pair() -> (String, String) {
    let mut rng = rand::rng();
    let mut pick = |alphabet: &[u8], n: usize| -> String {
        (0..n).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
    };
    (format!("{KEY_ID_PREFIX}{}", pick(KEY_ID_ALPHABET, 16)), pick(SECRET_ALPHABET, 40))
}

#[derive(Default)]
pub struct MemoryKeys {
    keys: Mutex<BTreeMap<String, (RequesterKey, String)>>,
}

impl MemoryKeys {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that already knows one key (the local stack's, given on the
    /// command line, so its clients can be configured before it starts).
    pub fn with_key(access_key_id: &str, secret: &str, description: &str) -> Self {
        let store = Self::default();
        let key = RequesterKey {
            access_key_id: access_key_id.to_string(),
            description: description.to_string(),
            created_ms: 0,
            status: KeyStatus::Active,
        };
        store.lock().insert(access_key_id.to_string(), (key, secret.to_string()));
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (RequesterKey, String)>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl RequesterKeys for MemoryKeys {
    async fn secret_of(&self, access_key_id: &str) -> Result<Option<String>, AuthError> {
        Ok(self
            .lock()
            .get(access_key_id)
            .filter(|(k, _)| k.status == KeyStatus::Active)
            .map(|(_, secret)| secret.clone()))
    }

    async fn issue(&self, description: &str, now_ms: i64) -> Result<IssuedKey, AuthError> {
        let (access_key_id, secret) = new_key_pair();
        let key = RequesterKey {
            access_key_id: access_key_id.clone(),
            description: description.to_string(),
            created_ms: now_ms,
            status: KeyStatus::Active,
        };
        self.lock().insert(access_key_id, (key.clone(), secret.clone()));
        Ok(IssuedKey { key, secret_access_key: secret })
    }

    async fn list(&self) -> Result<Vec<RequesterKey>, AuthError> {
        Ok(self.lock().values().map(|(k, _)| k.clone()).collect())
    }

    async fn revoke(&self, access_key_id: &str) -> Result<bool, AuthError> {
        Ok(match self.lock().get_mut(access_key_id) {
            Some((k, _)) => {
                k.status = KeyStatus::Revoked;
                true
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_issued_key_verifies_until_revoked() {
        let keys = MemoryKeys::new();
        let issued = keys.issue("ci", 5).await.unwrap();
        let id = &issued.key.access_key_id;
        assert!(id.starts_with("AKHL") && id.len() == 20, "{id}");
        assert_eq!(issued.secret_access_key.len(), 40);
        assert_eq!(keys.secret_of(id).await.unwrap().as_deref(), Some(issued.secret_access_key.as_str()));
        assert!(keys.revoke(id).await.unwrap());
        assert_eq!(keys.secret_of(id).await.unwrap(), None, "a revoked key no longer signs");
        assert_eq!(keys.list().await.unwrap()[0].status, KeyStatus::Revoked, "but is still listed");
        assert!(!keys.revoke("AKHLNOSUCHKEY0000000").await.unwrap());
    }

    #[test]
    fn key_pairs_differ() {
        let (a, s) = new_key_pair();
        let (b, t) = new_key_pair();
        assert_ne!(a, b);
        assert_ne!(s, t);
    }
}
