//! An endpoint that serves nothing still costs money (instances by the
//! hour; a serverless endpoint little, but its model and configuration
//! stay until teardown): `hitloop status` warns when a job's endpoint has
//! stood for a day without a request.

use crate::deploy::Serving;
use crate::records::{Job, JobStatus};

pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The endpoint whose last day of requests status should count: the job's,
/// deployed and asked for at least a day ago; with the window to count
/// over: the last day, to a minute past `now` (CloudWatch counts whole
/// seconds, and a request of this very second counts).
pub fn idle_check(job: &Job, now: i64) -> Option<(String, i64, i64)> {
    let d = job.deployment.as_ref().filter(|_| job.status == JobStatus::Deployed)?;
    let since = d.requested_at.unwrap_or(job.updated_at);
    (now - since >= DAY_MS).then(|| (d.endpoint.clone(), now - DAY_MS, now + MINUTE_MS))
}

const MINUTE_MS: i64 = 60 * 1000;

/// The warning for an endpoint that answered `invocations` requests in the
/// last day.
pub fn idle_warning(job: &Job, endpoint: &str, invocations: u64) -> Option<String> {
    if invocations > 0 {
        return None;
    }
    let cost = match job.spec.deploy.as_ref().map(|d| d.serving()) {
        Some(Serving::Instances { instance_type, count }) => {
            format!("its {count} {instance_type} instance(s) are billed by the hour")
        }
        _ => "serverless, it costs little idle, but its model and configuration stay".into(),
    };
    Some(format!(
        "endpoint {endpoint} has served nothing for a day ({cost}): `hitloop teardown {}` deletes it",
        job.job_id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSpec;
    use crate::records::DeploymentRecord;

    fn deployed(deploy: &str, requested_at: i64) -> Job {
        let spec = JobSpec::parse(&format!(
            r#"{{"labels": ["a", "b"], "training": {{"features": ["x"], "sagemaker": {{}}}}, "deploy": {deploy}}}"#
        ))
        .unwrap();
        let mut job = Job::new("iris", JobStatus::Deployed, spec, String::new(), "k", "e", 2);
        job.deployment = Some(DeploymentRecord {
            endpoint: "hitloop-e".into(),
            version: 1,
            serving: Some(1),
            requested_at: Some(requested_at),
            ..Default::default()
        });
        job
    }

    #[test]
    fn an_endpoint_a_day_old_is_counted_over_the_last_day() {
        let now = 10 * DAY_MS;
        let job = deployed("{}", now - DAY_MS);
        assert_eq!(idle_check(&job, now), Some(("hitloop-e".to_string(), now - DAY_MS, now + 60_000)));
        assert_eq!(idle_check(&deployed("{}", now - DAY_MS + 1), now), None, "younger than a day");
        let mut moving = job.clone();
        moving.status = JobStatus::Deploying;
        assert_eq!(idle_check(&moving, now), None);
        let mut gone = job.clone();
        gone.status = JobStatus::TornDown;
        assert_eq!(idle_check(&gone, now), None);
    }

    #[test]
    fn only_an_endpoint_that_served_nothing_is_warned_of_with_what_it_costs() {
        let serverless = deployed("{}", 0);
        let warning = idle_warning(&serverless, "hitloop-e", 0).unwrap();
        assert!(warning.contains("hitloop-e has served nothing for a day") && warning.contains("serverless"));
        assert!(warning.contains("hitloop teardown iris"), "{warning}");
        assert_eq!(idle_warning(&serverless, "hitloop-e", 1), None);
        let instances = deployed(r#"{"instance_type": "ml.m5.large", "instance_count": 2}"#, 0);
        assert!(idle_warning(&instances, "hitloop-e", 0).unwrap().contains("2 ml.m5.large instance(s)"));
    }
}
