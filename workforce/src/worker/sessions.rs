//! Sessions that were signed out. A session is a token the user pool
//! signed, checked on every request without asking anyone; signing out
//! clears the browser's cookie, and records the token's id here so that a
//! copy of it (kept, stolen, replayed) is refused too until it would have
//! expired anyway. The record can go then (DynamoDB's TTL takes it).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::store::{StoreError, StoreResult};

#[async_trait]
pub trait RevokedSessions: Send + Sync {
    /// Ends session `id` (its token's `jti`) for good; its token expires at
    /// `expires_s`, after which nothing needs to remember it.
    async fn revoke(&self, id: &str, expires_s: i64) -> StoreResult<()>;
    async fn is_revoked(&self, id: &str) -> StoreResult<bool>;
}

/// In the process (the local service, tests).
#[derive(Default)]
pub struct MemoryRevokedSessions {
    revoked: Mutex<HashMap<String, i64>>,
}

#[async_trait]
impl RevokedSessions for MemoryRevokedSessions {
    async fn revoke(&self, id: &str, expires_s: i64) -> StoreResult<()> {
        let mut revoked = self.revoked.lock().map_err(|_| StoreError::Unavailable("poisoned".into()))?;
        revoked.insert(id.to_string(), expires_s);
        Ok(())
    }

    async fn is_revoked(&self, id: &str) -> StoreResult<bool> {
        let revoked = self.revoked.lock().map_err(|_| StoreError::Unavailable("poisoned".into()))?;
        Ok(revoked.contains_key(id))
    }
}
