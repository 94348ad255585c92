//! The Crowd port on the MTurk Requester API, or any compatible service (the
//! endpoint is configuration: MTurk itself closed on 2026-09-30). Linked
//! only by the functions that call the marketplace.

mod clock;
mod crowd;
mod refusal;
mod requirements;
mod views;

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_mturk::Client;

pub use refusal::hit_id_in;

/// MTurk's endpoint is always in us-east-1.
const REGION: &str = "us-east-1";

/// How long one request may take before it is given up and tried again
/// (MTURK_ATTEMPT_TIMEOUT_MS overrides it): well inside the functions'
/// 60-second timeout, three attempts fit, so a slow marketplace makes a
/// retry, not a killed invocation.
pub const ATTEMPT_TIMEOUT_MS: u64 = 10_000;

/// Where the marketplace is, how long a request may take and which secret
/// holds the key requests are signed with: what the functions that call it
/// read from their variables (MTURK_ENDPOINT, MTURK_ATTEMPT_TIMEOUT_MS,
/// MTURK_KEY_SECRET).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MturkSettings {
    pub endpoint: String,
    /// The Secrets Manager secret (ARN or name) holding the requester key
    /// the service issued: `hitloop-secrets` makes the SDK configuration
    /// that signs with it, which `crowd` is then given.
    pub key_secret: String,
    pub attempt_timeout_ms: u64,
}

impl MturkSettings {
    /// A client signing with `sdk`'s credentials.
    pub fn crowd(&self, sdk: &hitloop_aws::SdkConfig) -> MturkCrowd {
        MturkCrowd::new(sdk, &self.endpoint, Duration::from_millis(self.attempt_timeout_ms))
    }
}

pub struct MturkCrowd {
    client: Client,
    /// The latest time the marketplace has reported: every response's Date
    /// header, and the creation, accept and submit times in its answers.
    latest_seen_ms: Arc<AtomicI64>,
}

impl MturkCrowd {
    /// A client for the marketplace at `endpoint`, which gives a request
    /// `attempt_timeout` before trying again (the SDK retries with the same
    /// tokens) and follows the marketplace's clock from its responses.
    pub fn new(sdk: &hitloop_aws::SdkConfig, endpoint: &str, attempt_timeout: Duration) -> Self {
        let timeouts = aws_sdk_mturk::config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(attempt_timeout)
            .connect_timeout(Duration::from_secs(3))
            .build();
        let config = aws_sdk_mturk::config::Builder::from(sdk)
            .region(aws_sdk_mturk::config::Region::new(REGION))
            .endpoint_url(endpoint)
            .timeout_config(timeouts);
        let latest_seen_ms = Arc::new(AtomicI64::new(0));
        let clock = clock::MarketplaceClock { latest_seen_ms: latest_seen_ms.clone() };
        MturkCrowd { client: Client::from_conf(config.interceptor(clock).build()), latest_seen_ms }
    }

    fn saw(&self, t: i64) {
        self.latest_seen_ms.fetch_max(t, std::sync::atomic::Ordering::Relaxed);
    }
}
