//! One operation's unit of work: what it read (with the versions it read
//! them at), what it decided to write, the money it moves and the
//! notifications it sends. Reads see the operation's own writes; nothing
//! reaches the store until [`Tx::into_changes`] is committed, all at once.

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::{Delivery, Stats};
use crate::model::*;
use crate::store::{AccountDelta, Changes, Store, StoreResult, Versioned, Write};

/// A record as read and as this operation left it.
struct Slot<T> {
    prior: Option<T>,
    current: Option<T>,
    written: bool,
}

/// Which record a write is, to keep writes in the order first made.
#[derive(Clone)]
enum Written {
    Hit(String),
    Assignment(String),
    HitType(String),
    Other(usize),
}

pub struct Tx {
    store: Arc<dyn Store>,
    /// The moment the operation decides at.
    pub now_ms: i64,
    hit_types: HashMap<String, Option<HitType>>,
    new_hit_types: HashMap<String, bool>,
    hits: HashMap<String, Slot<Hit>>,
    assignments: HashMap<String, Slot<Assignment>>,
    account: Option<Account>,
    delta: AccountDelta,
    others: Vec<Write>,
    order: Vec<Written>,
    deliveries: Vec<Delivery>,
    /// What this operation counts once it holds.
    pub stats: Stats,
}

impl Tx {
    pub fn new(store: Arc<dyn Store>, now_ms: i64) -> Self {
        Tx {
            store,
            now_ms,
            hit_types: HashMap::new(),
            new_hit_types: HashMap::new(),
            hits: HashMap::new(),
            assignments: HashMap::new(),
            account: None,
            delta: AccountDelta::default(),
            others: Vec::new(),
            order: Vec::new(),
            deliveries: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// The store, for reads no write depends on (listings).
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub async fn hit_type(&mut self, id: &str) -> StoreResult<Option<HitType>> {
        if let Some(t) = self.hit_types.get(id) {
            return Ok(t.clone());
        }
        let t = self.store.hit_type(id).await?;
        self.hit_types.insert(id.to_string(), t.clone());
        Ok(t)
    }

    /// Writes a HIT type: `new` one (its id and key unused), or new settings.
    pub fn put_hit_type(&mut self, t: HitType, new: bool) {
        // A type created and then changed in one operation is still new.
        if !self.new_hit_types.contains_key(&t.id) {
            self.new_hit_types.insert(t.id.clone(), new);
            self.order.push(Written::HitType(t.id.clone()));
        }
        self.hit_types.insert(t.id.clone(), Some(t));
    }

    pub async fn hit(&mut self, id: &str) -> StoreResult<Option<Hit>> {
        if let Some(s) = self.hits.get(id) {
            return Ok(s.current.clone());
        }
        let h = self.store.hit(id).await?;
        self.hits.insert(id.to_string(), Slot { prior: h.clone(), current: h.clone(), written: false });
        Ok(h)
    }

    /// Writes a HIT: conditioned on the version read (or on there being
    /// none, for a HIT this operation did not read).
    pub fn put_hit(&mut self, h: Hit) {
        let slot = self.hits.entry(h.id.clone()).or_insert(Slot { prior: None, current: None, written: false });
        if !slot.written {
            slot.written = true;
            self.order.push(Written::Hit(h.id.clone()));
        }
        slot.current = Some(h);
    }

    pub async fn assignment(&mut self, id: &str) -> StoreResult<Option<Assignment>> {
        if let Some(s) = self.assignments.get(id) {
            return Ok(s.current.clone());
        }
        let a = self.store.assignment(id).await?;
        self.assignments.insert(id.to_string(), Slot { prior: a.clone(), current: a.clone(), written: false });
        Ok(a)
    }

    pub fn put_assignment(&mut self, a: Assignment) {
        let slot = self.assignments.entry(a.id.clone()).or_insert(Slot { prior: None, current: None, written: false });
        if !slot.written {
            slot.written = true;
            self.order.push(Written::Assignment(a.id.clone()));
        }
        slot.current = Some(a);
    }

    /// The account as this operation leaves it so far.
    pub async fn account(&mut self) -> StoreResult<Account> {
        let read = match self.account {
            Some(a) => a,
            None => {
                let a = self.store.account().await?;
                self.account = Some(a);
                a
            }
        };
        Ok(self.delta.applied_to(read))
    }

    pub fn move_money(&mut self, d: AccountDelta) {
        self.delta = AccountDelta {
            funds: self.delta.funds + d.funds,
            spent: self.delta.spent + d.spent,
            on_hold: self.delta.on_hold + d.on_hold,
        };
    }

    /// Any other write (markers, tokens, blocks, qualifications, bonuses).
    pub fn push(&mut self, w: Write) {
        self.order.push(Written::Other(self.others.len()));
        self.others.push(w);
    }

    pub fn deliver(&mut self, d: Delivery) {
        self.deliveries.push(d);
    }

    /// What to commit, and what to count once it holds.
    pub fn into_changes(mut self) -> (Changes, Stats) {
        let mut writes = Vec::with_capacity(self.order.len());
        for w in std::mem::take(&mut self.order) {
            match w {
                Written::Hit(id) => {
                    if let Some(Slot { prior, current: Some(mut record), .. }) = self.hits.remove(&id) {
                        record.version = prior.as_ref().map_or(1, |p| p.version + 1);
                        writes.push(Write::Hit(Versioned { record, prior }));
                    }
                }
                Written::Assignment(id) => {
                    if let Some(Slot { prior, current: Some(mut record), .. }) = self.assignments.remove(&id) {
                        record.version = prior.as_ref().map_or(1, |p| p.version + 1);
                        writes.push(Write::Assignment(Versioned { record, prior }));
                    }
                }
                Written::HitType(id) => {
                    if let Some(Some(record)) = self.hit_types.remove(&id) {
                        let new = self.new_hit_types.get(&id).copied().unwrap_or(false);
                        writes.push(Write::HitType { record, new });
                    }
                }
                Written::Other(i) => {
                    if let Some(w) = self.others.get(i) {
                        writes.push(w.clone());
                    }
                }
            }
        }
        (Changes { writes, account: self.delta, outbox: self.deliveries }, self.stats)
    }
}
