//! Jobs: a job's records (`#JOB`, its state; `#SPEC`, its setup; `#DONE#n`,
//! the tallies of its decided items) and the moves between states, each a
//! conditional write on the state.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use hitloop_aws::classify;
use hitloop_core::error::{Error, Result};
use hitloop_core::money::Usd;
use hitloop_core::records::{now_ms, FinalCheck, Job, JobProgress, JobStatus};
use hitloop_pipeline::ports::Jobs;

use crate::codec::{self, SetupRow, StateRow, Tally};
use crate::keys::{
    job_pk, key, n, s, setup_key, state_key, tally_sk, Attrs, JOBS_BY_STATUS, SETUP_SK, STATE_SK, TALLIES, TALLY_PREFIX,
};
use crate::txn::{applied, built, transact};
use crate::DynamoStore;

/// A job's records, as read together.
#[derive(Default)]
struct Records {
    state: Option<StateRow>,
    setup: Option<SetupRow>,
    tally: Tally,
}

const LIVE: [JobStatus; 3] = [JobStatus::Publishing, JobStatus::Labeling, JobStatus::Paused];

impl DynamoStore {
    /// An update of the job's state, on condition that it is in one of
    /// `from` (and that `extra` holds).
    pub(crate) fn job_in(&self, job_id: &str, from: &[JobStatus], extra: Option<&str>) -> UpdateItemFluentBuilder {
        let names: Vec<String> = (0..from.len()).map(|i| format!(":f{i}")).collect();
        let status = format!("job_status IN ({})", names.join(", "));
        let mut req =
            self.client.update_item().table_name(&self.table).set_key(Some(state_key(job_id))).condition_expression(
                match extra {
                    Some(e) => format!("{status} AND {e}"),
                    None => status,
                },
            );
        for (name, st) in names.iter().zip(from) {
            req = req.expression_attribute_values(name, s(st.as_str()));
        }
        req
    }

    /// The job's state record, read consistently.
    pub(crate) async fn state(&self, job_id: &str) -> Result<Option<StateRow>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(state_key(job_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item.map(|a| codec::decode(&format!("job {job_id} ({STATE_SK})"), a)).transpose()
    }

    /// A job's records from its first tally up to `last` (the state, or the
    /// setup too), in one consistent Query.
    async fn records(&self, job_id: &str, last: &str) -> Result<Records> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :first AND :last")
            .expression_attribute_values(":pk", s(job_pk(job_id)))
            .expression_attribute_values(":first", s(TALLY_PREFIX))
            .expression_attribute_values(":last", s(last))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let mut records = Records::default();
        for a in out.items() {
            let sk = a.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or_default();
            let name = format!("job {job_id} ({sk})");
            match sk {
                STATE_SK => records.state = Some(codec::decode(&name, a.clone())?),
                SETUP_SK => records.setup = Some(codec::decode(&name, a.clone())?),
                t if t.starts_with(TALLY_PREFIX) => records.tally.add(&codec::decode::<Tally>(&name, a.clone())?),
                _ => {}
            }
        }
        Ok(records)
    }

    /// Creates both records, if no live job has the id.
    async fn put_job(&self, job: &Job) -> Result<bool> {
        let (state, setup) = codec::job_rows(job)?;
        let record = format!("job {}", job.job_id);
        let state = Put::builder()
            .table_name(&self.table)
            .set_item(Some(codec::encode(&record, &state)?))
            .condition_expression("attribute_not_exists(pk) OR job_status = :failed")
            .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()));
        let setup = Put::builder().table_name(&self.table).set_item(Some(codec::encode(&record, &setup)?));
        let parts = vec![
            TransactWriteItem::builder().put(built(state.build())?).build(),
            TransactWriteItem::builder().put(built(setup.build())?).build(),
        ];
        Ok(transact(&self.client, parts).await?.is_none())
    }

    /// Full jobs from their state records: the setups and tallies in batches.
    async fn with_setups(&self, states: Vec<StateRow>) -> Result<Vec<Job>> {
        let mut setups: HashMap<String, SetupRow> = HashMap::new();
        let mut tallies: HashMap<String, Tally> = HashMap::new();
        let mut keys: Vec<Attrs> = Vec::with_capacity(states.len() * (1 + TALLIES as usize));
        for st in &states {
            keys.push(setup_key(&st.job_id));
            keys.extend((0..TALLIES).map(|t| key(job_pk(&st.job_id), tally_sk(t))));
        }
        for found in self.get_many(keys, false).await? {
            let sk = found.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let job_id = found.get("pk").and_then(|v| v.as_s().ok()).and_then(|p| p.strip_prefix("JOB#"));
            let job_id = job_id.unwrap_or_default().to_string();
            let name = format!("job {job_id} ({sk})");
            if sk == SETUP_SK {
                setups.insert(job_id, codec::decode(&name, found)?);
            } else {
                tallies.entry(job_id).or_default().add(&codec::decode::<Tally>(&name, found)?);
            }
        }
        let mut jobs = Vec::with_capacity(states.len());
        for st in states {
            let Some(setup) = setups.remove(&st.job_id) else {
                return Err(Error::Permanent(format!("job {} has no {SETUP_SK} record", st.job_id)));
            };
            let tally = tallies.remove(&st.job_id).unwrap_or_default();
            jobs.push(codec::job_from(st, setup, &tally)?);
        }
        Ok(jobs)
    }

    async fn set(&self, job_id: &str, expression: &str, values: &[(&str, AttributeValue)]) -> Result<()> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(state_key(job_id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)");
        for (k, v) in values {
            req = req.expression_attribute_values(*k, v.clone());
        }
        if applied(req.send().await)? {
            Ok(())
        } else {
            Err(Error::Permanent(format!("there is no job {job_id}")))
        }
    }
}

