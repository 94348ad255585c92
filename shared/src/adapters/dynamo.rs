//! The JobStore on DynamoDB: one table, keys by record kind.
//!
//! | record | pk | sk |
//! |---|---|---|
//! | job | `JOB#<job>` | `#JOB` |
//! | item | `JOB#<job>` | `ITEM#<item>` |
//! | answer | `JOB#<job>` | `ANS#<len>:<item>#<assignment>` |
//! | HIT -> item | `HIT#<hit>` | `#HIT` |
//! | processed notification | `EVT#<EventDocId>` | `#EVT` (expires by TTL) |
//!
//! Indexes: `jobs-by-status` (job_status, created_at) over jobs, and the sparse
//! `open-items` (open_shard, open_sk) over items not yet decided, for sweep.
//! Counters on the job change in the same transaction as the item they count.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, PutRequest, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;

use crate::error::{classify, Error, Result};
use crate::job::JobSpec;
use crate::money::Usd;
use crate::ports::{JobStore, Reservation};
use crate::records::*;

pub const OPEN_SHARDS: u32 = 8;
pub const JOBS_BY_STATUS: &str = "jobs-by-status";
pub const OPEN_ITEMS: &str = "open-items";
const EVENT_TTL_S: i64 = 14 * 24 * 3600;

type Attrs = HashMap<String, AttributeValue>;

pub struct DynamoJobStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn job_pk(job: &str) -> String {
    format!("JOB#{job}")
}
fn item_sk(item: &str) -> String {
    format!("ITEM#{item}")
}
fn answer_prefix(item: &str) -> String {
    format!("ANS#{}:{item}#", item.len())
}

/// The open-items shard of an item: spreads sweep's index over partitions.
pub fn shard_of(job: &str, item: &str) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for b in job.bytes().chain([0]).chain(item.bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    h % OPEN_SHARDS
}

fn get_s(a: &Attrs, k: &str) -> Option<String> {
    a.get(k).and_then(|v| v.as_s().ok()).cloned()
}
fn get_n(a: &Attrs, k: &str) -> i64 {
    a.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}
fn get_bool(a: &Attrs, k: &str) -> bool {
    a.get(k).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Permanent(format!("stored {what} cannot be read: {e}"))
}

fn job_from(a: &Attrs) -> Result<Job> {
    let spec_json = get_s(a, "spec").unwrap_or_default();
    Ok(Job {
        job_id: get_s(a, "job_id").unwrap_or_default(),
        status: get_s(a, "job_status").unwrap_or_default().parse().map_err(|e| corrupt("job", e))?,
        reason: get_s(a, "reason"),
        spec: serde_json::from_str(&spec_json).map_err(|e| corrupt("job spec", e))?,
        template: get_s(a, "template").unwrap_or_default(),
        manifest_key: get_s(a, "manifest_key").unwrap_or_default(),
        manifest_etag: get_s(a, "manifest_etag").unwrap_or_default(),
        items: get_n(a, "items") as u64,
        decided: get_n(a, "decided") as u64,
        labeled: get_n(a, "labeled") as u64,
        unresolved: get_n(a, "unresolved") as u64,
        answers: get_n(a, "answers") as u64,
        assignments_bought: get_n(a, "bought") as u64,
        reserved: Usd::from_cents(get_n(a, "reserved_cents")),
        spent: Usd::from_cents(get_n(a, "spent_cents")),
        hit_type_id: get_s(a, "hit_type_id"),
        completion_sent: get_bool(a, "completion_sent"),
        bucket: get_s(a, "bucket").unwrap_or_default(),
        columns: match get_s(a, "columns") {
            Some(c) => serde_json::from_str(&c).map_err(|e| corrupt("job columns", e))?,
            None => Vec::new(),
        },
        outputs_at: a.contains_key("outputs_at").then(|| get_n(a, "outputs_at")),
        training: match get_s(a, "training") {
            Some(t) => Some(serde_json::from_str(&t).map_err(|e| corrupt("job training", e))?),
            None => None,
        },
        created_at: get_n(a, "created_at"),
        updated_at: get_n(a, "updated_at"),
    })
}

