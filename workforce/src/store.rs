//! Where the service keeps its state. The engine talks only to this trait so
//! that the memory store used locally can be swapped for a durable one (the
//! deployed private-workforce service will keep it in DynamoDB).
//!
//! The engine serialises every operation, so implementations need no
//! transactions of their own; a durable store will need conditional writes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::model::*;

/// One stored use of a UniqueRequestToken.
#[derive(Debug, Clone)]
pub struct TokenUse {
    pub used_ms: i64,
    /// The HIT the first request created or touched.
    pub hit_id: Option<String>,
    pub request_id: String,
}

pub trait Store: Send {
    fn hit_type(&self, id: &str) -> Option<HitType>;
    fn hit_type_by_key(&self, key: &HitTypeKey) -> Option<String>;
    fn put_hit_type(&mut self, t: HitType);

    fn hit(&self, id: &str) -> Option<Hit>;
    fn put_hit(&mut self, h: Hit);
    /// HITs in creation order after `after_seq`, that are not disposed.
    fn hits_after(&self, after_seq: Option<u64>, limit: usize) -> Vec<Hit>;
    /// HITs of one status in creation order after `after_seq`.
    fn hits_with_status(&self, status: HitStatus, after_seq: Option<u64>, limit: usize) -> Vec<Hit>;
    fn hit_count_by_status(&self) -> BTreeMap<HitStatus, usize>;
    fn next_seq(&mut self) -> u64;

    fn assignment(&self, id: &str) -> Option<Assignment>;
    fn put_assignment(&mut self, a: Assignment);
    fn assignments_of_hit(&self, hit_id: &str) -> Vec<Assignment>;
    fn worker_has_assignment(&self, worker_id: &str, hit_id: &str) -> bool;
    fn assignment_count_by_status(&self) -> BTreeMap<&'static str, usize>;

    fn token(&self, scope: &str, token: &str) -> Option<TokenUse>;
    fn put_token(&mut self, scope: &str, token: &str, used: TokenUse);

    fn account(&self) -> Account;
    fn put_account(&mut self, a: Account);

    fn block(&self, worker_id: &str) -> Option<String>;
    fn put_block(&mut self, worker_id: &str, reason: &str);
    fn delete_block(&mut self, worker_id: &str);
    fn blocks_after(&self, after: Option<u64>, limit: usize) -> Vec<(u64, String, String)>;

    fn qualification_type(&self, id: &str) -> Option<QualificationType>;
    fn qualification_type_by_name(&self, name: &str) -> Option<String>;
    fn put_qualification_type(&mut self, q: QualificationType);
    fn qualification(&self, type_id: &str, worker_id: &str) -> Option<Qualification>;
    fn put_qualification(&mut self, q: Qualification);

    fn put_bonus(&mut self, b: Bonus);
    fn bonuses(&self) -> Vec<Bonus>;
}

/// The in-memory store: everything in maps, gone when the process ends.
#[derive(Default)]
pub struct MemoryStore {
    seq: u64,
    hit_types: HashMap<String, HitType>,
    hit_type_keys: HashMap<HitTypeKey, String>,
    hits: HashMap<String, Hit>,
    hits_by_seq: BTreeMap<u64, String>,
    hits_by_status: BTreeSet<(HitStatus, u64)>,
    assignments: HashMap<String, Assignment>,
    assignments_by_hit: HashMap<String, Vec<String>>,
    worker_hits: HashSet<(String, String)>,
    tokens: HashMap<(String, String), TokenUse>,
    account: Account,
    blocks: BTreeMap<String, (u64, String)>,
    quals: HashMap<String, QualificationType>,
    qual_names: HashMap<String, String>,
    qualifications: HashMap<(String, String), Qualification>,
    bonuses: Vec<Bonus>,
}

impl MemoryStore {
    pub fn new(account: Account) -> Self {
        MemoryStore { account, ..Default::default() }
    }
}

impl Store for MemoryStore {
    fn hit_type(&self, id: &str) -> Option<HitType> {
        self.hit_types.get(id).cloned()
    }

    fn hit_type_by_key(&self, key: &HitTypeKey) -> Option<String> {
        self.hit_type_keys.get(key).cloned()
    }

    fn put_hit_type(&mut self, t: HitType) {
        self.hit_type_keys.insert(t.key.clone(), t.id.clone());
        self.hit_types.insert(t.id.clone(), t);
    }

    fn hit(&self, id: &str) -> Option<Hit> {
        self.hits.get(id).cloned()
    }

    fn put_hit(&mut self, h: Hit) {
        if let Some(old) = self.hits.get(&h.id) {
            self.hits_by_status.remove(&(old.status, old.seq));
        }
        self.hits_by_seq.insert(h.seq, h.id.clone());
        self.hits_by_status.insert((h.status, h.seq));
        self.hits.insert(h.id.clone(), h);
    }

