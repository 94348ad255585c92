//! Faults on the Requester API: throttling and service faults at set rates,
//! an optional token bucket per operation, and added latency.

use std::collections::HashMap;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestFaults {
    /// Share of requests answered with ThrottlingException ("Rate exceeded").
    pub throttle_rate: f64,
    /// Share of requests answered with ServiceFault (HTTP 500).
    pub fault_rate: f64,
    /// Requests per second allowed per operation (a token bucket); 0 = no limit.
    pub rate_limit: f64,
    /// The bucket's size: how many requests may come at once.
    pub burst: f64,
    /// Milliseconds (real time) added before every answer.
    pub latency_ms: u64,
    /// Share of requests carried out and then answered `late_reply_ms` late:
    /// a client that gives up first sees a timeout although the work was
    /// done (the case that makes idempotency tokens necessary).
    pub late_reply_rate: f64,
    pub late_reply_ms: u64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct FaultInjector {
    pub config: RequestFaults,
    rng: ChaCha8Rng,
    buckets: HashMap<String, Bucket>,
}

impl FaultInjector {
    pub fn new(config: RequestFaults, seed: u64) -> Self {
        FaultInjector { config, rng: ChaCha8Rng::seed_from_u64(seed ^ 0x66617574), buckets: HashMap::new() }
    }

    /// How long the answer to a request that was carried out waits, if at all.
    pub fn late_reply(&mut self) -> Option<std::time::Duration> {
        if self.config.late_reply_rate <= 0.0 || self.config.late_reply_ms == 0 {
            return None;
        }
        let roll: f64 = self.rng.random();
        (roll < self.config.late_reply_rate).then(|| std::time::Duration::from_millis(self.config.late_reply_ms))
    }

    /// The error this request gets instead of an answer, if any.
    pub fn check(&mut self, operation: &str) -> Option<ApiError> {
        if self.config.rate_limit > 0.0 {
            let burst = self.config.burst.max(1.0);
            let rate = self.config.rate_limit;
            let now = Instant::now();
            let b = self.buckets.entry(operation.to_string()).or_insert(Bucket { tokens: burst, at: now });
            b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
            b.at = now;
            if b.tokens < 1.0 {
                return Some(ApiError::throttled());
            }
            b.tokens -= 1.0;
        }
        let roll: f64 = self.rng.random();
        if roll < self.config.throttle_rate {
            return Some(ApiError::throttled());
        }
        if roll < self.config.throttle_rate + self.config.fault_rate {
            return Some(ApiError::service_fault());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_roughly_honoured() {
        let mut f = FaultInjector::new(RequestFaults { throttle_rate: 0.1, fault_rate: 0.05, ..Default::default() }, 3);
        let errors: Vec<_> = (0..10_000).filter_map(|_| f.check("GetHIT")).collect();
        let throttled = errors.iter().filter(|e| e.message == "Rate exceeded").count();
        assert!((800..1200).contains(&throttled), "{throttled}");
        assert!((350..650).contains(&(errors.len() - throttled)), "{}", errors.len());
    }

    #[test]
    fn the_bucket_limits_bursts() {
        let mut f = FaultInjector::new(RequestFaults { rate_limit: 1.0, burst: 3.0, ..Default::default() }, 3);
        let passed = (0..10).filter(|_| f.check("CreateHIT").is_none()).count();
        assert_eq!(passed, 3);
        // Another operation has its own bucket.
        assert!(f.check("GetHIT").is_none());
    }
}
