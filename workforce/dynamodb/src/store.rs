//! The engine's store on DynamoDB: every record of the marketplace in one
//! table, and a commit as one TransactWriteItems whose conditions are the
//! ones the engine decided under (a record's version, a marker that must not
//! exist, a balance that must not go below zero). A commit whose condition
//! fails is a `Conflict`: the engine reads again and decides again.
//!
//! Records keep the engine's own structs as a JSON document (`doc`) beside the
//! attributes conditions and indexes need: `version` on every versioned
//! record, the listing attributes on HITs, the balances on the account.
//! Keys and indexes: workforce/README.md, "The durable store".

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, Put, Select, TransactWriteItem, Update};
use hitloop_core::money::Usd;
use hitloop_workforce::model::*;
use hitloop_workforce::store::{
    due_of_assignment, due_of_hit, AccountDelta, Changes, CommitError, Due, DueKey, Listed, Store, StoreError,
    StoreResult, TokenUse, Versioned, Write, MESSAGE_KEPT_MS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::listings::{hit_of, month_of, next_month, Listing};
use crate::table::{CREATED_SK, HITS_BY_MONTH, HITS_BY_STATUS, MONTH_PK, PK, SK, STATUS_PK};

pub(crate) type Item = HashMap<String, AttributeValue>;

const ACCOUNT: &str = "ACCOUNT";
/// Every due entry is one item of this partition, sorted by moment: the
/// scheduled function reads it from the start. One partition takes about a
/// thousand writes a second, some 250 assignments a second; shard the key
/// (and merge the shards' heads) before a workforce needs more.
const DUE_PK: &str = "DUE";
const BLOCKS_PK: &str = "BLOCKS";
/// Every worker who has accepted a HIT, by worker id (the team lead's
/// `hitloop workforce workers`).
const WORKERS_PK: &str = "WORKERS";
/// Notifications decided and not yet handed over, sorted by moment.
const OUTBOX_PK: &str = "OUTBOX";
/// Attempts of a commit that lost to another transaction on the same items
/// (TransactionConflict) before the engine is asked to decide again.
const CONFLICT_ATTEMPTS: u32 = 4;
/// Keys one BatchGetItem may ask for.
const BATCH_GET_MAX: usize = 100;

pub struct DynamoStore {
    ddb: aws_sdk_dynamodb::Client,
    table: String,
    calls: CallCounters,
}

/// DynamoDB requests a store has made, by kind (what the bench reports per
/// API operation: requests are what a deployment pays for).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Calls {
    pub get_item: u64,
    pub query: u64,
    pub batch_get_item: u64,
    pub transact_write_items: u64,
    /// The dispatcher removing an outbox record once it is handed over.
    pub delete_item: u64,
}

impl Calls {
    pub fn total(&self) -> u64 {
        self.get_item + self.query + self.batch_get_item + self.transact_write_items + self.delete_item
    }

    /// What was made between `earlier` and this count.
    pub fn since(&self, earlier: &Calls) -> Calls {
        Calls {
            get_item: self.get_item - earlier.get_item,
            query: self.query - earlier.query,
            batch_get_item: self.batch_get_item - earlier.batch_get_item,
            transact_write_items: self.transact_write_items - earlier.transact_write_items,
            delete_item: self.delete_item - earlier.delete_item,
        }
    }
}

#[derive(Default)]
struct CallCounters {
    get_item: AtomicU64,
    query: AtomicU64,
    batch_get_item: AtomicU64,
    transact_write_items: AtomicU64,
    delete_item: AtomicU64,
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_string(), AttributeValue::S(pk.into())), (SK.to_string(), AttributeValue::S(sk.into()))])
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn hit_key(id: &str) -> Item {
    key(format!("HIT#{id}"), "HIT")
}

fn outbox_key(at_ms: i64, id: &str) -> Item {
    key(OUTBOX_PK, format!("{at_ms:013}#{id}"))
}

fn assignment_key(id: &str) -> Item {
    key(format!("ASSIGNMENT#{id}"), "ASSIGNMENT")
}

/// A HIT's assignments, copied under the HIT in acceptance order: the
/// HIT's assignments are one Query.
fn assignment_of_hit_key(a: &Assignment) -> Item {
    key(format!("HIT#{}", a.hit_id), format!("A#{:012}#{}", a.order_in_hit, a.id))
}

fn hit_type_key(id: &str) -> Item {
    key(format!("HITTYPE#{id}"), "HITTYPE")
}