fn job_attrs(j: &Job) -> Result<Attrs> {
    let mut a = Attrs::new();
    a.insert("pk".into(), s(job_pk(&j.job_id)));
    a.insert("sk".into(), s("#JOB"));
    a.insert("job_id".into(), s(&j.job_id));
    a.insert("job_status".into(), s(j.status.as_str()));
    if let Some(r) = &j.reason {
        a.insert("reason".into(), s(r));
    }
    a.insert("spec".into(), s(serde_json::to_string(&j.spec).map_err(Error::permanent)?));
    a.insert("template".into(), s(&j.template));
    a.insert("manifest_key".into(), s(&j.manifest_key));
    a.insert("manifest_etag".into(), s(&j.manifest_etag));
    for (k, v) in [
        ("items", j.items as i64),
        ("decided", j.decided as i64),
        ("labeled", j.labeled as i64),
        ("unresolved", j.unresolved as i64),
        ("answers", j.answers as i64),
        ("bought", j.assignments_bought as i64),
        ("reserved_cents", j.reserved.cents()),
        ("spent_cents", j.spent.cents()),
        ("created_at", j.created_at),
        ("updated_at", j.updated_at),
    ] {
        a.insert(k.into(), n(v));
    }
    if let Some(t) = &j.hit_type_id {
        a.insert("hit_type_id".into(), s(t));
    }
    // The budget reservations are checked against: the stored one, not the
    // copy a caller read (job.json may have raised or lowered it since).
    if let Some(b) = j.spec.budget_usd {
        a.insert("budget_cents".into(), n(b.cents()));
    }
    a.insert("completion_sent".into(), AttributeValue::Bool(j.completion_sent));
    a.insert("bucket".into(), s(&j.bucket));
    a.insert("columns".into(), s(serde_json::to_string(&j.columns).map_err(Error::permanent)?));
    if let Some(at) = j.outputs_at {
        a.insert("outputs_at".into(), n(at));
    }
    if let Some(t) = &j.training {
        a.insert("training".into(), s(serde_json::to_string(t).map_err(Error::permanent)?));
    }
    Ok(a)
}

fn item_from(a: &Attrs) -> Result<Item> {
    let values: BTreeMap<String, String> =
        serde_json::from_str(&get_s(a, "row").unwrap_or_else(|| "{}".into())).map_err(|e| corrupt("item", e))?;
    Ok(Item {
        job_id: get_s(a, "job_id").unwrap_or_default(),
        item_id: get_s(a, "item_id").unwrap_or_default(),
        line: get_n(a, "line") as u64,
        values,
        status: get_s(a, "item_status").unwrap_or_default().parse().map_err(|e| corrupt("item", e))?,
        hit_id: get_s(a, "hit_id"),
        bought: get_n(a, "bought") as u32,
        rounds: get_n(a, "rounds") as u32,
        label: get_s(a, "label"),
        agreed: get_n(a, "agreed") as u32,
        answers: get_n(a, "answers") as u32,
        updated_at: get_n(a, "updated_at"),
    })
}

fn item_attrs(i: &Item) -> Result<Attrs> {
    let mut a = Attrs::new();
    a.insert("pk".into(), s(job_pk(&i.job_id)));
    a.insert("sk".into(), s(item_sk(&i.item_id)));
    a.insert("job_id".into(), s(&i.job_id));
    a.insert("item_id".into(), s(&i.item_id));
    a.insert("line".into(), n(i.line));
    a.insert("row".into(), s(serde_json::to_string(&i.values).map_err(Error::permanent)?));
    a.insert("item_status".into(), s(i.status.as_str()));
    if let Some(h) = &i.hit_id {
        a.insert("hit_id".into(), s(h));
    }
    a.insert("bought".into(), n(i.bought));
    a.insert("rounds".into(), n(i.rounds));
    a.insert("answers".into(), n(i.answers));
    a.insert("agreed".into(), n(i.agreed));
    if let Some(l) = &i.label {
        a.insert("label".into(), s(l));
    }
    a.insert("updated_at".into(), n(i.updated_at));
    if !i.status.is_decided() {
        a.insert("open_shard".into(), s(format!("OPEN#{}", shard_of(&i.job_id, &i.item_id))));
        a.insert("open_sk".into(), s(format!("{}#{}", i.job_id, i.item_id)));
    }
    Ok(a)
}

