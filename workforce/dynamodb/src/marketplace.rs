//! The writes of the marketplace that must stay right when requests race,
//! each one DynamoDB transaction whose conditions decide it (no lock, no
//! process holding state): a UniqueRequestToken used once, never more
//! assignments than MaxAssignments, one assignment per worker per HIT, submit
//! only by the holder before the deadline, approve once and charge in the same
//! transaction, the balance never below zero.
//!
//! These are the store's primitives; the engine moving onto them (the async,
//! fallible `Store`) is the next step (workforce/README.md, The durable store).
//! DynamoDB conditions cannot add, so a HIT keeps `used_slots` (pending +
//! submitted + approved + rejected) beside `max_assignments`, and the account
//! keeps `available_cents` beside `spent_cents`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::table::{PK, SK};

pub const ACCOUNT: &str = "ACCOUNT";
/// A UniqueRequestToken is remembered this long (MTurk's 24 hours).
pub const TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;
/// Attempts of a transaction that lost a race to another (TransactionConflict).
const CONFLICT_ATTEMPTS: usize = 8;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Why the marketplace said no: the request's fault or the state's, never retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The token was used in the last 24 hours (by the HIT named).
    TokenUsed {
        hit_id: String,
    },
    /// A record with this id exists already.
    Exists,
    NoSuchHit,
    NoSuchAssignment,
    /// Every slot is taken, or the HIT has expired.
    NotAssignable,
    /// The worker already holds (or held) an assignment of this HIT.
    AlreadyWorkedOn,
    /// Not this worker's, not accepted, or past its deadline.
    CannotSubmit,
    /// Not submitted (already approved or rejected, or never submitted).
    NotSubmitted,
    /// Not accepted any more, not this worker's, or (abandoning) not past its deadline.
    NotReleasable,
    /// The record changed since the caller read it: read again, decide again.
    Stale,
    /// A pagination token this store did not hand out.
    BadToken,
    InsufficientFunds,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB failed or kept conflicting: the caller may retry.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A record does not decode: a bug or a hand edit, never retried.
    #[error("a stored record is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A DynamoDB call that failed, with the SDK's whole error chain.
    pub(crate) fn unavailable(e: impl std::error::Error + 'static) -> Self {
        StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
    }
}

pub type Outcome = Result<Result<(), Refusal>, StoreError>;

/// How an accepted assignment gives its slot back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release<'a> {
    /// The worker gave it back.
    Returned { worker_id: &'a str },
    /// Its deadline passed with no submission (done by the scheduled function).
    Abandoned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitSlots {
    pub max_assignments: i64,
    pub used_slots: i64,
    pub pending: i64,
    pub submitted: i64,
    pub approved: i64,
    pub rejected: i64,
    pub expiration_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentRow {
    pub hit_id: String,
    pub worker_id: String,
    pub status: String,
    pub accept_ms: i64,
    pub deadline_ms: i64,
    #[serde(default)]
    pub answer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    pub available_cents: i64,
    pub spent_cents: i64,
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_string(), AttributeValue::S(pk)), (SK.to_string(), AttributeValue::S(sk.to_string()))])
}

pub(crate) fn hit_key(id: &str) -> Item {
    key(format!("HIT#{id}"), "HIT")
}

fn assignment_key(id: &str) -> Item {
    key(format!("ASSIGNMENT#{id}"), "ASSIGNMENT")
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn with_key<T: Serialize>(key: Item, row: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.extend(key);
    Ok(item)
}

pub(crate) fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Corrupt(format!("a request did not build: {e}")))
}

/// What became of a transaction.
enum Txn {
    Committed,
    /// Its conditions cancelled it: which parts failed.
    Refused(Vec<bool>),
}

pub struct DynamoMarketplace {
    pub(crate) ddb: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
}

impl DynamoMarketplace {
    pub fn new(ddb: aws_sdk_dynamodb::Client, table: &str) -> Self {
        DynamoMarketplace { ddb, table: table.to_string() }
    }

