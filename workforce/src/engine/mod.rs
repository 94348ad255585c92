//! The MTurk service logic, independent of HTTP: operations, the HIT and
//! assignment lifecycles, money, and what falls due (expiry, deadlines,
//! auto-approval, auto-disposal).
//!
//! Every operation reads a snapshot through a [`Tx`], decides with the rules
//! below, and commits what it decided in one [`Changes`]; a commit refused
//! because a record changed meanwhile runs the operation again on a fresh
//! snapshot. No lock is held: the store's conditions settle races, so any
//! number of processes can serve one store. What is due is read from the
//! store (derived from the records' own moments), not kept in the engine.

mod assignments;
mod hits;
mod notifications;
mod people;
mod qualifications;
mod tx;
mod workers;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hitloop_core::money::{fees, Usd};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::store::{AccountDelta, CommitError, Due, DueKey, Store, StoreResult, TokenUse, Write};

pub use notifications::{Delivery, EventRecord, EVENT_TYPES};
pub use people::WorkerRecords;
pub use tx::Tx;
pub use workers::WorkerProfile;

pub const DAY_MS: i64 = 24 * 3600 * 1000;
/// UniqueRequestTokens are remembered this long.
pub const TOKEN_TTL_MS: i64 = DAY_MS;
pub use crate::store::AUTO_DISPOSE_AFTER_MS;

/// How many times an operation is decided again after losing a race before
/// the caller is told to retry (ServiceFault).
const MAX_ATTEMPTS: u32 = 12;

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
    /// Commits refused because a record changed: operations decided again.
    pub conflicts: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.hits_created += o.hits_created;
        self.assignments_accepted += o.assignments_accepted;
        self.assignments_submitted += o.assignments_submitted;
        self.assignments_approved += o.assignments_approved;
        self.assignments_auto_approved += o.assignments_auto_approved;
        self.assignments_rejected += o.assignments_rejected;
        self.events_emitted += o.events_emitted;
        self.conflicts += o.conflicts;
    }
}

pub struct EngineConfig {
    /// Seeds entity ids: fixed for a reproducible local run; None (a
    /// deployment, where several processes share one store) seeds from the
    /// OS so two processes never make the same ids.
    pub seed: Option<u64>,
    /// The requester's customer id in notification documents.
    pub customer_id: String,
    /// The AWS account in notification documents.
    pub account_id: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { seed: Some(1), customer_id: "A1HITLOOPLOCAL".into(), account_id: "123456789012".into() }
    }
}

/// Runs `$body` (an async expression using `$tx: &mut Tx`) as one
/// transaction of `$engine`, deciding again on a fresh snapshot while its
/// commit loses races.
macro_rules! transact {
    ($engine:expr, |$tx:ident| $body:expr) => {{
        let engine: &$crate::engine::Engine = $engine;
        let mut attempt = 0u32;
        loop {
            let mut tx = engine.begin();
            let out = {
                let $tx = &mut tx;
                $body.await
            };
            match engine.finish(tx, out, &mut attempt).await {
                ::std::ops::ControlFlow::Break(r) => break r,
                ::std::ops::ControlFlow::Continue(()) => continue,
            }
        }
    }};
}
pub(crate) use transact;

/// Where one pass over the due index stands: the entries it stepped past
/// (before `after`) and the one it did last.
#[derive(Debug, Default)]
pub struct DuePass {
    after: Option<DueKey>,
    last_done: Option<DueKey>,
}