/// The attributes that make a HIT type, hashed: a key stays short whatever
/// the title and description.
fn hit_type_identity(k: &HitTypeKey) -> StoreResult<Item> {
    let json = serde_json::to_vec(k).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let digest = Sha256::digest(&json);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(key(format!("HITTYPEKEY#{hex}"), "HITTYPEKEY"))
}

fn token_key(scope: &str, token: &str) -> Item {
    key(format!("TOKEN#{scope}#{token}"), "TOKEN")
}

fn due_key(at: i64, due: &Due) -> Item {
    let (kind, id) = match due {
        Due::HitExpiry(id) => ("HitExpiry", id),
        Due::AssignmentDeadline(id) => ("AssignmentDeadline", id),
        Due::AutoApprove(id) => ("AutoApprove", id),
        Due::AutoDispose(id) => ("AutoDispose", id),
    };
    key(DUE_PK, format!("{:013}#{kind}#{id}", at.max(0)))
}

fn due_of_sk(sk: &str) -> Option<(i64, Due)> {
    let mut parts = sk.splitn(3, '#');
    let at = parts.next()?.parse().ok()?;
    let kind = parts.next()?;
    let id = parts.next()?.to_string();
    let due = match kind {
        "HitExpiry" => Due::HitExpiry(id),
        "AssignmentDeadline" => Due::AssignmentDeadline(id),
        "AutoApprove" => Due::AutoApprove(id),
        "AutoDispose" => Due::AutoDispose(id),
        _ => return None,
    };
    Some((at, due))
}

fn doc<T: Serialize>(record: &T) -> StoreResult<AttributeValue> {
    serde_json::to_string(record).map(AttributeValue::S).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_doc<T: DeserializeOwned>(item: &Item) -> StoreResult<T> {
    let json = item.get("doc").and_then(|v| v.as_s().ok()).ok_or_else(|| corrupt(item, "no doc"))?;
    serde_json::from_str(json).map_err(|e| corrupt(item, &e.to_string()))
}

fn corrupt(item: &Item, why: &str) -> StoreError {
    StoreError::Corrupt(format!("{:?}/{:?}: {why}", item.get(PK), item.get(SK)))
}

fn str_attr<'a>(item: &'a Item, name: &str) -> StoreResult<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or_else(|| corrupt(item, name))
}

fn num_attr(item: &Item, name: &str) -> StoreResult<i64> {
    match item.get(name) {
        None => Ok(0),
        Some(v) => v.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| corrupt(item, name)),
    }
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Corrupt(format!("a request did not build: {e}")))
}

