//! The marketplace's clock, as its responses show it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use aws_sdk_mturk::primitives::DateTime;

/// Reads the Date header of every MTurk response. A deadline hitloop sends
/// (a HIT's new expiry) must be in the marketplace's future, and a simulated
/// marketplace runs ahead of real time: the times in its answers alone go
/// stale while nothing happens.
#[derive(Debug)]
pub(crate) struct MarketplaceClock {
    pub(crate) latest_seen_ms: Arc<AtomicI64>,
}

impl aws_sdk_mturk::config::Intercept for MarketplaceClock {
    fn name(&self) -> &'static str {
        "MarketplaceClock"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_sdk_mturk::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_sdk_mturk::config::RuntimeComponents,
        _cfg: &mut aws_sdk_mturk::config::ConfigBag,
    ) -> std::result::Result<(), aws_sdk_mturk::error::BoxError> {
        if let Some(ms) = context.response().headers().get("date").and_then(http_date_ms) {
            self.latest_seen_ms.fetch_max(ms, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// `Sat, 28 Nov 2026 20:57:01 GMT` -> epoch milliseconds.
fn http_date_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(text).ok().map(|t| t.timestamp_millis())
}

/// An MTurk timestamp in epoch milliseconds (0 when absent).
pub(crate) fn millis(t: Option<&DateTime>) -> i64 {
    t.map(|d| d.secs() * 1000 + i64::from(d.subsec_nanos() / 1_000_000)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_http_dates() {
        assert_eq!(super::http_date_ms("Thu, 01 Jan 1970 00:00:10 GMT"), Some(10_000));
        assert_eq!(super::http_date_ms("yesterday"), None);
    }
}
