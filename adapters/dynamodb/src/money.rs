//! Money, and everything written with it: an item's new answers (paid), its
//! decision (its reservation's unneeded part given back) and its
//! reservations, with the job's counters, in one conditional write: a
//! transaction when more than the item moves, one UpdateItem when only the
//! item does. A decision counts on one of the job's tallies, not on its
//! state record; the state is written only when money moves (a reservation,
//! or a release). A reservation holds only while the job is active and its
//! stored budget covers it: the condition names the budget, so a caller's
//! stale copy is retried with the stored one, never trusted.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use hitloop_core::error::{Error, Result};
use hitloop_core::money::Usd;
use hitloop_core::plan::write::{ItemWrite, Refusal, WriteOutcome};
use hitloop_core::records::{ItemStatus, JobStatus};

use crate::codec;
use crate::keys::{self, item_key, n, refit_pk, s, standing_key, state_key, tally_key};
use crate::txn::{applied, built, transact};
use crate::DynamoStore;

/// A budget that keeps changing under a reservation is retried this often.
const BUDGET_TRIES: usize = 3;

/// An update expression, built from its parts.
#[derive(Default)]
struct Expression {
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    values: Vec<(String, AttributeValue)>,
}

impl Expression {
    fn set(&mut self, attr: &str, value: AttributeValue) {
        self.set.push(format!("{attr} = :{attr}"));
        self.values.push((format!(":{attr}"), value));
    }

    fn add(&mut self, attr: &str, amount: i64) {
        if amount != 0 {
            self.add.push(format!("{attr} :{attr}"));
            self.values.push((format!(":{attr}"), n(amount)));
        }
    }

    fn text(&self) -> String {
        let mut parts = Vec::new();
        for (word, list) in [("SET", &self.set), ("ADD", &self.add), ("REMOVE", &self.remove)] {
            if !list.is_empty() {
                parts.push(format!("{word} {}", list.join(", ")));
            }
        }
        parts.join(" ")
    }

    fn update(self, store: &DynamoStore, key: crate::keys::Attrs, condition: Option<&str>) -> Result<Update> {
        let mut u = Update::builder()
            .table_name(&store.table)
            .set_key(Some(key))
            .update_expression(self.text())
            .set_condition_expression(condition.map(str::to_string));
        for (k, v) in self.values {
            u = u.expression_attribute_values(k, v);
        }
        built(u.build())
    }
}

fn item_update(store: &DynamoStore, w: &ItemWrite) -> Result<Update> {
    let mut e = Expression::default();
    e.set("updated_at", n(w.now));
    e.add("version", 1);
    e.values.push((":seen".into(), n(w.version)));
    if !w.record.is_empty() {
        let answers = serde_dynamo::to_attribute_value(&w.record)
            .map_err(|err| Error::Permanent(format!("answers cannot be stored: {err}")))?;
        e.set.push("answers = list_append(answers, :new)".into());
        e.values.push((":new".into(), answers));
        e.add("spent_cents", w.cost.cents());
    }
    if w.refit_due {
        // Into the refit index until the worker model has counted the answers.
        e.set("refit_pk", s(refit_pk(&w.job_id)));
        e.set("refit_sk", s(&w.item_id));
    }
    match (&w.decide, &w.reopen) {
        (Some(d), _) => {
            e.set("item_status", s(d.status.as_str()));
            e.set("agreed", n(d.agreed));
            e.add("released_cents", d.release.cents());
            match &d.label {
                Some(l) => e.set("label", s(l)),
                None => e.remove.push("label".into()),
            }
            match d.confidence {
                Some(c) => e.set("confidence", n(c)),
                None => e.remove.push("confidence".into()),
            }
            e.remove.extend(["open_shard".into(), "open_sk".into()]);
        }
        (None, Some(_)) => {
            // Open again: back in sweep's index.
            e.set("item_status", s(ItemStatus::Published.as_str()));
            e.set("agreed", n(0));
            e.remove.extend(["label".into(), "confidence".into()]);
            e.set("open_shard", s(keys::open_shard(keys::shard_of(&w.job_id, &w.item_id))));
            e.set("open_sk", s(keys::open_sk(&w.job_id, &w.item_id)));
        }
        (None, None) => {}
    }
    if let Some(r) = &w.reserve {
        e.set("rounds", n(r.round));
        e.add("bought", i64::from(r.assignments));
    }
    e.update(store, item_key(&w.job_id, &w.item_id), Some("version = :seen"))
}

/// The decision's counts, on the item's tally (None: nothing to count).
fn tally_update(store: &DynamoStore, w: &ItemWrite) -> Result<Option<Update>> {
    let d = &w.job;
    // A decision taken back comes off the same tally it was counted on.
    let (was, back) = match &w.reopen {
        Some(r) => (Some(r.was), (r.answers as i64, r.spent.cents())),
        None => (None, (0, 0)),
    };
    let mut e = Expression::default();
    for (attr, amount) in [
        ("decided", d.decided as i64 - i64::from(was.is_some())),
        ("labeled", d.labeled as i64 - i64::from(was == Some(ItemStatus::Labeled))),
        ("unresolved", d.unresolved as i64 - i64::from(was == Some(ItemStatus::Unresolved))),
        ("answers", d.answers as i64 - back.0),
        ("spent_cents", d.spent.cents() - back.1),
    ] {
        e.add(attr, amount);
    }
    if e.add.is_empty() {
        return Ok(None);
    }
    // ADD creates the tally on first use.
    e.update(store, tally_key(&w.job_id, &w.item_id), None).map(Some)
}