    async fn transact(&self, parts: Vec<TransactWriteItem>) -> Result<Txn, StoreError> {
        for attempt in 0..CONFLICT_ATTEMPTS {
            let result = self.ddb.transact_write_items().set_transact_items(Some(parts.clone())).send().await;
            match result {
                Ok(_) => return Ok(Txn::Committed),
                Err(SdkError::ServiceError(e)) => {
                    if let TransactWriteItemsError::TransactionCanceledException(t) = e.err() {
                        let codes: Vec<&str> =
                            t.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
                        if codes.contains(&"ConditionalCheckFailed") {
                            return Ok(Txn::Refused(codes.iter().map(|c| *c == "ConditionalCheckFailed").collect()));
                        }
                        if codes.contains(&"TransactionConflict") && attempt + 1 < CONFLICT_ATTEMPTS {
                            // Lost a race with another transaction on the same records: again,
                            // after a pause that grows and differs between racers.
                            let jitter = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| u64::from(d.subsec_nanos()) % 5);
                            let pause = (5u64 << attempt.min(5)) + jitter;
                            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                            continue;
                        }
                    }
                    return Err(StoreError::Unavailable(format!("{:?}", e.err())));
                }
                Err(e) => return Err(StoreError::unavailable(e)),
            }
        }
        Err(StoreError::Unavailable("the transaction kept conflicting".into()))
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Creates a HIT with `max_assignments` slots, holding `liability_cents`
    /// of the balance for it; with a UniqueRequestToken, the token's use is
    /// written in the same transaction, so two racing requests create one HIT.
    pub async fn create_hit(
        &self,
        hit_id: &str,
        slots: &HitSlots,
        liability_cents: i64,
        token: Option<&str>,
        now_ms: i64,
    ) -> Outcome {
        let mut item = with_key(hit_key(hit_id), slots)?;
        let listing = crate::listings::Listing::new(hit_id, now_ms, 0);
        item.extend(listing.attributes("Assignable"));
        let mut parts = vec![self.put_new(item)?];
        parts.push(self.debit(liability_cents, Some(&listing.month))?);
        if let Some(token) = token {
            parts.push(self.token_use("CreateHIT", token, hit_id, now_ms)?);
        }
        match self.transact(parts).await? {
            Txn::Committed => Ok(Ok(())),
            Txn::Refused(failed) => {
                if failed.get(2) == Some(&true) {
                    let hit = self.token_hit(token.unwrap_or_default()).await?;
                    return Ok(Err(Refusal::TokenUsed { hit_id: hit }));
                }
                if failed.get(1) == Some(&true) {
                    return Ok(Err(Refusal::InsufficientFunds));
                }
                Ok(Err(Refusal::Exists))
            }
        }
    }

