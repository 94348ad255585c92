//! The MTurk service logic, independent of HTTP: operations, the HIT and
//! assignment lifecycles, money, and what falls due (expiry, deadlines,
//! auto-approval, auto-disposal) on the simulated clock.
//!
//! Every operation runs with `&mut Engine` under one lock, at the simulated
//! time `now_ms`, after everything due by then has been done. What is due is
//! read from the store (derived from the records' own moments), not kept in
//! the engine.

mod assignments;
mod hits;
mod notifications;
mod workers;

use std::collections::HashMap;

use hitloop_core::money::{fees, Usd};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::store::{Due, DueKey, Store, TokenUse};

pub use notifications::{Delivery, EventRecord, EVENT_TYPES};
pub use workers::WorkerProfile;

pub const DAY_MS: i64 = 24 * 3600 * 1000;
/// UniqueRequestTokens are remembered this long.
pub const TOKEN_TTL_MS: i64 = DAY_MS;
pub use crate::store::AUTO_DISPOSE_AFTER_MS;

/// Counters for the control endpoint and the tests.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub hits_created: u64,
    pub assignments_accepted: u64,
    pub assignments_submitted: u64,
    pub assignments_approved: u64,
    pub assignments_auto_approved: u64,
    pub assignments_rejected: u64,
    pub events_emitted: u64,
}

pub struct EngineConfig {
    pub balance: Usd,
    pub seed: u64,
    /// The requester's customer id in notification documents.
    pub customer_id: String,
    /// The AWS account in notification documents.
    pub account_id: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            balance: Usd::from_cents(1_000_000),
            seed: 1,
            customer_id: "A1HITLOOPLOCAL".into(),
            account_id: "123456789012".into(),
        }
    }
}

pub struct Engine {
    store: Box<dyn Store>,
    now_ms: i64,
    rng: ChaCha8Rng,
    /// The last due entry done: the clock only moves forward, so the next
    /// is after it (an entry that became due at an earlier moment since is
    /// placed after it too, by the order it became due in).
    done_through: Option<DueKey>,
    notify: Option<UnboundedSender<Delivery>>,
    profiles: HashMap<String, WorkerProfile>,
    pub stats: Stats,
    pub customer_id: String,
    pub account_id: String,
}

impl Engine {
    pub fn new(store: Box<dyn Store>, config: EngineConfig, now_ms: i64) -> Self {
        let mut store = store;
        let mut account = store.account();
        account.funds = config.balance;
        store.put_account(account);
        Engine {
            store,
            now_ms,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            done_through: None,
            notify: None,
            profiles: HashMap::new(),
            stats: Stats::default(),
            customer_id: config.customer_id,
            account_id: config.account_id,
        }
    }

