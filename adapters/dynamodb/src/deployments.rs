//! Deployment claims: the right to ask SageMaker for a job's endpoint (a
//! lease on its state record, as for training), and the job's moves between
//! deployment states.

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};
use hitloop_core::plan::deploy::DeployTransition;
use hitloop_core::records::{now_ms, JobStatus};
use hitloop_pipeline::ports::Deployments;

use crate::keys::{n, s, state_key};
use crate::txn::applied;
use crate::DynamoStore;

#[async_trait]
impl Deployments for DynamoStore {
    async fn claim_deployment(&self, job_id: &str, now: i64, until: i64) -> Result<bool> {
        let r = self
            .job_in(
                job_id,
                &[JobStatus::Deploying],
                Some("(attribute_not_exists(deploy_lease) OR deploy_lease < :now)"),
            )
            .update_expression("SET deploy_lease = :until")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        applied(r)
    }

    async fn release_deployment(&self, job_id: &str) -> Result<()> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(state_key(job_id)))
            .update_expression("REMOVE deploy_lease")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        applied(r).map(|_| ())
    }

    async fn record_deployment(&self, job_id: &str, t: &DeployTransition) -> Result<bool> {
        let record = serde_dynamo::to_attribute_value(&t.record)
            .map_err(|e| Error::Permanent(format!("a deployment record cannot be stored: {e}")))?;
        let mut req = self
            .job_in(job_id, &t.from, None)
            .expression_attribute_values(":to", s(t.to.as_str()))
            .expression_attribute_values(":d", record)
            .expression_attribute_values(":now", n(now_ms()));
        req = match &t.reason {
            Some(r) => req
                .update_expression(
                    "SET job_status = :to, deployment = :d, reason = :r, updated_at = :now REMOVE deploy_lease",
                )
                .expression_attribute_values(":r", s(r)),
            None => req.update_expression(
                "SET job_status = :to, deployment = :d, updated_at = :now REMOVE deploy_lease, reason",
            ),
        };
        applied(req.send().await)
    }
}