fn unavailable(e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

/// One part of a commit, before it is given the table's name.
enum Part {
    Put { item: Item, condition: Option<String>, values: Item },
    Delete { key: Item },
    Update { key: Item, expression: String, condition: Option<String>, values: Item },
}

fn values(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// The put of a versioned record: only over the version it was read at.
fn versioned_put<T>(mut item: Item, v: &Versioned<T>, version: impl Fn(&T) -> u64, new_version: u64) -> Part {
    item.insert("version".into(), n(new_version as i64));
    match &v.prior {
        None => Part::Put { item, condition: Some("attribute_not_exists(pk)".into()), values: Item::new() },
        Some(prior) => Part::Put {
            item,
            condition: Some("version = :read".into()),
            values: values(&[(":read", n(version(prior) as i64))]),
        },
    }
}

/// The due index's changes for a record that was `before` and is `after`.
fn due_changes(before: Vec<(i64, Due)>, after: Vec<(i64, Due)>, parts: &mut Vec<Part>) {
    for (at, due) in &before {
        if !after.contains(&(*at, due.clone())) {
            parts.push(Part::Delete { key: due_key(*at, due) });
        }
    }
    for (at, due) in &after {
        if !before.contains(&(*at, due.clone())) {
            parts.push(Part::Put { item: due_key(*at, due), condition: None, values: Item::new() });
        }
    }
}

impl DynamoStore {
    pub fn new(ddb: aws_sdk_dynamodb::Client, table: &str) -> Self {
        DynamoStore { ddb, table: table.to_string(), calls: CallCounters::default() }
    }

    /// Creates the table and pays `funds` into its account: a local run's
    /// or a test's store (a deployment's table comes from the template and
    /// its money from the admin).
    pub async fn create_funded(ddb: aws_sdk_dynamodb::Client, table: &str, funds: Usd) -> Result<DynamoStore, String> {
        crate::table::create(&ddb, table).await?;
        let store = DynamoStore::new(ddb, table);
        let deposit = Changes { account: AccountDelta { funds, ..Default::default() }, ..Default::default() };
        store.commit(&deposit).await.map_err(|e| format!("cannot pay {funds} into {table}: {e:?}"))?;
        Ok(store)
    }

    /// The requests made so far.
    pub fn calls(&self) -> Calls {
        let c = &self.calls;
        Calls {
            get_item: c.get_item.load(Ordering::Relaxed),
            query: c.query.load(Ordering::Relaxed),
            batch_get_item: c.batch_get_item.load(Ordering::Relaxed),
            transact_write_items: c.transact_write_items.load(Ordering::Relaxed),
            delete_item: c.delete_item.load(Ordering::Relaxed),
        }
    }

    async fn get(&self, key: Item) -> StoreResult<Option<Item>> {
        count(&self.calls.get_item);
        let out = self
            .ddb
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    async fn get_doc<T: DeserializeOwned>(&self, key: Item) -> StoreResult<Option<T>> {
        match self.get(key).await? {
            Some(item) => from_doc(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Every item of one partition whose sort key starts with `prefix`,
    /// after `after`, up to `limit` (None: all).
    async fn query(&self, pk: &str, prefix: &str, after: Option<&str>, limit: Option<usize>) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = after.map(|sk| key(pk, sk));
        loop {
            let want = limit.map(|l| (l - out.len()) as i32);
            let mut request = self.ddb.query().table_name(&self.table).expression_attribute_values(":pk", s(pk));
            // A key condition cannot name an empty prefix: the whole partition.
            request = if prefix.is_empty() {
                request.key_condition_expression("pk = :pk")
            } else {
                request
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix))
            };
            count(&self.calls.query);
            let page = request
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .set_limit(want)
                .send()
                .await
                .map_err(unavailable)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if limit.is_none_or(|l| out.len() < l) => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Up to `limit` sort keys of one index partition, after `after`.
    async fn index_page(
        &self,
        index: &str,
        partition: (&str, String),
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut start = after.map(|created_sk| {
            let hit = hit_of(created_sk).unwrap_or_default();
            let mut k = hit_key(hit);
            k.insert(partition.0.to_string(), s(&partition.1));
            k.insert(CREATED_SK.to_string(), s(created_sk));
            k
        });
        loop {
            count(&self.calls.query);
            let page = self
                .ddb
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#p = :p")
                .expression_attribute_names("#p", partition.0)
                .expression_attribute_values(":p", s(&partition.1))
                .set_exclusive_start_key(start.take())
                .limit((limit - keys.len()) as i32)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items.unwrap_or_default() {
                keys.push(str_attr(&item, CREATED_SK)?.to_string());
            }
            match page.last_evaluated_key {
                Some(k) if keys.len() < limit => start = Some(k),
                _ => return Ok(keys),
            }
        }
    }

    /// The HITs an index listed, read from the table (an index is eventually
    /// consistent: a HIT that left the listing since is dropped).
    async fn hits_of(&self, keys: Vec<String>, status: Option<HitStatus>) -> StoreResult<Listed<Hit>> {
        let ids: Vec<(String, String)> =
            keys.into_iter().filter_map(|sk| hit_of(&sk).map(|id| (sk.clone(), id.to_string()))).collect();
        let mut found: HashMap<String, Hit> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_GET_MAX) {
            for item in self.batch_get(chunk.iter().map(|(_, id)| hit_key(id)).collect()).await? {
                let h: Hit = from_doc(&item)?;
                found.insert(h.id.clone(), h);
            }
        }
        // In the index's order; a HIT whose status moved since the index
        // was read is left out, as a read a moment later would.
        Ok(ids
            .into_iter()
            .filter_map(|(sk, id)| found.remove(&id).map(|h| (sk, h)))
            .filter(|(_, h)| match status {
                Some(st) => h.status == st,
                None => h.status != HitStatus::Disposed,
            })
            .collect())
    }

    /// The items of `keys` (at most 100), read consistently, in any order;
    /// keys DynamoDB leaves unprocessed (throughput) are asked for again
    /// after a pause.
    async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut out = Vec::with_capacity(keys.len());
        let mut pending = Some(keys);
        let mut pause_ms = 10;
        while let Some(keys) = pending.take().filter(|k| !k.is_empty()) {
            let wanted = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            count(&self.calls.batch_get_item);
            let answer =
                self.ddb.batch_get_item().request_items(&self.table, wanted).send().await.map_err(unavailable)?;
            out.extend(answer.responses().and_then(|r| r.get(&self.table)).into_iter().flatten().cloned());
            pending = answer.unprocessed_keys().and_then(|u| u.get(&self.table)).map(|k| k.keys().to_vec());
            if pending.as_ref().is_some_and(|k| !k.is_empty()) {
                tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
                pause_ms = (pause_ms * 2).min(1_000);
            }
        }
        Ok(out)
    }

    fn parts_of(&self, changes: &Changes) -> StoreResult<Vec<Part>> {
        let mut parts = Vec::new();
        let mut first_month: Option<String> = None;
        for w in &changes.writes {
            match w {
                Write::HitType { record, new } => {
                    let mut item = hit_type_key(&record.id);
                    item.insert("doc".into(), doc(record)?);
                    if *new {
                        let mut marker = hit_type_identity(&record.key)?;
                        marker.insert("hit_type_id".into(), s(&record.id));
                        parts.push(Part::Put {
                            item: marker,
                            condition: Some("attribute_not_exists(pk)".into()),
                            values: Item::new(),
                        });
                        parts.push(Part::Put {
                            item,
                            condition: Some("attribute_not_exists(pk)".into()),
                            values: Item::new(),
                        });
                    } else {
                        parts.push(Part::Put { item, condition: None, values: Item::new() });
                    }
                }
                Write::Hit(v) => {
                    let h = &v.record;
                    let mut item = hit_key(&h.id);
                    item.insert("doc".into(), doc(h)?);
                    let listing = Listing::new(&h.id, h.created_ms, h.created_tiebreak);
                    item.extend(listing.attributes(h.status.as_str()));
                    if h.status == HitStatus::Disposed {
                        // ListHITs shows no disposed HIT: out of the month index.
                        item.remove(MONTH_PK);
                    }
                    if v.prior.is_none() {
                        first_month = Some(month_of(h.created_ms));
                    }
                    parts.push(versioned_put(item, v, |h| h.version, h.version));
                    due_changes(v.prior.as_ref().map(due_of_hit).unwrap_or_default(), due_of_hit(h), &mut parts);
                }
                Write::Assignment(v) => {
                    let a = &v.record;
                    let mut item = assignment_key(&a.id);
                    item.insert("doc".into(), doc(a)?);
                    parts.push(versioned_put(item, v, |a| a.version, a.version));
                    let mut copy = assignment_of_hit_key(a);
                    copy.insert("doc".into(), doc(a)?);
                    parts.push(Part::Put { item: copy, condition: None, values: Item::new() });
                    due_changes(
                        v.prior.as_ref().map(due_of_assignment).unwrap_or_default(),
                        due_of_assignment(a),
                        &mut parts,
                    );
                }
                Write::WorkerHit { worker_id, hit_id, assignment_id } => {
                    parts.push(Part::Put {
                        item: key(format!("HIT#{hit_id}"), format!("WORKER#{worker_id}")),
                        condition: Some("attribute_not_exists(pk)".into()),
                        values: Item::new(),
                    });
                    // The same fact the other way round: a worker's HITs,
                    // and their assignments, in one Query.
                    let mut by_worker = key(format!("WORKER#{worker_id}"), format!("HIT#{hit_id}"));
                    by_worker.insert("assignment_id".into(), s(assignment_id));
                    parts.push(Part::Put { item: by_worker, condition: None, values: Item::new() });
                    // Written again by each acceptance: no condition to fail.
                    parts.push(Part::Put {
                        item: key(WORKERS_PK, format!("WORKER#{worker_id}")),
                        condition: None,
                        values: Item::new(),
                    });
                }
                Write::Token { scope, token, used, free_before_ms } => {
                    let mut item = token_key(scope, token);
                    item.insert("used_ms".into(), n(used.used_ms));
                    item.insert("request_id".into(), s(&used.request_id));
                    if let Some(h) = &used.hit_id {
                        item.insert("hit_id".into(), s(h));
                    }
                    // DynamoDB's TTL removes it a day after its use (in seconds).
                    item.insert("expires_at".into(), n((used.used_ms + 2 * 24 * 3600 * 1000) / 1000));
                    parts.push(Part::Put {
                        item,
                        condition: Some("attribute_not_exists(pk) OR used_ms < :free".into()),
                        values: values(&[(":free", n(*free_before_ms))]),
                    });
                }
                Write::Block { worker_id, reason: Some(reason) } => {
                    let mut item = key(BLOCKS_PK, format!("WORKER#{worker_id}"));
                    item.insert("reason".into(), s(reason));
                    parts.push(Part::Put { item, condition: None, values: Item::new() });
                }
                Write::Block { worker_id, reason: None } => {
                    parts.push(Part::Delete { key: key(BLOCKS_PK, format!("WORKER#{worker_id}")) })
                }
                Write::QualificationType(q) => {
                    let mut marker = key(format!("QUALNAME#{}", q.name), "QUALNAME");
                    marker.insert("id".into(), s(&q.id));
                    parts.push(Part::Put {
                        item: marker,
                        condition: Some("attribute_not_exists(pk)".into()),
                        values: Item::new(),
                    });
                    let mut item = key(format!("QUALTYPE#{}", q.id), "QUALTYPE");
                    item.insert("doc".into(), doc(q)?);
                    parts.push(Part::Put {
                        item,
                        condition: Some("attribute_not_exists(pk)".into()),
                        values: Item::new(),
                    });
                }
                Write::Qualification(q) => {
                    let mut item = key(format!("QUAL#{}", q.qualification_type_id), format!("WORKER#{}", q.worker_id));
                    item.insert("doc".into(), doc(q)?);
                    parts.push(Part::Put { item, condition: None, values: Item::new() });
                }
                Write::Bonus(b) => {
                    let sk = format!("BONUS#{:013}#{}", b.granted_ms, uuid::Uuid::new_v4());
                    let mut item = key(format!("WORKER#{}", b.worker_id), sk);
                    item.insert("doc".into(), doc(b)?);
                    parts.push(Part::Put { item, condition: None, values: Item::new() });
                }
                Write::Message(m) => {
                    let mut item = key(format!("WORKER#{}", m.worker_id), format!("MSG#{:013}#{}", m.sent_ms, m.id));
                    item.insert("doc".into(), doc(m)?);
                    // DynamoDB's TTL removes it once it is no longer shown (in seconds).
                    item.insert("expires_at".into(), n((m.sent_ms + MESSAGE_KEPT_MS) / 1000));
                    parts.push(Part::Put { item, condition: None, values: Item::new() });
                }
            }
        }
        let d = changes.account;
        if !d.is_zero() || first_month.is_some() {
            // Conditions cannot add, so the account keeps what is available
            // and what is unspent beside the totals they come from.
            let mut expression = "ADD funds_cents :f, spent_cents :s, on_hold_cents :h, available_cents :a, \
                                  unspent_cents :u"
                .to_string();
            let mut vals = values(&[
                (":f", n(d.funds.cents())),
                (":s", n(d.spent.cents())),
                (":h", n(d.on_hold.cents())),
                (":a", n(d.available().cents())),
                (":u", n(d.unspent().cents())),
            ]);
            if let Some(m) = first_month {
                // ListHITs reads months from the account's first: set by the
                // first HIT, at no write of its own.
                expression.push_str(" SET first_month = if_not_exists(first_month, :m)");
                vals.insert(":m".into(), s(m));
            }
            let mut floors = Vec::new();
            if d.available() < Usd::ZERO {
                floors.push("available_cents >= :need_a");
                vals.insert(":need_a".into(), n(-d.available().cents()));
            }
            if d.unspent() < Usd::ZERO {
                floors.push("unspent_cents >= :need_u");
                vals.insert(":need_u".into(), n(-d.unspent().cents()));
            }
            let condition = (!floors.is_empty()).then(|| floors.join(" AND "));
            parts.push(Part::Update { key: key(ACCOUNT, ACCOUNT), expression, condition, values: vals });
        }
        for d in changes.outbox.iter().filter(|d| !d.test) {
            let mut item = outbox_key(d.at_ms, &d.id);
            item.insert("doc".into(), doc(d)?);
            parts.push(Part::Put { item, condition: None, values: Item::new() });
        }
        Ok(parts)
    }

    fn transact_item(&self, part: Part) -> StoreResult<TransactWriteItem> {
        let table = &self.table;
        Ok(match part {
            Part::Put { item, condition, values } => {
                let put = built(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(item))
                        .set_condition_expression(condition)
                        .set_expression_attribute_values((!values.is_empty()).then_some(values))
                        .build(),
                )?;
                TransactWriteItem::builder().put(put).build()
            }
            Part::Delete { key } => TransactWriteItem::builder()
                .delete(built(Delete::builder().table_name(table).set_key(Some(key)).build())?)
                .build(),
            Part::Update { key, expression, condition, values } => {
                let update = built(
                    Update::builder()
                        .table_name(table)
                        .set_key(Some(key))
                        .update_expression(expression)
                        .set_condition_expression(condition)
                        .set_expression_attribute_values(Some(values))
                        .build(),
                )?;
                TransactWriteItem::builder().update(update).build()
            }
        })
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn hit_type(&self, id: &str) -> StoreResult<Option<HitType>> {
        self.get_doc(hit_type_key(id)).await
    }

    async fn hit_type_by_key(&self, k: &HitTypeKey) -> StoreResult<Option<String>> {
        match self.get(hit_type_identity(k)?).await? {
            Some(item) => Ok(Some(str_attr(&item, "hit_type_id")?.to_string())),
            None => Ok(None),
        }
    }

    async fn hit(&self, id: &str) -> StoreResult<Option<Hit>> {
        self.get_doc(hit_key(id)).await
    }

    async fn hits(
        &self,
        status: Option<HitStatus>,
        after: Option<&str>,
        limit: usize,
        now_ms: i64,
    ) -> StoreResult<Listed<Hit>> {
        if let Some(status) = status {
            if after.is_some_and(|a| !a.contains('#')) {
                return Err(StoreError::BadToken);
            }
            let keys = self
                .index_page(HITS_BY_STATUS, (STATUS_PK, format!("STATUS#{}", status.as_str())), after, limit)
                .await?;
            return self.hits_of(keys, Some(status)).await;
        }
        // By creation: month by month from the account's first to now's.
        // A cursor is `<month>|<sort key>`.
        let (mut month, mut after) = match after {
            Some(c) => match c.split_once('|') {
                Some((m, sk)) if next_month(m).is_some() && sk.contains('#') => (m.to_string(), Some(sk.to_string())),
                _ => return Err(StoreError::BadToken),
            },
            None => match self.get(key(ACCOUNT, ACCOUNT)).await?.and_then(|a| a.get("first_month").cloned()) {
                Some(AttributeValue::S(m)) => (m, None),
                _ => return Ok(vec![]),
            },
        };
        let last = month_of(now_ms);
        let mut out = Vec::new();
        while month <= last && out.len() < limit {
            let keys = self
                .index_page(HITS_BY_MONTH, (MONTH_PK, format!("HITS#{month}")), after.as_deref(), limit - out.len())
                .await?;
            let exhausted = keys.len() < limit - out.len();
            for (sk, h) in self.hits_of(keys, None).await? {
                out.push((format!("{month}|{sk}"), h));
            }
            if !exhausted {
                break;
            }
            month = match next_month(&month) {
                Some(m) => m,
                None => break,
            };
            after = None;
        }
        Ok(out)
    }

    async fn hit_count_by_status(&self) -> StoreResult<BTreeMap<HitStatus, usize>> {
        let mut counts = BTreeMap::new();
        for status in [
            HitStatus::Assignable,
            HitStatus::Unassignable,
            HitStatus::Reviewable,
            HitStatus::Reviewing,
            HitStatus::Disposed,
        ] {
            let mut start = None;
            let mut total = 0usize;
            loop {
                count(&self.calls.query);
                let page = self
                    .ddb
                    .query()
                    .table_name(&self.table)
                    .index_name(HITS_BY_STATUS)
                    .key_condition_expression("status_pk = :p")
                    .expression_attribute_values(":p", s(format!("STATUS#{}", status.as_str())))
                    .select(Select::Count)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(unavailable)?;
                total += page.count as usize;
                match page.last_evaluated_key {
                    Some(k) => start = Some(k),
                    None => break,
                }
            }
            if total > 0 {
                counts.insert(status, total);
            }
        }
        Ok(counts)
    }

    async fn assignment(&self, id: &str) -> StoreResult<Option<Assignment>> {
        self.get_doc(assignment_key(id)).await
    }

    async fn assignments_of_hit(&self, hit_id: &str) -> StoreResult<Vec<Assignment>> {
        self.query(&format!("HIT#{hit_id}"), "A#", None, None).await?.iter().map(from_doc).collect()
    }

    async fn worker_has_assignment(&self, worker_id: &str, hit_id: &str) -> StoreResult<bool> {
        Ok(self.get(key(format!("HIT#{hit_id}"), format!("WORKER#{worker_id}"))).await?.is_some())
    }

    async fn hits_of_worker(&self, worker_id: &str) -> StoreResult<HashSet<String>> {
        let items = self.query(&format!("WORKER#{worker_id}"), "HIT#", None, None).await?;
        Ok(items
            .iter()
            .filter_map(|i| i.get(SK).and_then(|v| v.as_s().ok()))
            .filter_map(|sk| sk.strip_prefix("HIT#"))
            .map(str::to_string)
            .collect())
    }

    async fn assignments_of_worker(&self, worker_id: &str) -> StoreResult<Vec<Assignment>> {
        let markers = self.query(&format!("WORKER#{worker_id}"), "HIT#", None, None).await?;
        let mut keys = Vec::with_capacity(markers.len());
        for m in &markers {
            keys.push(assignment_key(str_attr(m, "assignment_id")?));
        }
        let mut assignments = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            for item in self.batch_get(chunk.to_vec()).await? {
                assignments.push(from_doc::<Assignment>(&item)?);
            }
        }
        assignments.sort_by(|a, b| a.accept_ms.cmp(&b.accept_ms).then_with(|| a.id.cmp(&b.id)));
        Ok(assignments)
    }

    async fn has_worked(&self, worker_id: &str) -> StoreResult<bool> {
        Ok(self.get(key(WORKERS_PK, format!("WORKER#{worker_id}"))).await?.is_some())
    }

    async fn workers(&self, after: Option<&str>, limit: usize) -> StoreResult<Listed<String>> {
        let after = after.map(|w| format!("WORKER#{w}"));
        let items = self.query(WORKERS_PK, "WORKER#", after.as_deref(), Some(limit)).await?;
        items
            .iter()
            .map(|item| {
                let worker = str_attr(item, SK)?.trim_start_matches("WORKER#").to_string();
                Ok((worker.clone(), worker))
            })
            .collect()
    }

    /// Counts for the control endpoint: a Query per HIT would be needed, so
    /// the durable store reports none (the deployed service has no control
    /// endpoint).
    async fn assignment_count_by_status(&self) -> StoreResult<BTreeMap<&'static str, usize>> {
        Ok(BTreeMap::new())
    }

    async fn token(&self, scope: &str, token: &str) -> StoreResult<Option<TokenUse>> {
        let Some(item) = self.get(token_key(scope, token)).await? else { return Ok(None) };
        Ok(Some(TokenUse {
            used_ms: num_attr(&item, "used_ms")?,
            hit_id: item.get("hit_id").and_then(|v| v.as_s().ok()).cloned(),
            request_id: str_attr(&item, "request_id")?.to_string(),
        }))
    }

    async fn account(&self) -> StoreResult<Account> {
        let Some(item) = self.get(key(ACCOUNT, ACCOUNT)).await? else { return Ok(Account::default()) };
        Ok(Account {
            funds: Usd::from_cents(num_attr(&item, "funds_cents")?),
            spent: Usd::from_cents(num_attr(&item, "spent_cents")?),
            on_hold: Usd::from_cents(num_attr(&item, "on_hold_cents")?),
        })
    }

    async fn block(&self, worker_id: &str) -> StoreResult<Option<String>> {
        match self.get(key(BLOCKS_PK, format!("WORKER#{worker_id}"))).await? {
            Some(item) => Ok(Some(str_attr(&item, "reason")?.to_string())),
            None => Ok(None),
        }
    }

    async fn blocks(&self, after: Option<&str>, limit: usize) -> StoreResult<Listed<(String, String)>> {
        let after = after.map(|w| format!("WORKER#{w}"));
        let items = self.query(BLOCKS_PK, "WORKER#", after.as_deref(), Some(limit)).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let worker = str_attr(&item, SK)?.trim_start_matches("WORKER#").to_string();
            out.push((worker.clone(), (worker, str_attr(&item, "reason")?.to_string())));
        }
        Ok(out)
    }

    async fn qualification_type(&self, id: &str) -> StoreResult<Option<QualificationType>> {
        self.get_doc(key(format!("QUALTYPE#{id}"), "QUALTYPE")).await
    }

    async fn qualification_type_by_name(&self, name: &str) -> StoreResult<Option<String>> {
        match self.get(key(format!("QUALNAME#{name}"), "QUALNAME")).await? {
            Some(item) => Ok(Some(str_attr(&item, "id")?.to_string())),
            None => Ok(None),
        }
    }

    async fn qualification(&self, type_id: &str, worker_id: &str) -> StoreResult<Option<Qualification>> {
        self.get_doc(key(format!("QUAL#{type_id}"), format!("WORKER#{worker_id}"))).await
    }

    async fn qualifications_of_type(
        &self,
        type_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Listed<Qualification>> {
        let after = after.map(|w| format!("WORKER#{w}"));
        let items = self.query(&format!("QUAL#{type_id}"), "WORKER#", after.as_deref(), Some(limit)).await?;
        items
            .iter()
            .map(|item| {
                let q: Qualification = from_doc(item)?;
                Ok((q.worker_id.clone(), q))
            })
            .collect()
    }

    async fn bonuses_of_worker(&self, worker_id: &str) -> StoreResult<Vec<Bonus>> {
        self.query(&format!("WORKER#{worker_id}"), "BONUS#", None, None).await?.iter().map(from_doc).collect()
    }

    async fn messages_of_worker(&self, worker_id: &str, since_ms: i64) -> StoreResult<Vec<WorkerMessage>> {
        let items = self.query(&format!("WORKER#{worker_id}"), "MSG#", None, None).await?;
        let mut messages = items.iter().map(from_doc).collect::<StoreResult<Vec<WorkerMessage>>>()?;
        // TTL removes expired items within days, not at once.
        messages.retain(|m| m.sent_ms >= since_ms);
        messages.reverse();
        Ok(messages)
    }

    async fn next_due_after(&self, after: Option<&DueKey>) -> StoreResult<Option<(DueKey, Due)>> {
        let items = self.query(DUE_PK, "", after.map(|(_, sk)| sk.as_str()), Some(1)).await?;
        let Some(item) = items.first() else { return Ok(None) };
        let sk = str_attr(item, SK)?;
        let (at, due) = due_of_sk(sk).ok_or_else(|| corrupt(item, "due entry"))?;
        Ok(Some(((at, sk.to_string()), due)))
    }

    async fn outbox_before(
        &self,
        before_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<hitloop_workforce::engine::Delivery>> {
        let items = self.query(OUTBOX_PK, "", None, Some(limit)).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let d: hitloop_workforce::engine::Delivery = from_doc(item)?;
            if d.at_ms >= before_ms {
                break;
            }
            out.push(d);
        }
        Ok(out)
    }

    async fn outbox_sent(&self, sent: &[(i64, String)]) -> StoreResult<()> {
        for (at_ms, id) in sent {
            count(&self.calls.delete_item);
            self.ddb
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(outbox_key(*at_ms, id)))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn due_count(&self) -> StoreResult<usize> {
        Ok(self.query(DUE_PK, "", None, None).await?.len())
    }

    async fn commit(&self, changes: &Changes) -> Result<(), CommitError> {
        let parts = self.parts_of(changes)?;
        if parts.is_empty() {
            return Ok(());
        }
        let items: Vec<TransactWriteItem> =
            parts.into_iter().map(|p| self.transact_item(p)).collect::<StoreResult<_>>()?;
        for attempt in 0..CONFLICT_ATTEMPTS {
            count(&self.calls.transact_write_items);
            let result = self.ddb.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            match result {
                Ok(_) => return Ok(()),
                Err(SdkError::ServiceError(e)) => {
                    if let TransactWriteItemsError::TransactionCanceledException(t) = e.err() {
                        let codes: Vec<&str> =
                            t.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
                        if codes.contains(&"ConditionalCheckFailed") {
                            return Err(CommitError::Conflict);
                        }
                        if codes.contains(&"TransactionConflict") {
                            if attempt + 1 == CONFLICT_ATTEMPTS {
                                // The records are in contention: decide again on a fresh read.
                                return Err(CommitError::Conflict);
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(2u64 << attempt)).await;
                            continue;
                        }
                    }
                    return Err(CommitError::Store(StoreError::Unavailable(format!("{:?}", e.err()))));
                }
                Err(e) => return Err(CommitError::Store(unavailable(e))),
            }
        }
        Err(CommitError::Conflict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_round_trip_through_their_sort_keys() {
        for due in [
            Due::HitExpiry("H1".into()),
            Due::AssignmentDeadline("A#1".into()),
            Due::AutoApprove("A2".into()),
            Due::AutoDispose("H2".into()),
        ] {
            let k = due_key(1_800_000_000_000, &due);
            let sk = k.get(SK).and_then(|v| v.as_s().ok()).unwrap();
            assert_eq!(due_of_sk(sk), Some((1_800_000_000_000, due)));
        }
        assert_eq!(due_of_sk("1800000000000#Nothing#X"), None);
        assert_eq!(due_of_sk("soon#HitExpiry#X"), None);
    }

    #[test]
    fn a_hit_type_key_is_short_whatever_its_text() {
        let k = HitTypeKey {
            title: "t".repeat(128),
            description: "d".repeat(2000),
            keywords: None,
            reward_cents: 5,
            assignment_duration_s: 60,
            auto_approval_delay_s: 0,
            qualification_requirements: "[]".into(),
        };
        let item = hit_type_identity(&k).unwrap();
        assert!(item.get(PK).and_then(|v| v.as_s().ok()).unwrap().len() < 80);
        let mut other = k.clone();
        other.reward_cents = 6;
        assert_ne!(hit_type_identity(&other).unwrap(), item);
    }
}