pub struct Engine {
    store: Arc<dyn Store>,
    now_ms: AtomicI64,
    rng: Mutex<ChaCha8Rng>,
    tiebreak: std::sync::atomic::AtomicU64,
    notify: Option<UnboundedSender<Delivery>>,
    profiles: Mutex<HashMap<String, WorkerProfile>>,
    stats: Mutex<Stats>,
    pub customer_id: String,
    pub account_id: String,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, config: EngineConfig, now_ms: i64) -> Self {
        let rng = match config.seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => ChaCha8Rng::from_os_rng(),
        };
        Engine {
            store,
            now_ms: AtomicI64::new(now_ms),
            rng: Mutex::new(rng),
            tiebreak: std::sync::atomic::AtomicU64::new(0),
            notify: None,
            profiles: Mutex::new(HashMap::new()),
            stats: Mutex::new(Stats::default()),
            customer_id: config.customer_id,
            account_id: config.account_id,
        }
    }

    /// Where notification deliveries go (the dispatcher's channel).
    pub fn set_notifier(&mut self, tx: UnboundedSender<Delivery>) {
        self.notify = Some(tx);
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn stats(&self) -> Stats {
        locked(&self.stats).clone()
    }

    // ---- transactions -----------------------------------------------------

    /// A unit of work at the engine's now.
    pub fn begin(&self) -> Tx {
        Tx::new(self.store.clone(), self.now_ms())
    }

    /// Ends one attempt of a transaction: an error is returned as is (nothing
    /// was written), a decision is committed; a commit that lost a race asks
    /// for another attempt, a few times, then for the caller to retry.
    pub async fn finish<T>(&self, tx: Tx, out: ApiResult<T>, attempt: &mut u32) -> ControlFlow<ApiResult<T>> {
        let value = match out {
            Ok(v) => v,
            Err(e) => return ControlFlow::Break(Err(e)),
        };
        let (changes, stats) = tx.into_changes();
        if !changes.is_empty() {
            match self.store.commit(&changes).await {
                Ok(()) => {}
                Err(CommitError::Conflict) => {
                    locked(&self.stats).conflicts += 1;
                    *attempt += 1;
                    if *attempt >= MAX_ATTEMPTS {
                        tracing::warn!(attempts = *attempt, "gave up deciding again after lost races");
                        return ControlFlow::Break(Err(ApiError::service_fault()));
                    }
                    // Spread the racers out before they read again.
                    let pause = 1 + self.random_below(4u64 << (*attempt).min(5));
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                    return ControlFlow::Continue(());
                }
                Err(CommitError::Store(e)) => return ControlFlow::Break(Err(e.into())),
            }
        }
        locked(&self.stats).add(&stats);
        for d in changes.outbox {
            self.send(d);
        }
        ControlFlow::Break(Ok(value))
    }

    fn random_below(&self, n: u64) -> u64 {
        use rand::Rng;
        locked(&self.rng).random_range(0..n.max(1))
    }

    // ---- time ----------------------------------------------------------

    /// The earliest entry due by `t` that this pass has not stepped past.
    /// Doing an entry changes its record, which takes it out of the index;
    /// an entry still there after it was done (it failed) is stepped past,
    /// so that it cannot hold the pass up (the next pass tries it again).
    pub async fn due_by(&self, t: i64, pass: &mut DuePass) -> StoreResult<Option<(DueKey, Due)>> {
        loop {
            let next = self.store.next_due_after(pass.after.as_ref()).await?;
            match next {
                Some((key, _)) if pass.last_done.as_ref() == Some(&key) => pass.after = Some(key),
                next => return Ok(next.filter(|(k, _)| k.0 <= t)),
            }
        }
    }

    /// Does one due entry at its moment (or now, if that has passed).
    pub async fn do_due(&self, key: &DueKey, due: &Due, pass: &mut DuePass) {
        self.set_now(key.0);
        let r: ApiResult<()> = transact!(self, |tx| self.fire(tx, due));
        if let Err(e) = r {
            tracing::warn!(?due, error = %e, "could not do what was due");
        }
        pass.last_done = Some(key.clone());
    }

    /// Moves the clock to `t`, doing everything due by then in order (the
    /// scheduled function's pass, and the local marketplace's clock).
    pub async fn advance_to(&self, t: i64) -> StoreResult<()> {
        let mut pass = DuePass::default();
        while let Some((key, due)) = self.due_by(t, &mut pass).await? {
            self.do_due(&key, &due, &mut pass).await;
        }
        self.set_now(t);
        Ok(())
    }

    /// Sets the clock without doing what is due (the caller does it); it
    /// never moves back.
    pub fn set_now(&self, t: i64) {
        self.now_ms.fetch_max(t, Ordering::SeqCst);
    }

    async fn fire(&self, tx: &mut Tx, due: &Due) -> ApiResult<()> {
        match due {
            Due::HitExpiry(id) => self.on_hit_expiry(tx, id).await,
            Due::AssignmentDeadline(id) => self.on_deadline(tx, id).await,
            Due::AutoApprove(id) => self.on_auto_approve(tx, id).await,
            Due::AutoDispose(id) => self.on_auto_dispose(tx, id).await,
        }
    }

    // ---- shared helpers --------------------------------------------------

    fn next_tiebreak(&self) -> u64 {
        self.tiebreak.fetch_add(1, Ordering::SeqCst)
    }

    fn new_id(&self) -> String {
        crate::ids::entity_id(&mut *locked(&self.rng))
    }

    /// A HIT the requester can still see (not disposed).
    async fn live_hit(&self, tx: &mut Tx, id: &str) -> ApiResult<Hit> {
        match tx.hit(id).await? {
            Some(h) if h.status != HitStatus::Disposed => Ok(h),
            _ => Err(ApiError::hit_does_not_exist(id)),
        }
    }

    /// A HIT an operation is about to change, with what fell due for it done
    /// first in the same commit, as the pass would have done it: its overdue
    /// assignments abandoned and its expiry handled, in the order they fell
    /// due (with their notifications). The pass then finds nothing left.
    async fn current_hit(&self, tx: &mut Tx, id: &str) -> ApiResult<Hit> {
        let hit = self.live_hit(tx, id).await?;
        let now = tx.now_ms;
        let mut due: Vec<(i64, Option<String>)> =
            hit.overdue(now).into_iter().map(|(at, assignment)| (at, Some(assignment))).collect();
        if hit.is_expired(now) && hit.expiry_handled_ms != Some(hit.expiration_ms) {
            due.push((hit.expiration_ms, None));
        }
        if due.is_empty() {
            return Ok(hit);
        }
        due.sort();
        for (_, what) in due {
            match what {
                Some(assignment) => self.on_deadline(tx, &assignment).await?,
                None => self.on_hit_expiry(tx, id).await?,
            }
        }
        self.live_hit(tx, id).await
    }

    async fn hit_type_of(&self, tx: &mut Tx, hit: &Hit) -> ApiResult<HitType> {
        tx.hit_type(&hit.hit_type_id).await?.ok_or_else(ApiError::service_fault)
    }

    /// What approving one assignment of this HIT costs.
    async fn unit_cost(&self, tx: &mut Tx, hit: &Hit) -> ApiResult<Usd> {
        Ok(match tx.hit_type(&hit.hit_type_id).await? {
            Some(t) => fees::assignment_cost(t.reward, hit.max_assignments, t.requires_masters()),
            None => Usd::ZERO,
        })
    }

    /// Recomputes a HIT's status and liability after any change, emits
    /// HITReviewable on entering Reviewable, and writes it. An expiry that
    /// has passed unrecorded is recorded first (HITExpired), whichever
    /// commit gets there first: the pass, or an operation on the HIT.
    async fn settle(&self, tx: &mut Tx, hit: &mut Hit) -> ApiResult<()> {
        let now = tx.now_ms;
        if hit.status != HitStatus::Disposed {
            if hit.is_expired(now) && hit.expiry_handled_ms != Some(hit.expiration_ms) {
                hit.expiry_handled_ms = Some(hit.expiration_ms);
                if hit.max_assignments > hit.submitted + hit.approved + hit.rejected {
                    self.emit(tx, "HITExpired", hit, None).await?;
                }
            }
            let next = hit.status_at(now);
            let entered_reviewable = next == HitStatus::Reviewable && hit.status != HitStatus::Reviewable;
            hit.status = next;
            if entered_reviewable {
                self.emit(tx, "HITReviewable", hit, None).await?;
            }
        }
        let liability = if hit.status == HitStatus::Disposed {
            Usd::ZERO
        } else {
            self.unit_cost(tx, hit).await?.times(hit.pending_at(now) + hit.submitted + hit.available(now))
        };
        if liability != hit.liability {
            tx.move_money(AccountDelta { on_hold: liability - hit.liability, ..Default::default() });
        }
        hit.liability = liability;
        tx.put_hit(hit.clone());
        Ok(())
    }

    /// Refuses a UniqueRequestToken used in the last 24 hours.
    async fn check_token(&self, tx: &mut Tx, scope: &str, token: Option<&str>) -> ApiResult<()> {
        let Some(token) = token else { return Ok(()) };
        if let Some(used) = tx.store().token(scope, token).await? {
            if tx.now_ms - used.used_ms < TOKEN_TTL_MS {
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

    /// Records a token's use in the operation's commit, which holds only if
    /// no other request used it in the last 24 hours meanwhile.
    fn remember_token(&self, tx: &mut Tx, scope: &str, token: Option<&str>, hit_id: Option<&str>) {
        if let Some(token) = token {
            let request_id = uuid::Uuid::new_v4().to_string();
            let used = TokenUse { used_ms: tx.now_ms, hit_id: hit_id.map(str::to_string), request_id };
            tx.push(Write::Token {
                scope: scope.into(),
                token: token.into(),
                used,
                free_before_ms: tx.now_ms - TOKEN_TTL_MS,
            });
        }
    }

    fn charge(&self, tx: &mut Tx, cost: Usd) {
        tx.move_money(AccountDelta { spent: cost, ..Default::default() });
    }

    /// Funds left once payments are made: what an approval can draw on.
    async fn unspent(&self, tx: &mut Tx) -> ApiResult<Usd> {
        let a = tx.account().await?;
        Ok(a.funds - a.spent)
    }

    /// Money paid into the account (the requester topping it up).
    pub async fn deposit(&self, amount: Usd) -> ApiResult<()> {
        transact!(self, |tx| async {
            tx.move_money(AccountDelta { funds: amount, ..Default::default() });
            Ok(())
        })
    }

    /// A summary of the whole state, for the control endpoint.
    pub async fn summary(&self) -> StoreResult<Value> {
        let account = self.store.account().await?;
        let hits: serde_json::Map<String, Value> = self
            .store
            .hit_count_by_status()
            .await?
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n.into()))
            .collect();
        let assignments: serde_json::Map<String, Value> = self
            .store
            .assignment_count_by_status()
            .await?
            .into_iter()
            .map(|(s, n)| (s.to_string(), n.into()))
            .collect();
        Ok(serde_json::json!({
            "Now": self.now_ms(),
            "Account": {
                "Funds": account.funds,
                "Spent": account.spent,
                "OnHold": account.on_hold,
                "Available": account.available(),
            },
            "HITs": hits,
            "Assignments": assignments,
            "Stats": self.stats(),
            "PendingTimers": self.store.due_count().await?,
        }))
    }
}
