//! Training claims: the right to call CreateTrainingJob for a job (a lease
//! on its state record), and the job's moves between training states.

use async_trait::async_trait;
use hitloop_core::error::Result;
use hitloop_core::plan::train::Transition;
use hitloop_core::records::{now_ms, JobStatus};
use hitloop_pipeline::ports::TrainingClaims;

use crate::keys::{n, s, state_key};
use crate::txn::applied;
use crate::DynamoStore;

#[async_trait]
impl TrainingClaims for DynamoStore {
    async fn claim_training(&self, job_id: &str, now: i64, until: i64) -> Result<bool> {
        let r = self
            .job_in(
                job_id,
                &[JobStatus::Complete],
                Some("(attribute_not_exists(training_lease) OR training_lease < :now)"),
            )
            .update_expression("SET training_lease = :until")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        applied(r)
    }

    async fn release_training(&self, job_id: &str) -> Result<()> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(state_key(job_id)))
            .update_expression("REMOVE training_lease")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        applied(r).map(|_| ())
    }

    async fn record_training(&self, job_id: &str, t: &Transition) -> Result<bool> {
        let record = serde_dynamo::to_attribute_value(&t.record)
            .map_err(|e| hitloop_core::error::Error::Permanent(format!("a training record cannot be stored: {e}")))?;
        let mut req = self
            .job_in(job_id, &t.from, None)
            .expression_attribute_values(":to", s(t.to.as_str()))
            .expression_attribute_values(":t", record)
            .expression_attribute_values(":now", n(now_ms()));
        // A trained job that deploys gets its deployment in the same write.
        let mut set = "SET job_status = :to, training = :t, updated_at = :now".to_string();
        if let Some(d) = &t.deployment {
            let d = serde_dynamo::to_attribute_value(d).map_err(|e| {
                hitloop_core::error::Error::Permanent(format!("a deployment record cannot be stored: {e}"))
            })?;
            req = req.expression_attribute_values(":d", d);
            set.push_str(", deployment = :d");
        }
        req = match &t.reason {
            Some(r) => req
                .update_expression(format!("{set}, reason = :r REMOVE training_lease"))
                .expression_attribute_values(":r", s(r)),
            None => req.update_expression(format!("{set} REMOVE training_lease, reason")),
        };
        applied(req.send().await)
    }
}