    /// Where notification deliveries go (the dispatcher's channel).
    pub fn set_notifier(&mut self, tx: UnboundedSender<Delivery>) {
        self.notify = Some(tx);
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    // ---- time ----------------------------------------------------------

    /// When the next thing is due, if anything is.
    pub fn next_due(&self) -> Option<i64> {
        self.store.next_due_after(self.done_through).map(|((at, _), _)| at)
    }

    /// Does the earliest thing due (at its own time, or now if that passed).
    pub fn fire_next(&mut self) {
        if let Some((key, due)) = self.store.next_due_after(self.done_through) {
            self.done_through = Some(key);
            self.now_ms = self.now_ms.max(key.0);
            self.fire(due);
        }
    }

    /// Moves the clock to `t`, doing everything due by then in order.
    pub fn advance_to(&mut self, t: i64) {
        while self.next_due().is_some_and(|due| due <= t) {
            self.fire_next();
        }
        self.set_now(t);
    }

    /// Sets the clock without doing what is due (the caller does it).
    pub fn set_now(&mut self, t: i64) {
        self.now_ms = self.now_ms.max(t);
    }

    fn fire(&mut self, due: Due) {
        match due {
            Due::HitExpiry(id) => self.on_hit_expiry(&id),
            Due::AssignmentDeadline(id) => self.on_deadline(&id),
            Due::AutoApprove(id) => self.on_auto_approve(&id),
            Due::AutoDispose(id) => self.on_auto_dispose(&id),
        }
    }

    // ---- shared helpers --------------------------------------------------

    fn new_id(&mut self) -> String {
        crate::ids::entity_id(&mut self.rng)
    }

    /// A HIT the requester can still see (not disposed).
    fn live_hit(&self, id: &str) -> ApiResult<Hit> {
        match self.store.hit(id) {
            Some(h) if h.status != HitStatus::Disposed => Ok(h),
            _ => Err(ApiError::hit_does_not_exist(id)),
        }
    }

    fn hit_type_of(&self, hit: &Hit) -> ApiResult<HitType> {
        self.store.hit_type(&hit.hit_type_id).ok_or_else(ApiError::service_fault)
    }

    /// What approving one assignment of this HIT costs.
    fn unit_cost(&self, hit: &Hit) -> Usd {
        match self.store.hit_type(&hit.hit_type_id) {
            Some(t) => fees::assignment_cost(t.reward, hit.max_assignments, t.requires_masters()),
            None => Usd::ZERO,
        }
    }

    /// Recomputes a HIT's status and liability after any change, emits
    /// HITReviewable on entering Reviewable, and stores it.
    fn settle(&mut self, hit: &mut Hit) {
        let now = self.now_ms;
        if hit.status != HitStatus::Disposed {
            let available = hit.available(now);
            let next = if available > 0 {
                HitStatus::Assignable
            } else if hit.pending > 0 {
                HitStatus::Unassignable
            } else if hit.status == HitStatus::Reviewing {
                HitStatus::Reviewing
            } else {
                HitStatus::Reviewable
            };
            let entered_reviewable = next == HitStatus::Reviewable && hit.status != HitStatus::Reviewable;
            hit.status = next;
            if entered_reviewable {
                self.emit("HITReviewable", hit, None);
            }
        }
        let liability = if hit.status == HitStatus::Disposed {
            Usd::ZERO
        } else {
            self.unit_cost(hit).times(hit.pending + hit.submitted + hit.available(now))
        };
        let mut account = self.store.account();
        account.on_hold = account.on_hold - hit.liability + liability;
        self.store.put_account(account);
        hit.liability = liability;
        self.store.put_hit(hit.clone());
    }

    /// Refuses a UniqueRequestToken used in the last 24 hours.
    fn check_token(&self, scope: &str, token: Option<&str>) -> ApiResult<()> {
        let Some(token) = token else { return Ok(()) };
        if let Some(used) = self.store.token(scope, token) {
            if self.now_ms - used.used_ms < TOKEN_TTL_MS {
                let mut message = format!("The idempotency token \"{token}\" has already been processed.");
                match &used.hit_id {
                    Some(hit) if scope == "CreateHIT" => {
                        message.push_str(&format!(" The HIT created with it is {hit}."))
                    }
                    _ => message.push_str(&format!(" Request ID: {}.", used.request_id)),
                }
                let code = if scope == "CreateHIT" {
                    "AWS.MechanicalTurk.HitAlreadyExists"
                } else {
                    "AWS.MechanicalTurk.DuplicateRequest"
                };
                return Err(ApiError::request(code, message));
            }
        }
        Ok(())
    }

    fn remember_token(&mut self, scope: &str, token: Option<&str>, hit_id: Option<&str>) {
        if let Some(token) = token {
            let request_id = uuid::Uuid::new_v4().to_string();
            let used = TokenUse { used_ms: self.now_ms, hit_id: hit_id.map(str::to_string), request_id };
            self.store.put_token(scope, token, used);
        }
    }

    fn charge(&mut self, cost: Usd) {
        let mut account = self.store.account();
        account.spent += cost;
        self.store.put_account(account);
    }

    /// Funds left once payments are made: what an approval can draw on.
    fn unspent(&self) -> Usd {
        let a = self.store.account();
        a.funds - a.spent
    }

    /// Money paid into the account (the requester topping it up).
    pub fn deposit(&mut self, amount: Usd) {
        let mut account = self.store.account();
        account.funds += amount;
        self.store.put_account(account);
    }

    /// A summary of the whole state, for the control endpoint.
    pub fn summary(&self) -> Value {
        let account = self.store.account();
        let hits: serde_json::Map<String, Value> =
            self.store.hit_count_by_status().into_iter().map(|(s, n)| (s.as_str().to_string(), n.into())).collect();
        let assignments: serde_json::Map<String, Value> =
            self.store.assignment_count_by_status().into_iter().map(|(s, n)| (s.to_string(), n.into())).collect();
        serde_json::json!({
            "Now": self.now_ms,
            "Account": {
                "Funds": account.funds,
                "Spent": account.spent,
                "OnHold": account.on_hold,
                "Available": account.available(),
            },
            "HITs": hits,
            "Assignments": assignments,
            "Stats": self.stats,
            "PendingTimers": self.store.due_count(),
        })
    }
}
