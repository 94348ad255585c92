//! The user pool's signing keys, fetched from its JWKS URL and kept. A
//! token naming a key id not in hand makes one fetch (the pool rotated its
//! keys), at most once per `REFETCH_AFTER`, so tokens with made-up key ids
//! cannot make the service hammer the URL.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::DecodingKey;
use tokio::sync::RwLock;

use crate::tokens::TokenError;

/// The least time between two fetches.
pub const REFETCH_AFTER: Duration = Duration::from_secs(60);

pub struct Jwks {
    url: String,
    http: reqwest::Client,
    held: RwLock<Held>,
}

#[derive(Default)]
struct Held {
    keys: Option<JwkSet>,
    fetched: Option<Instant>,
    fetches: u64,
}

impl Jwks {
    pub fn new(url: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Jwks { url: url.to_string(), http, held: RwLock::new(Held::default()) }
    }

    /// How many times the keys were fetched (to test the cache).
    pub async fn fetches(&self) -> u64 {
        self.held.read().await.fetches
    }

    /// The key `kid`, from what is held or, if it is not there, from a
    /// fresh fetch (when the last is old enough).
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        if let Some(key) = self.held_key(kid).await? {
            return Ok(key);
        }
        let mut held = self.held.write().await;
        // Another request may have fetched meanwhile.
        if let Some(jwk) = held.keys.as_ref().and_then(|k| k.find(kid)) {
            return DecodingKey::from_jwk(jwk).map_err(|_| TokenError::UnknownKey);
        }
        if held.fetched.is_some_and(|at| at.elapsed() < REFETCH_AFTER) {
            return Err(TokenError::UnknownKey);
        }
        let keys = self.fetch().await?;
        held.fetched = Some(Instant::now());
        held.fetches += 1;
        let found = keys.find(kid).map(DecodingKey::from_jwk);
        held.keys = Some(keys);
        match found {
            Some(Ok(key)) => Ok(key),
            _ => Err(TokenError::UnknownKey),
        }
    }

    async fn held_key(&self, kid: &str) -> Result<Option<DecodingKey>, TokenError> {
        let held = self.held.read().await;
        match held.keys.as_ref().and_then(|k| k.find(kid)) {
            Some(jwk) => DecodingKey::from_jwk(jwk).map(Some).map_err(|_| TokenError::UnknownKey),
            None => Ok(None),
        }
    }

    async fn fetch(&self) -> Result<JwkSet, TokenError> {
        let unavailable = |e: reqwest::Error| TokenError::KeysUnavailable(format!("{}: {e}", self.url));
        let response = self.http.get(&self.url).send().await.map_err(unavailable)?;
        let response = response.error_for_status().map_err(unavailable)?;
        response.json::<JwkSet>().await.map_err(unavailable)
    }
}