fn answer_from(a: &Attrs) -> AnswerRecord {
    AnswerRecord {
        job_id: get_s(a, "job_id").unwrap_or_default(),
        item_id: get_s(a, "item_id").unwrap_or_default(),
        assignment_id: get_s(a, "assignment_id").unwrap_or_default(),
        worker_id: get_s(a, "worker_id").unwrap_or_default(),
        label: get_s(a, "label"),
        invalid_reason: get_s(a, "invalid_reason"),
        paid: get_bool(a, "paid"),
        submitted_at: get_n(a, "submitted_at"),
    }
}

fn key(pk: String, sk: impl Into<String>) -> Attrs {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// Did a transaction fail on its conditions (as opposed to a fault)? Returns
/// which of its parts failed.
fn cancelled(
    err: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>,
) -> Option<Vec<bool>> {
    let service = err.as_service_error()?;
    let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) =
        service
    else {
        return None;
    };
    let reasons = t.cancellation_reasons();
    if reasons.iter().any(|r| r.code() == Some("ConditionalCheckFailed")) {
        Some(reasons.iter().map(|r| r.code() == Some("ConditionalCheckFailed")).collect())
    } else {
        None
    }
}

fn is_condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// A conditional write: Ok(true) if it was applied, Ok(false) if its
/// condition failed.
fn applied<T, E>(
    r: std::result::Result<T, aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>>,
) -> Result<bool>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failed(&e) => Ok(false),
        Err(e) => Err(classify(e)),
    }
}

fn build<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(Error::permanent)
}

impl DynamoJobStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoJobStore { client, table: table.into() }
    }

    fn update(&self, k: Attrs, expr: &str) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder().table_name(&self.table).set_key(Some(k)).update_expression(expr)
    }

    /// An update of the job record, on condition that it is in one of `from`.
    fn job_in(
        &self,
        job_id: &str,
        from: &[JobStatus],
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.job_in_and(job_id, from, None)
    }

    /// The same, with a further condition `extra` must also hold.
    fn job_in_and(
        &self,
        job_id: &str,
        from: &[JobStatus],
        extra: Option<&str>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let names: Vec<String> = (0..from.len()).map(|i| format!(":f{i}")).collect();
        let status = format!("job_status IN ({})", names.join(", "));
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), "#JOB")))
            .condition_expression(match extra {
                Some(e) => format!("{status} AND {e}"),
                None => status,
            });
        for (name, st) in names.iter().zip(from) {
            req = req.expression_attribute_values(name, s(st.as_str()));
        }
        req
    }

    /// Runs a transaction. `Ok(None)`: it committed; `Ok(Some(failed))`: its
    /// conditions cancelled it, `failed[i]` telling whether part `i` failed.
    async fn transact(&self, parts: Vec<TransactWriteItem>) -> Result<Option<Vec<bool>>> {
        match self.client.transact_write_items().set_transact_items(Some(parts)).send().await {
            Ok(_) => Ok(None),
            Err(e) => match cancelled(&e) {
                Some(failed) => Ok(Some(failed)),
                None => Err(classify(e)),
            },
        }
    }

    /// One reservation against `budget`. `Err(stored)`: the job's budget is
    /// not `budget` (any more); try again with the stored one.
    async fn try_reserve(
        &self,
        job_id: &str,
        item_id: &str,
        budget: Option<Usd>,
        round: u32,
        assignments: u32,
        cost: Usd,
    ) -> Result<std::result::Result<Reservation, Option<Usd>>> {
        let item_update = self
            .update(key(job_pk(job_id), item_sk(item_id)), "SET rounds = :round, updated_at = :now ADD bought :n")
            .condition_expression("rounds < :round AND item_status IN (:pending, :published)")
            .expression_attribute_values(":round", n(round))
            .expression_attribute_values(":n", n(assignments))
            .expression_attribute_values(":now", n(now_ms()))
            .expression_attribute_values(":pending", s(ItemStatus::Pending.as_str()))
            .expression_attribute_values(":published", s(ItemStatus::Published.as_str()));
        let mut job_update = self
            .update(key(job_pk(job_id), "#JOB"), "ADD reserved_cents :cost, bought :n")
            .expression_attribute_values(":cost", n(cost.cents()))
            .expression_attribute_values(":n", n(assignments))
            .expression_attribute_values(":publishing", s(JobStatus::Publishing.as_str()))
            .expression_attribute_values(":labeling", s(JobStatus::Labeling.as_str()));
        job_update = match budget {
            Some(b) => job_update
                .condition_expression(
                    "job_status IN (:publishing, :labeling) AND budget_cents = :budget AND reserved_cents <= :limit",
                )
                .expression_attribute_values(":budget", n(b.cents()))
                .expression_attribute_values(":limit", n((b - cost).cents())),
            None => job_update
                .condition_expression("job_status IN (:publishing, :labeling) AND attribute_not_exists(budget_cents)"),
        };
        let parts = vec![
            TransactWriteItem::builder().update(build(item_update.build())?).build(),
            TransactWriteItem::builder().update(build(job_update.build())?).build(),
        ];
        match self.transact(parts).await? {
            None => Ok(Ok(Reservation::Reserved)),
            Some(failed) if failed.first() == Some(&true) => {
                // Reserved before (a retry or a racing call), or decided meanwhile.
                match self.item(job_id, item_id).await? {
                    Some(i) if i.rounds >= round && !i.status.is_decided() => Ok(Ok(Reservation::AlreadyReserved)),
                    _ => Ok(Ok(Reservation::ItemDone)),
                }
            }
            Some(_) => match self.job(job_id).await? {
                Some(j) if !j.status.is_active() => Ok(Ok(Reservation::JobInactive)),
                Some(j) if j.spec.budget_usd != budget => Ok(Err(j.spec.budget_usd)),
                Some(_) => Ok(Ok(Reservation::OverBudget)),
                None => Ok(Ok(Reservation::JobInactive)),
            },
        }
    }

    async fn query_all(&self, pk: String, prefix: &str) -> Result<Vec<Attrs>> {
        let mut out = Vec::new();
        let mut start: Option<Attrs> = None;
        loop {
            let resp = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":p", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            out.extend(resp.items().iter().cloned());
            start = resp.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
    }
}