    fn hits_after(&self, after_seq: Option<u64>, limit: usize) -> Vec<Hit> {
        let start = after_seq.map_or(0, |s| s + 1);
        self.hits_by_seq
            .range(start..)
            .filter_map(|(_, id)| self.hits.get(id))
            .filter(|h| h.status != HitStatus::Disposed)
            .take(limit)
            .cloned()
            .collect()
    }

    fn hits_with_status(&self, status: HitStatus, after_seq: Option<u64>, limit: usize) -> Vec<Hit> {
        let start = after_seq.map_or(0, |s| s + 1);
        self.hits_by_status
            .range((status, start)..=(status, u64::MAX))
            .filter_map(|(_, seq)| self.hits_by_seq.get(seq))
            .filter_map(|id| self.hits.get(id))
            .take(limit)
            .cloned()
            .collect()
    }

    fn hit_count_by_status(&self) -> BTreeMap<HitStatus, usize> {
        let mut counts = BTreeMap::new();
        for (status, _) in &self.hits_by_status {
            *counts.entry(*status).or_default() += 1;
        }
        counts
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn assignment(&self, id: &str) -> Option<Assignment> {
        self.assignments.get(id).cloned()
    }

    fn put_assignment(&mut self, a: Assignment) {
        if !self.assignments.contains_key(&a.id) {
            self.assignments_by_hit.entry(a.hit_id.clone()).or_default().push(a.id.clone());
            self.worker_hits.insert((a.worker_id.clone(), a.hit_id.clone()));
        }
        self.assignments.insert(a.id.clone(), a);
    }

    fn assignments_of_hit(&self, hit_id: &str) -> Vec<Assignment> {
        self.assignments_by_hit
            .get(hit_id)
            .map(|ids| ids.iter().filter_map(|id| self.assignments.get(id)).cloned().collect())
            .unwrap_or_default()
    }

    fn worker_has_assignment(&self, worker_id: &str, hit_id: &str) -> bool {
        self.worker_hits.contains(&(worker_id.to_string(), hit_id.to_string()))
    }

    fn assignment_count_by_status(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for a in self.assignments.values() {
            *counts.entry(a.status.as_str()).or_default() += 1;
        }
        counts
    }

    fn token(&self, scope: &str, token: &str) -> Option<TokenUse> {
        self.tokens.get(&(scope.to_string(), token.to_string())).cloned()
    }

    fn put_token(&mut self, scope: &str, token: &str, used: TokenUse) {
        self.tokens.insert((scope.to_string(), token.to_string()), used);
    }

    fn account(&self) -> Account {
        self.account
    }

    fn put_account(&mut self, a: Account) {
        self.account = a;
    }

    fn block(&self, worker_id: &str) -> Option<String> {
        self.blocks.get(worker_id).map(|(_, r)| r.clone())
    }

    fn put_block(&mut self, worker_id: &str, reason: &str) {
        self.seq += 1;
        self.blocks.insert(worker_id.to_string(), (self.seq, reason.to_string()));
    }

    fn delete_block(&mut self, worker_id: &str) {
        self.blocks.remove(worker_id);
    }

    fn blocks_after(&self, after: Option<u64>, limit: usize) -> Vec<(u64, String, String)> {
        let mut all: Vec<_> = self
            .blocks
            .iter()
            .filter(|(_, (seq, _))| after.is_none_or(|a| *seq > a))
            .map(|(w, (seq, r))| (*seq, w.clone(), r.clone()))
            .collect();
        all.sort();
        all.truncate(limit);
        all
    }

    fn qualification_type(&self, id: &str) -> Option<QualificationType> {
        self.quals.get(id).cloned()
    }

    fn qualification_type_by_name(&self, name: &str) -> Option<String> {
        self.qual_names.get(name).cloned()
    }

    fn put_qualification_type(&mut self, q: QualificationType) {
        self.qual_names.insert(q.name.clone(), q.id.clone());
        self.quals.insert(q.id.clone(), q);
    }

    fn qualification(&self, type_id: &str, worker_id: &str) -> Option<Qualification> {
        self.qualifications.get(&(type_id.to_string(), worker_id.to_string())).cloned()
    }

    fn put_qualification(&mut self, q: Qualification) {
        self.qualifications.insert((q.qualification_type_id.clone(), q.worker_id.clone()), q);
    }

    fn put_bonus(&mut self, b: Bonus) {
        self.bonuses.push(b);
    }

    fn bonuses(&self) -> Vec<Bonus> {
        self.bonuses.clone()
    }
}