#[async_trait]
impl Jobs for DynamoStore {
    async fn job(&self, job_id: &str) -> Result<Option<Job>> {
        // Every record of the job in one read: the tallies, the state and
        // the setup are the job's only sort keys in that range.
        match self.records(job_id, SETUP_SK).await? {
            Records { state: Some(state), setup: Some(setup), tally } => {
                Ok(Some(codec::job_from(state, setup, &tally)?))
            }
            Records { state: None, setup: None, .. } => Ok(None),
            _ => Err(Error::Permanent(format!("job {job_id} has one of its two records only"))),
        }
    }

    async fn progress(&self, job_id: &str) -> Result<Option<JobProgress>> {
        let Records { state: Some(st), tally, .. } = self.records(job_id, STATE_SK).await? else { return Ok(None) };
        Ok(Some(JobProgress {
            status: codec::status_of(&st)?,
            items: st.items,
            decided: tally.decided,
            completion_sent: st.completion_sent,
            blocks_pending: st.workers_blocked > st.redecided_blocks,
            final_check_due: st.final_check.as_deref() == Some(FinalCheck::Due.as_str()),
        }))
    }

    async fn create_job(&self, job: &Job) -> Result<bool> {
        self.put_job(job).await
    }

    async fn put_failed_job(&self, job: &Job) -> Result<()> {
        if self.put_job(job).await? {
            Ok(())
        } else {
            Err(Error::Invalid(format!("job {} exists and is not failed", job.job_id)))
        }
    }

    async fn transition(&self, job_id: &str, from: &[JobStatus], to: JobStatus, reason: Option<&str>) -> Result<bool> {
        let mut req = self
            .job_in(job_id, from, None)
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":now", n(now_ms()));
        req = match reason {
            Some(r) => req
                .update_expression("SET job_status = :to, reason = :r, updated_at = :now")
                .expression_attribute_values(":r", s(r)),
            None => req.update_expression("SET job_status = :to, updated_at = :now REMOVE reason"),
        };
        applied(req.send().await)
    }

    async fn set_hit_type(&self, job_id: &str, hit_type_id: &str) -> Result<()> {
        self.set(job_id, "SET hit_type_id = :t", &[(":t", s(hit_type_id))]).await
    }

    async fn amend_budget(&self, job_id: &str, old: Option<Usd>, new: Option<Usd>) -> Result<bool> {
        let mut req = match old {
            Some(b) => self
                .job_in(job_id, &LIVE, Some("budget_cents = :old"))
                .expression_attribute_values(":old", n(b.cents())),
            None => self.job_in(job_id, &LIVE, Some("attribute_not_exists(budget_cents)")),
        }
        .expression_attribute_values(":now", n(now_ms()));
        req = match new {
            Some(b) => req
                .update_expression("SET budget_cents = :b, updated_at = :now")
                .expression_attribute_values(":b", n(b.cents())),
            None => req.update_expression("SET updated_at = :now REMOVE budget_cents"),
        };
        applied(req.send().await)
    }

    async fn complete_if_done(&self, job_id: &str) -> Result<bool> {
        // The count is the tallies' sum, which no condition can compare: read
        // it, then move the job from labeling. Every decision writes its
        // tally before it asks, so the last one to ask sees them all.
        let Some(p) = self.progress(job_id).await? else { return Ok(false) };
        if !p.done() {
            return Ok(false);
        }
        // Not while a block waits for its re-decisions, nor before the final
        // check (either may reopen an item).
        let settled = "(attribute_not_exists(workers_blocked) OR workers_blocked = redecided_blocks) \
                       AND (attribute_not_exists(final_check) OR final_check <> :due)";
        let r = self
            .job_in(job_id, &[JobStatus::Labeling], Some(settled))
            .update_expression("SET job_status = :complete, updated_at = :now REMOVE reason")
            .expression_attribute_values(":complete", s(JobStatus::Complete.as_str()))
            .expression_attribute_values(":due", s(FinalCheck::Due.as_str()))
            .expression_attribute_values(":now", n(now_ms()))
            .send()
            .await;
        applied(r)
    }

    async fn record_final_check(&self, job_id: &str) -> Result<bool> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(state_key(job_id)))
            .update_expression("SET final_check = :done")
            .condition_expression("final_check = :due")
            .expression_attribute_values(":done", s(FinalCheck::Done.as_str()))
            .expression_attribute_values(":due", s(FinalCheck::Due.as_str()))
            .send()
            .await;
        applied(r)
    }

    async fn set_completion_sent(&self, job_id: &str) -> Result<()> {
        self.set(job_id, "SET completion_sent = :yes", &[(":yes", AttributeValue::Bool(true))]).await
    }

    async fn record_outputs(&self, job_id: &str, at: i64) -> Result<()> {
        self.set(job_id, "SET outputs_at = :at", &[(":at", n(at))]).await
    }

    async fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>> {
        let mut states = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(JOBS_BY_STATUS)
                .key_condition_expression("job_status = :s")
                .expression_attribute_values(":s", s(status.as_str()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for a in out.items() {
                states.push(codec::decode::<StateRow>(&format!("job ({STATE_SK})"), a.clone())?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        self.with_setups(states).await
    }
}