#[async_trait]
impl JobStore for DynamoJobStore {
    async fn job(&self, job_id: &str) -> Result<Option<Job>> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), "#JOB")))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        resp.item().map(job_from).transpose()
    }

    async fn create_job(&self, job: &Job) -> Result<bool> {
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_attrs(job)?))
            .condition_expression("attribute_not_exists(pk) OR job_status = :failed")
            .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()))
            .send()
            .await;
        applied(r)
    }

    async fn put_failed_job(&self, job: &Job) -> Result<()> {
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_attrs(job)?))
            .condition_expression("attribute_not_exists(pk) OR job_status = :failed")
            .expression_attribute_values(":failed", s(JobStatus::Failed.as_str()))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failed(&e) => {
                Err(Error::Invalid(format!("job {} exists and is not failed", job.job_id)))
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn transition(&self, job_id: &str, from: &[JobStatus], to: JobStatus, reason: Option<&str>) -> Result<bool> {
        let mut req = self
            .job_in(job_id, from)
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
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), "#JOB")))
            .update_expression("SET hit_type_id = :t")
            .expression_attribute_values(":t", s(hit_type_id))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn put_new_items(&self, items: &[Item]) -> Result<usize> {
        let mut written = 0;
        for chunk in items.chunks(100) {
            let keys: Vec<Attrs> = chunk.iter().map(|i| key(job_pk(&i.job_id), item_sk(&i.item_id))).collect();
            let mut existing = HashSet::new();
            let mut request = Some(build(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .projection_expression("sk")
                    .consistent_read(true)
                    .build(),
            )?);
            while let Some(req) = request.take() {
                let resp =
                    self.client.batch_get_item().request_items(&self.table, req).send().await.map_err(classify)?;
                for found in resp.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                    if let Some(sk) = get_s(found, "sk") {
                        existing.insert(sk);
                    }
                }
                request =
                    resp.unprocessed_keys().and_then(|u| u.get(&self.table)).cloned().filter(|k| !k.keys().is_empty());
            }
            let fresh: Vec<&Item> = chunk.iter().filter(|i| !existing.contains(&item_sk(&i.item_id))).collect();
            for batch in fresh.chunks(25) {
                let mut writes = Vec::with_capacity(batch.len());
                for i in batch {
                    writes.push(
                        WriteRequest::builder()
                            .put_request(build(PutRequest::builder().set_item(Some(item_attrs(i)?)).build())?)
                            .build(),
                    );
                }
                let mut pending = Some(writes);
                let mut attempt = 0u32;
                while let Some(w) = pending.take() {
                    let resp =
                        self.client.batch_write_item().request_items(&self.table, w).send().await.map_err(classify)?;
                    let left = resp.unprocessed_items().and_then(|u| u.get(&self.table)).cloned().unwrap_or_default();
                    if !left.is_empty() {
                        attempt += 1;
                        if attempt > 8 {
                            return Err(Error::Retryable("DynamoDB kept items unprocessed".into()));
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(50 << attempt.min(5))).await;
                        pending = Some(left);
                    }
                }
                written += batch.len();
            }
        }
        Ok(written)
    }

    async fn item(&self, job_id: &str, item_id: &str) -> Result<Option<Item>> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), item_sk(item_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        resp.item().map(item_from).transpose()
    }

    async fn items(&self, job_id: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>> {
        let start = after.map(|a| key(job_pk(job_id), item_sk(a)));
        let resp = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(job_pk(job_id)))
            .expression_attribute_values(":p", s("ITEM#"))
            .set_exclusive_start_key(start)
            .limit(limit as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        resp.items().iter().map(item_from).collect()
    }

    async fn reserve(&self, job: &Job, item: &Item, round: u32, assignments: u32, cost: Usd) -> Result<Reservation> {
        // The caller's copy of the budget is a guess: if job.json changed it
        // meanwhile, the condition fails and the stored one is used instead.
        let mut budget = job.spec.budget_usd;
        for _ in 0..3 {
            match self.try_reserve(&job.job_id, &item.item_id, budget, round, assignments, cost).await? {
                Ok(r) => return Ok(r),
                Err(stored) => budget = stored,
            }
        }
        Err(Error::Retryable(format!("the budget of job {} keeps changing", job.job_id)))
    }

    async fn amend_budget(&self, job_id: &str, old: Option<Usd>, spec: &JobSpec) -> Result<bool> {
        let live = [JobStatus::Publishing, JobStatus::Labeling, JobStatus::Paused];
        let mut req = match old {
            Some(b) => self
                .job_in_and(job_id, &live, Some("budget_cents = :old"))
                .expression_attribute_values(":old", n(b.cents())),
            None => self.job_in_and(job_id, &live, Some("attribute_not_exists(budget_cents)")),
        }
        .expression_attribute_values(":spec", s(serde_json::to_string(spec).map_err(Error::permanent)?))
        .expression_attribute_values(":now", n(now_ms()));
        req = match spec.budget_usd {
            Some(b) => req
                .update_expression("SET spec = :spec, budget_cents = :b, updated_at = :now")
                .expression_attribute_values(":b", n(b.cents())),
            None => req.update_expression("SET spec = :spec, updated_at = :now REMOVE budget_cents"),
        };
        applied(req.send().await)
    }

    async fn mark_published(&self, job_id: &str, item_id: &str, hit_id: &str) -> Result<()> {
        let item_update = self
            .update(
                key(job_pk(job_id), item_sk(item_id)),
                "SET item_status = :published, hit_id = :hit, updated_at = :now",
            )
            .condition_expression("item_status = :pending")
            .expression_attribute_values(":published", s(ItemStatus::Published.as_str()))
            .expression_attribute_values(":pending", s(ItemStatus::Pending.as_str()))
            .expression_attribute_values(":hit", s(hit_id))
            .expression_attribute_values(":now", n(now_ms()));
        let mut map = key(format!("HIT#{hit_id}"), "#HIT");
        map.insert("job_id".into(), s(job_id));
        map.insert("item_id".into(), s(item_id));
        let parts = vec![
            TransactWriteItem::builder().update(build(item_update.build())?).build(),
            TransactWriteItem::builder()
                .put(build(Put::builder().table_name(&self.table).set_item(Some(map)).build())?)
                .build(),
        ];
        match self.transact(parts).await? {
            None => Ok(()),
            Some(_) => Ok(()), // published before: nothing to do
        }
    }

    async fn hit_owner(&self, hit_id: &str) -> Result<Option<HitOwner>> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("HIT#{hit_id}"), "#HIT")))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(resp.item().map(|a| HitOwner {
            job_id: get_s(a, "job_id").unwrap_or_default(),
            item_id: get_s(a, "item_id").unwrap_or_default(),
        }))
    }

    async fn record_answer(&self, answer: &AnswerRecord) -> Result<bool> {
        let mut a = key(job_pk(&answer.job_id), format!("{}{}", answer_prefix(&answer.item_id), answer.assignment_id));
        a.insert("job_id".into(), s(&answer.job_id));
        a.insert("item_id".into(), s(&answer.item_id));
        a.insert("assignment_id".into(), s(&answer.assignment_id));
        a.insert("worker_id".into(), s(&answer.worker_id));
        if let Some(l) = &answer.label {
            a.insert("label".into(), s(l));
        }
        if let Some(r) = &answer.invalid_reason {
            a.insert("invalid_reason".into(), s(r));
        }
        a.insert("paid".into(), AttributeValue::Bool(false));
        a.insert("submitted_at".into(), n(answer.submitted_at));
        let put =
            Put::builder().table_name(&self.table).set_item(Some(a)).condition_expression("attribute_not_exists(pk)");
        let job_update = self
            .update(key(job_pk(&answer.job_id), "#JOB"), "ADD answers :one")
            .expression_attribute_values(":one", n(1));
        let item_update = self
            .update(key(job_pk(&answer.job_id), item_sk(&answer.item_id)), "ADD answers :one")
            .expression_attribute_values(":one", n(1));
        let parts = vec![
            TransactWriteItem::builder().put(build(put.build())?).build(),
            TransactWriteItem::builder().update(build(job_update.build())?).build(),
            TransactWriteItem::builder().update(build(item_update.build())?).build(),
        ];
        match self.transact(parts).await? {
            None => Ok(true),
            Some(_) => Ok(false),
        }
    }

    async fn answers(&self, job_id: &str, item_id: &str) -> Result<Vec<AnswerRecord>> {
        let mut all: Vec<AnswerRecord> =
            self.query_all(job_pk(job_id), &answer_prefix(item_id)).await?.iter().map(answer_from).collect();
        all.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.assignment_id.cmp(&b.assignment_id)));
        Ok(all)
    }

    async fn mark_paid(&self, answer: &AnswerRecord, cost: Usd) -> Result<bool> {
        let answer_update = self
            .update(
                key(job_pk(&answer.job_id), format!("{}{}", answer_prefix(&answer.item_id), answer.assignment_id)),
                "SET paid = :yes",
            )
            .condition_expression("attribute_exists(pk) AND paid = :no")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false));
        let job_update = self
            .update(key(job_pk(&answer.job_id), "#JOB"), "ADD spent_cents :c")
            .expression_attribute_values(":c", n(cost.cents()));
        let parts = vec![
            TransactWriteItem::builder().update(build(answer_update.build())?).build(),
            TransactWriteItem::builder().update(build(job_update.build())?).build(),
        ];
        match self.transact(parts).await? {
            None => Ok(true),
            Some(_) => Ok(false),
        }
    }

    async fn decide(
        &self,
        job_id: &str,
        item_id: &str,
        label: Option<&str>,
        agreed: u32,
        release: Usd,
    ) -> Result<bool> {
        let status = if label.is_some() { ItemStatus::Labeled } else { ItemStatus::Unresolved };
        let mut item_update = self
            .update(
                key(job_pk(job_id), item_sk(item_id)),
                if label.is_some() {
                    "SET item_status = :s, agreed = :agreed, label = :label, released_cents = :r, updated_at = :now REMOVE open_shard, open_sk"
                } else {
                    "SET item_status = :s, agreed = :agreed, released_cents = :r, updated_at = :now REMOVE open_shard, open_sk"
                },
            )
            .condition_expression("item_status = :published")
            .expression_attribute_values(":s", s(status.as_str()))
            .expression_attribute_values(":published", s(ItemStatus::Published.as_str()))
            .expression_attribute_values(":agreed", n(agreed))
            .expression_attribute_values(":r", n(release.cents()))
            .expression_attribute_values(":now", n(now_ms()));
        if let Some(l) = label {
            item_update = item_update.expression_attribute_values(":label", s(l));
        }
        let counter = if label.is_some() { "labeled" } else { "unresolved" };
        let job_update = self
            .update(
                key(job_pk(job_id), "#JOB"),
                &format!("ADD decided :one, {counter} :one, reserved_cents :unreserve SET updated_at = :now"),
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":unreserve", n(-release.cents()))
            .expression_attribute_values(":now", n(now_ms()));
        let parts = vec![
            TransactWriteItem::builder().update(build(item_update.build())?).build(),
            TransactWriteItem::builder().update(build(job_update.build())?).build(),
        ];
        match self.transact(parts).await? {
            None => Ok(true),
            Some(_) => Ok(false),
        }
    }

    async fn complete_if_done(&self, job_id: &str) -> Result<bool> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), "#JOB")))
            .update_expression("SET job_status = :complete, updated_at = :now REMOVE reason")
            .condition_expression("job_status = :labeling AND decided = #items")
            .expression_attribute_names("#items", "items")
            .expression_attribute_values(":complete", s(JobStatus::Complete.as_str()))
            .expression_attribute_values(":labeling", s(JobStatus::Labeling.as_str()))
            .expression_attribute_values(":now", n(now_ms()))
            .send()
            .await;
        applied(r)
    }

    async fn set_completion_sent(&self, job_id: &str) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), "#JOB")))
            .update_expression("SET completion_sent = :yes")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn record_outputs(&self, job_id: &str, at: i64) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), "#JOB")))
            .update_expression("SET outputs_at = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", n(at))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn claim_training(&self, job_id: &str, now: i64, until: i64) -> Result<bool> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), "#JOB")))
            .update_expression("SET training_lease = :until")
            .condition_expression(
                "job_status = :complete AND (attribute_not_exists(training_lease) OR training_lease < :now)",
            )
            .expression_attribute_values(":complete", s(JobStatus::Complete.as_str()))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        applied(r)
    }

    async fn release_training(&self, job_id: &str) -> Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job_pk(job_id), "#JOB")))
            .update_expression("REMOVE training_lease")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn record_training(
        &self,
        job_id: &str,
        from: &[JobStatus],
        to: JobStatus,
        training: &TrainingRecord,
        reason: Option<&str>,
    ) -> Result<bool> {
        let mut req = self
            .job_in(job_id, from)
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":t", s(serde_json::to_string(training).map_err(Error::permanent)?))
            .expression_attribute_values(":now", n(now_ms()));
        req = match reason {
            Some(r) => req
                .update_expression(
                    "SET job_status = :to, training = :t, reason = :r, updated_at = :now REMOVE training_lease",
                )
                .expression_attribute_values(":r", s(r)),
            None => req.update_expression(
                "SET job_status = :to, training = :t, updated_at = :now REMOVE training_lease, reason",
            ),
        };
        applied(req.send().await)
    }

    async fn open_items(&self, shard: u32, after: Option<String>, limit: usize) -> Result<(Vec<Item>, Option<String>)> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_ITEMS)
            .limit(limit as i32)
            .expression_attribute_values(":shard", s(format!("OPEN#{shard}")));
        q = match &after {
            Some(a) => q
                .key_condition_expression("open_shard = :shard AND open_sk > :after")
                .expression_attribute_values(":after", s(a)),
            None => q.key_condition_expression("open_shard = :shard"),
        };
        let resp = q.send().await.map_err(classify)?;
        let items: Vec<Item> = resp.items().iter().map(item_from).collect::<Result<_>>()?;
        let next = if resp.last_evaluated_key().is_some() {
            items.last().map(|i| format!("{}#{}", i.job_id, i.item_id))
        } else {
            None
        };
        Ok((items, next))
    }

    async fn jobs_with_status(&self, status: JobStatus) -> Result<Vec<Job>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let resp = self
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
            for a in resp.items() {
                out.push(job_from(a)?);
            }
            start = resp.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    async fn event_seen(&self, event_doc_id: &str) -> Result<bool> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("EVT#{event_doc_id}"), "#EVT")))
            .send()
            .await
            .map_err(classify)?;
        Ok(resp.item().is_some())
    }

    async fn mark_event(&self, event_doc_id: &str) -> Result<()> {
        let mut a = key(format!("EVT#{event_doc_id}"), "#EVT");
        a.insert("expires_at".into(), n(now_ms() / 1000 + EVENT_TTL_S));
        self.client.put_item().table_name(&self.table).set_item(Some(a)).send().await.map_err(classify)?;
        Ok(())
    }
}