    /// A UniqueRequestToken's use, new or older than 24 hours.
    fn token_use(
        &self,
        operation: &str,
        token: &str,
        hit_id: &str,
        now_ms: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key(format!("TOKEN#{operation}#{token}"), "TOKEN");
        item.insert("hit_id".into(), s(hit_id));
        item.insert("used_ms".into(), n(now_ms));
        // DynamoDB's TTL deletes it some time after this (epoch seconds).
        item.insert("expires_at".into(), n((now_ms + TOKEN_TTL_MS) / 1000));
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR used_ms < :day_ago")
                .expression_attribute_values(":day_ago", n(now_ms - TOKEN_TTL_MS))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn token_hit(&self, token: &str) -> Result<String, StoreError> {
        let item = self.get(key(format!("TOKEN#CreateHIT#{token}"), "TOKEN")).await?;
        Ok(item.and_then(|i| i.get("hit_id").and_then(|v| v.as_s().ok()).cloned()).unwrap_or_default())
    }

    /// Holds `cents` of the available balance, never below zero. A new HIT
    /// also names its month: the account keeps the first (where ListHITs
    /// starts), at no extra write since the hold writes the account anyway.
    fn debit(&self, cents: i64, hit_month: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(ACCOUNT.into(), ACCOUNT)))
            .update_expression("SET available_cents = available_cents - :c")
            .condition_expression("available_cents >= :c")
            .expression_attribute_values(":c", n(cents));
        if let Some(month) = hit_month {
            update = update
                .update_expression(
                    "SET available_cents = available_cents - :c, first_month = if_not_exists(first_month, :m)",
                )
                .expression_attribute_values(":m", s(month));
        }
        Ok(TransactWriteItem::builder().update(built(update.build())?).build())
    }

    /// A worker takes one slot of a HIT: refused when none is left, when the
    /// HIT has expired, or when the worker already has one of it.
    pub async fn accept(
        &self,
        hit_id: &str,
        worker_id: &str,
        assignment_id: &str,
        deadline_ms: i64,
        now_ms: i64,
    ) -> Outcome {
        let slot = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(hit_key(hit_id)))
                .update_expression("SET used_slots = used_slots + :one, pending = pending + :one")
                .condition_expression("used_slots < max_assignments AND expiration_ms > :now")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now_ms))
                .build(),
        )?;
        let mut marker = key(format!("HIT#{hit_id}"), &format!("WORKER#{worker_id}"));
        marker.insert("assignment_id".into(), s(assignment_id));
        let row = AssignmentRow {
            hit_id: hit_id.into(),
            worker_id: worker_id.into(),
            status: "Accepted".into(),
            accept_ms: now_ms,
            deadline_ms,
            answer: None,
        };
        let parts = vec![
            TransactWriteItem::builder().update(slot).build(),
            self.put_new(marker)?,
            self.put_new(with_key(assignment_key(assignment_id), &row)?)?,
        ];
        match self.transact(parts).await? {
            Txn::Committed => Ok(Ok(())),
            Txn::Refused(failed) if failed.get(1) == Some(&true) => Ok(Err(Refusal::AlreadyWorkedOn)),
            Txn::Refused(failed) if failed.first() == Some(&true) => {
                Ok(Err(if self.hit(hit_id).await?.is_some() { Refusal::NotAssignable } else { Refusal::NoSuchHit }))
            }
            Txn::Refused(_) => Ok(Err(Refusal::Exists)),
        }
    }

    /// The holder submits before the deadline.
    pub async fn submit(
        &self,
        hit_id: &str,
        assignment_id: &str,
        worker_id: &str,
        answer: &str,
        now_ms: i64,
    ) -> Outcome {
        let assignment = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(assignment_key(assignment_id)))
                .update_expression("SET #status = :submitted, answer = :answer, submit_ms = :now")
                .condition_expression(
                    "#status = :accepted AND worker_id = :worker AND deadline_ms > :now AND hit_id = :hit",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":submitted", s("Submitted"))
                .expression_attribute_values(":accepted", s("Accepted"))
                .expression_attribute_values(":answer", s(answer))
                .expression_attribute_values(":worker", s(worker_id))
                .expression_attribute_values(":hit", s(hit_id))
                .expression_attribute_values(":now", n(now_ms))
                .build(),
        )?;
        let counts = self.move_count(hit_id, "pending", "submitted")?;
        match self.transact(vec![TransactWriteItem::builder().update(assignment).build(), counts]).await? {
            Txn::Committed => Ok(Ok(())),
            Txn::Refused(_) => Ok(Err(Refusal::CannotSubmit)),
        }
    }

    /// An assignment of `hit_id` moves from status `from` to `to`, stamped
    /// with the time in `stamp`; only from `from`.
    fn transition(
        &self,
        assignment_id: &str,
        hit_id: &str,
        from: &str,
        to: &str,
        stamp: &str,
        now_ms: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(assignment_key(assignment_id)))
                .update_expression(format!("SET #status = :to, {stamp} = :now"))
                .condition_expression("#status = :from AND hit_id = :hit")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":to", s(to))
                .expression_attribute_values(":from", s(from))
                .expression_attribute_values(":hit", s(hit_id))
                .expression_attribute_values(":now", n(now_ms))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// An update of the account with `:c` cents (it must exist).
    fn to_account(&self, expression: &str, cents: i64) -> Result<TransactWriteItem, StoreError> {
        let update = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(ACCOUNT.into(), ACCOUNT)))
                .update_expression(expression)
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":c", n(cents))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn move_count(&self, hit_id: &str, from: &str, to: &str) -> Result<TransactWriteItem, StoreError> {
        let update = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(hit_key(hit_id)))
                .update_expression(format!("SET {from} = {from} - :one, {to} = {to} + :one"))
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":one", n(1))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Approves a submitted assignment and pays for it (`cost_cents`, held
    /// when the HIT was created) in one transaction: a second approval finds
    /// it no longer submitted, and nothing is charged twice.
    pub async fn approve(&self, hit_id: &str, assignment_id: &str, cost_cents: i64, now_ms: i64) -> Outcome {
        let assignment = self.transition(assignment_id, hit_id, "Submitted", "Approved", "approval_ms", now_ms)?;
        // The cost was held (taken from available) at creation: paying it
        // moves it to spent without touching available again.
        let pay = self.to_account("SET spent_cents = spent_cents + :c", cost_cents)?;
        let parts = vec![assignment, self.move_count(hit_id, "submitted", "approved")?, pay];
        match self.transact(parts).await? {
            Txn::Committed => Ok(Ok(())),
            Txn::Refused(failed) if failed.first() == Some(&true) => {
                Ok(Err(if self.get(assignment_key(assignment_id)).await?.is_some() {
                    Refusal::NotSubmitted
                } else {
                    Refusal::NoSuchAssignment
                }))
            }
            Txn::Refused(_) => Ok(Err(Refusal::NoSuchHit)),
        }
    }

    /// Adds assignments to a HIT (CreateAdditionalAssignmentsForHIT), holding
    /// their cost, conditioned on the `max_assignments` the caller decided from
    /// (a racing change makes it `Stale`: read again, decide again); with a
    /// UniqueRequestToken, used once in the same transaction.
    pub async fn add_assignments(
        &self,
        hit_id: &str,
        read_max: i64,
        add: i64,
        hold_cents: i64,
        token: Option<&str>,
        now_ms: i64,
    ) -> Outcome {
        let grow = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(hit_key(hit_id)))
                .update_expression("SET max_assignments = max_assignments + :add")
                .condition_expression("max_assignments = :read")
                .expression_attribute_values(":add", n(add))
                .expression_attribute_values(":read", n(read_max))
                .build(),
        )?;
        let mut parts = vec![TransactWriteItem::builder().update(grow).build(), self.debit(hold_cents, None)?];
        if let Some(token) = token {
            parts.push(self.token_use("CreateAdditionalAssignmentsForHIT", token, hit_id, now_ms)?);
        }
        match self.transact(parts).await? {
            Txn::Committed => Ok(Ok(())),
            Txn::Refused(failed) if failed.get(2) == Some(&true) => {
                Ok(Err(Refusal::TokenUsed { hit_id: hit_id.to_string() }))
            }
            Txn::Refused(failed) if failed.get(1) == Some(&true) => Ok(Err(Refusal::InsufficientFunds)),
            Txn::Refused(_) => Ok(Err(Refusal::Stale)),
        }
    }

    /// Moves a HIT's expiry (UpdateExpirationForHIT), holding what reopened
    /// slots may cost, conditioned on the expiry the caller decided from.
    pub async fn set_expiration(&self, hit_id: &str, read_ms: i64, new_ms: i64, hold_cents: i64) -> Outcome {
        let expiry = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(hit_key(hit_id)))
                .update_expression("SET expiration_ms = :new")
                .condition_expression("expiration_ms = :read")
                .expression_attribute_values(":new", n(new_ms))
                .expression_attribute_values(":read", n(read_ms))
                .build(),
        )?;
        let parts = vec![TransactWriteItem::builder().update(expiry).build(), self.debit(hold_cents, None)?];
        match self.transact(parts).await? {
            Txn::Committed => Ok(Ok(())),
            Txn::Refused(failed) if failed.get(1) == Some(&true) => Ok(Err(Refusal::InsufficientFunds)),
            Txn::Refused(_) => Ok(Err(Refusal::Stale)),
        }
    }

    /// Gives an accepted assignment's slot back: the worker returned it
    /// (`Release::Returned`, only the holder) or let its deadline pass
    /// (`Release::Abandoned`, only once it has). Racing releases of one
    /// assignment give back one slot.
    pub async fn release(&self, hit_id: &str, assignment_id: &str, how: Release<'_>, now_ms: i64) -> Outcome {
        let (status, extra, worker) = match how {
            Release::Returned { worker_id } => ("Returned", "worker_id = :worker", Some(worker_id)),
            Release::Abandoned => ("Abandoned", "deadline_ms <= :now", None),
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(assignment_key(assignment_id)))
            .update_expression("SET #status = :to, released_ms = :now")
            .condition_expression(format!("#status = :accepted AND hit_id = :hit AND {extra}"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(status))
            .expression_attribute_values(":accepted", s("Accepted"))
            .expression_attribute_values(":hit", s(hit_id))
            .expression_attribute_values(":now", n(now_ms));
        if let Some(w) = worker {
            update = update.expression_attribute_values(":worker", s(w));
        }
        let slot = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(hit_key(hit_id)))
                .update_expression("SET used_slots = used_slots - :one, pending = pending - :one")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":one", n(1))
                .build(),
        )?;
        let parts = vec![
            TransactWriteItem::builder().update(built(update.build())?).build(),
            TransactWriteItem::builder().update(slot).build(),
        ];
        match self.transact(parts).await? {
            Txn::Committed => Ok(Ok(())),
            Txn::Refused(_) => Ok(Err(Refusal::NotReleasable)),
        }
    }

    /// Rejects a submitted assignment: nothing is paid, and the cost held
    /// for it goes back to the available balance, once.
    pub async fn reject(&self, hit_id: &str, assignment_id: &str, held_cents: i64, now_ms: i64) -> Outcome {
        let assignment = self.transition(assignment_id, hit_id, "Submitted", "Rejected", "rejection_ms", now_ms)?;
        let refund = self.to_account("SET available_cents = available_cents + :c", held_cents)?;
        let parts = vec![assignment, self.move_count(hit_id, "submitted", "rejected")?, refund];
        match self.transact(parts).await? {
            Txn::Committed => Ok(Ok(())),
            Txn::Refused(_) => Ok(Err(Refusal::NotSubmitted)),
        }
    }

    /// Money paid into the account.
    pub async fn deposit(&self, cents: i64) -> Result<(), StoreError> {
        self.ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(ACCOUNT.into(), ACCOUNT)))
            .update_expression("SET available_cents = if_not_exists(available_cents, :zero) + :c, spent_cents = if_not_exists(spent_cents, :zero)")
            .expression_attribute_values(":c", n(cents))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    pub(crate) async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(out.item)
    }

    fn decode<T: serde::de::DeserializeOwned>(what: &str, item: Item) -> Result<T, StoreError> {
        serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
    }

    pub async fn hit(&self, hit_id: &str) -> Result<Option<HitSlots>, StoreError> {
        self.get(hit_key(hit_id)).await?.map(|i| Self::decode(&format!("HIT {hit_id}"), i)).transpose()
    }

    pub async fn assignment(&self, id: &str) -> Result<Option<AssignmentRow>, StoreError> {
        self.get(assignment_key(id)).await?.map(|i| Self::decode(&format!("assignment {id}"), i)).transpose()
    }

    pub async fn account(&self) -> Result<AccountRow, StoreError> {
        match self.get(key(ACCOUNT.into(), ACCOUNT)).await? {
            Some(i) => Self::decode("the account", i),
            None => Ok(AccountRow { available_cents: 0, spent_cents: 0 }),
        }
    }
}