/// A gold item's answers on their workers' standings (ADD: counted once,
/// with the item's version).
fn standing_updates(store: &DynamoStore, w: &ItemWrite) -> Result<Vec<Update>> {
    w.gold
        .iter()
        .map(|t| {
            let mut e = Expression::default();
            e.set("worker_id", s(&t.worker_id));
            e.add("gold_answers", i64::from(t.answers));
            e.add("gold_correct", i64::from(t.correct));
            e.update(store, standing_key(&w.job_id, &t.worker_id), None)
        })
        .collect()
}

/// Money on the job's state (None: none moves); with a reservation, on
/// condition that the job is active and `budget` (what the store is
/// believed to hold) covers it.
fn money_update(store: &DynamoStore, w: &ItemWrite, budget: Option<Usd>) -> Result<Option<Update>> {
    let d = &w.job;
    let mut e = Expression::default();
    e.add("reserved_cents", d.reserved.cents());
    e.add("bought", d.bought as i64);
    if e.add.is_empty() && w.reserve.is_none() {
        return Ok(None);
    }
    e.set("updated_at", n(w.now));
    let condition = match (&w.reserve, budget) {
        (None, _) => "attribute_exists(pk)".to_string(),
        (Some(r), b) => {
            e.values.push((":publishing".into(), s(JobStatus::Publishing.as_str())));
            e.values.push((":labeling".into(), s(JobStatus::Labeling.as_str())));
            match b {
                Some(b) => {
                    e.values.push((":budget".into(), n(b.cents())));
                    e.values.push((":limit".into(), n((b - r.cost).cents())));
                    "job_status IN (:publishing, :labeling) AND budget_cents = :budget AND reserved_cents <= :limit"
                        .to_string()
                }
                None => "job_status IN (:publishing, :labeling) AND attribute_not_exists(budget_cents)".to_string(),
            }
        }
    };
    e.update(store, state_key(&w.job_id), Some(&condition)).map(Some)
}

impl DynamoStore {
    pub(crate) async fn apply_write(&self, w: &ItemWrite) -> Result<WriteOutcome> {
        let tally = tally_update(self, w)?;
        let standings = standing_updates(self, w)?;
        if tally.is_none() && standings.is_empty() && w.job.is_empty() && w.reserve.is_none() {
            let u = item_update(self, w)?;
            let r = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(u.key))
                .update_expression(u.update_expression)
                .condition_expression(u.condition_expression.unwrap_or_default())
                .set_expression_attribute_values(u.expression_attribute_values)
                .send()
                .await;
            return Ok(if applied(r)? { WriteOutcome::Applied } else { WriteOutcome::Conflict });
        }
        let mut budget = w.reserve.as_ref().and_then(|r| r.budget);
        for _ in 0..BUDGET_TRIES {
            let mut parts = vec![TransactWriteItem::builder().update(item_update(self, w)?).build()];
            if let Some(t) = &tally {
                parts.push(TransactWriteItem::builder().update(t.clone()).build());
            }
            for u in &standings {
                parts.push(TransactWriteItem::builder().update(u.clone()).build());
            }
            let money = money_update(self, w, budget)?;
            if let Some(m) = money {
                parts.push(TransactWriteItem::builder().update(m).build());
            }
            let Some(failed) = transact(&self.client, parts).await? else { return Ok(WriteOutcome::Applied) };
            if failed.first() == Some(&true) {
                return Ok(WriteOutcome::Conflict);
            }
            let Some(r) = &w.reserve else {
                return Err(Error::Permanent(format!("item {} has no job {}", w.item_id, w.job_id)));
            };
            // Why the job refused: read what it holds.
            let Some(state) = self.state(&w.job_id).await? else {
                return Ok(WriteOutcome::Refused(Refusal::JobInactive));
            };
            if !codec::status_of(&state)?.is_active() {
                return Ok(WriteOutcome::Refused(Refusal::JobInactive));
            }
            let stored = state.budget_cents.map(Usd::from_cents);
            let reserved = Usd::from_cents(state.reserved_cents);
            if stored != budget {
                budget = stored; // changed since the caller read it: try the stored one
                continue;
            }
            if stored.is_some_and(|b| reserved + r.cost > b) {
                return Ok(WriteOutcome::Refused(Refusal::OverBudget { reserved, budget: stored }));
            }
            // It fits now (another write gave money back meanwhile): try again.
        }
        Err(Error::Retryable(format!("the budget of job {} keeps changing", w.job_id)))
    }
}
