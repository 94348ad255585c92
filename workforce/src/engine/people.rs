//! The people who work: what each did and is owed (`figures`), the bonuses
//! paid them (ListBonusPayments) and the messages sent them (NotifyWorkers,
//! shown on their "My work" page).

use std::collections::{BTreeSet, HashMap};

use hitloop_core::money::Usd;
use serde_json::{json, Value};

use super::{Engine, Tx};
use crate::error::{ApiError, ApiResult};
use crate::figures::{figures_of, Window, WorkerFigures};
use crate::model::*;
use crate::params::{encode_token, Params};
use crate::store::{StoreResult, Write, MESSAGE_KEPT_MS};
use crate::{ids, wire};

/// One worker's records as read at `now_ms`.
pub struct WorkerRecords {
    pub worker_id: String,
    /// In the order they were accepted.
    pub assignments: Vec<Assignment>,
    bonuses: Vec<Bonus>,
    /// Rewards of HITs whose assignments do not keep theirs.
    rewards: HashMap<String, Usd>,
    now_ms: i64,
}

impl WorkerRecords {
    pub fn figures(&self, window: Window) -> WorkerFigures {
        let reward_of = |a: &Assignment| a.reward.or_else(|| self.rewards.get(&a.hit_id).copied()).unwrap_or_default();
        figures_of(&self.worker_id, &self.assignments, &self.bonuses, reward_of, window, self.now_ms)
    }
}

/// At most this many workers per NotifyWorkers call, as on MTurk.
const NOTIFY_MAX_WORKERS: usize = 100;

impl Engine {
    /// One worker's figures in `window`, as they read now.
    pub async fn worker_figures(&self, worker_id: &str, window: Window) -> StoreResult<WorkerFigures> {
        Ok(self.worker_records(worker_id).await?.figures(window))
    }

    /// A worker's assignments and bonuses, read once: their figures in any
    /// window and their assignment list come from it.
    pub async fn worker_records(&self, worker_id: &str) -> StoreResult<WorkerRecords> {
        let assignments = self.store.assignments_of_worker(worker_id).await?;
        let bonuses = self.store.bonuses_of_worker(worker_id).await?;
        let rewards = self.rewards_of(&assignments).await?;
        Ok(WorkerRecords { worker_id: worker_id.to_string(), assignments, bonuses, rewards, now_ms: self.now_ms() })
    }

    /// The rewards of the HITs of assignments written before assignments
    /// kept their reward (one read of each such HIT and its type).
    async fn rewards_of(&self, assignments: &[Assignment]) -> StoreResult<HashMap<String, Usd>> {
        let mut rewards = HashMap::new();
        for a in assignments.iter().filter(|a| a.reward.is_none()) {
            if !rewards.contains_key(&a.hit_id) {
                let reward = self.hit_and_type(&a.hit_id).await?.map(|(_, t)| t.reward).unwrap_or_default();
                rewards.insert(a.hit_id.clone(), reward);
            }
        }
        Ok(rewards)
    }

    /// Every worker's figures in `window`, by worker id; with
    /// `active_only`, only those with something in the window.
    pub async fn all_worker_figures(&self, window: Window, active_only: bool) -> StoreResult<Vec<WorkerFigures>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.workers(after.as_deref(), 100).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (_, worker) in &page {
                let f = self.worker_figures(worker, window).await?;
                if !active_only || !f.is_empty() {
                    out.push(f);
                }
            }
        }
        Ok(out)
    }

    /// A worker's messages still kept, newest first.
    pub async fn worker_messages(&self, worker_id: &str) -> StoreResult<Vec<WorkerMessage>> {
        self.store.messages_of_worker(worker_id, self.now_ms() - MESSAGE_KEPT_MS).await
    }

    // ---- requester operations ----------------------------------------------

    /// The bonuses paid for one assignment or for a HIT's assignments,
    /// oldest first.
    pub async fn list_bonus_payments(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let hit_id = p.opt_str("HITId")?;
        let assignment_id = p.opt_str("AssignmentId")?;
        let limit = p.max_results()?;
        let after = p.next_token()?;
        let assignments = match (hit_id, assignment_id) {
            (Some(h), None) => {
                self.live_hit(tx, h).await?;
                tx.store().assignments_of_hit(h).await?
            }
            (None, Some(a)) => {
                let found = tx.assignment(a).await?.filter(|a| a.status.is_visible());
                vec![found.ok_or_else(|| ApiError::assignment_does_not_exist(a))?]
            }
            _ => return Err(ApiError::validation("Exactly one of HITId and AssignmentId is required.")),
        };
        let wanted: BTreeSet<&str> = assignments.iter().map(|a| a.id.as_str()).collect();
        let workers: BTreeSet<&str> = assignments.iter().map(|a| a.worker_id.as_str()).collect();
        let mut paid = Vec::new();
        for w in workers {
            let bonuses = tx.store().bonuses_of_worker(w).await?;
            paid.extend(bonuses.into_iter().filter(|b| wanted.contains(b.assignment_id.as_str())));
        }
        let cursor = |b: &Bonus| format!("{:013}#{}", b.granted_ms, b.id);
        paid.sort_by_key(|b| cursor(b));
        let mut rows: Vec<Bonus> = paid.into_iter().filter(|b| after.is_none_or(|c| cursor(b).as_str() > c)).collect();
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(|b| encode_token(&cursor(b))) } else { None };
        Ok(wire::page("BonusPayments", rows.iter().map(wire::bonus_payment).collect(), next))
    }

    /// A message to each worker, shown on their "My work" page (hitloop
    /// sends no e-mail). As on MTurk, a worker who has never worked for
    /// this account is not reached: a failure status, not an error.
    pub async fn notify_workers(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let subject = p.str_len("Subject", 1, 200)?;
        let text = p.str_len("MessageText", 1, 4096)?;
        let workers = p.opt_array("WorkerIds")?.ok_or_else(|| ApiError::validation("WorkerIds is required."))?;
        if workers.is_empty() || workers.len() > NOTIFY_MAX_WORKERS {
            return Err(ApiError::validation(format!(
                "WorkerIds must name between 1 and {NOTIFY_MAX_WORKERS} workers."
            )));
        }
        let mut failures = Vec::new();
        let mut reached = BTreeSet::new();
        for w in workers {
            let Some(w) = w.as_str().filter(|w| ids::is_worker_id(w)) else {
                let named = w.as_str().map_or_else(|| w.to_string(), str::to_string);
                failures.push(failure("HardFailure", "The WorkerId is not valid.", &named));
                continue;
            };
            if !tx.store().has_worked(w).await? {
                failures.push(failure("HardFailure", "This worker has not worked on your HITs.", w));
            } else if reached.insert(w) {
                tx.push(Write::Message(WorkerMessage {
                    id: self.new_id(),
                    worker_id: w.into(),
                    sent_ms: tx.now_ms,
                    subject: subject.into(),
                    text: text.into(),
                }));
            }
        }
        Ok(json!({ "NotifyWorkersFailureStatuses": failures }))
    }
}

fn failure(code: &str, message: &str, worker: &str) -> Value {
    json!({ "NotifyWorkersFailureCode": code, "NotifyWorkersFailureMessage": message, "WorkerId": worker })
}
