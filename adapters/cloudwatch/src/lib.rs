//! The EndpointUsage port over CloudWatch's GetMetricStatistics: the sum of
//! SageMaker's `Invocations` metric for the endpoint's one variant over the
//! window (no datapoint: nothing served).

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use aws_sdk_cloudwatch::Client;
use hitloop_aws::classify;
use hitloop_core::deploy::VARIANT;
use hitloop_core::error::Result;
use hitloop_pipeline::ports::EndpointUsage;

/// SageMaker's endpoint metrics live here.
const NAMESPACE: &str = "AWS/SageMaker";

pub struct CloudWatchUsage {
    client: Client,
}

impl CloudWatchUsage {
    pub fn new(client: Client) -> Self {
        CloudWatchUsage { client }
    }

    pub fn from_sdk(sdk: &hitloop_aws::SdkConfig) -> Self {
        CloudWatchUsage::new(Client::new(sdk))
    }
}

/// One datapoint per window (CloudWatch's period is whole minutes, at
/// least one).
fn period_seconds(since_ms: i64, until_ms: i64) -> i32 {
    let minutes = ((until_ms - since_ms).max(60_000) + 59_999) / 60_000;
    (minutes * 60).min(i64::from(i32::MAX)) as i32
}

#[async_trait]
impl EndpointUsage for CloudWatchUsage {
    async fn invocations(&self, endpoint: &str, since_ms: i64, until_ms: i64) -> Result<u64> {
        let out = self
            .client
            .get_metric_statistics()
            .namespace(NAMESPACE)
            .metric_name("Invocations")
            .dimensions(Dimension::builder().name("EndpointName").value(endpoint).build())
            .dimensions(Dimension::builder().name("VariantName").value(VARIANT).build())
            .start_time(DateTime::from_millis(since_ms))
            .end_time(DateTime::from_millis(until_ms))
            .period(period_seconds(since_ms, until_ms))
            .statistics(Statistic::Sum)
            .send()
            .await
            .map_err(classify)?;
        let sum: f64 = out.datapoints().iter().filter_map(|d| d.sum()).sum();
        Ok(sum.max(0.0).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_one_period_of_whole_minutes() {
        assert_eq!(period_seconds(0, 86_400_000), 86_400);
        assert_eq!(period_seconds(0, 1), 60);
        assert_eq!(period_seconds(0, 90_000), 120);
    }
}
