//! Where the service keeps its state. The engine talks only to this trait so
//! that the memory store used locally can be swapped for a durable one (the
//! deployed private-workforce service will keep it in DynamoDB).
//!
//! The engine serialises every operation, so implementations need no
//! transactions of their own; a durable store will need conditional writes.
//!
//! Time lives in the records, not in a process: when a HIT expires or is
//! disposed of, when an assignment is abandoned or approved automatically
//! follows from the record itself (`due_of_hit`, `due_of_assignment`), and a
//! store keeps those moments as an index (`next_due_after`) that the engine
//! works through as its clock moves. Nothing is scheduled; a record that
//! changes changes what is due.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::model::*;

/// HITs are disposed of automatically this long after they expire.
pub const AUTO_DISPOSE_AFTER_MS: i64 = 120 * 24 * 3600 * 1000;

/// Something the engine must do at a moment a record names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Due {
    HitExpiry(String),
    AssignmentDeadline(String),
    AutoApprove(String),
    AutoDispose(String),
}

/// A due entry's place in the index: its moment, then the order it became
/// due in (so entries of one moment run in the order their records asked).
pub type DueKey = (i64, u64);

/// What a HIT has due: its expiry (until handled) and its disposal, unless
/// it is disposed of already.
pub fn due_of_hit(h: &Hit) -> Vec<(i64, Due)> {
    if h.status == HitStatus::Disposed {
        return vec![];
    }
    let mut due = Vec::with_capacity(2);
    if h.expiry_handled_ms != Some(h.expiration_ms) {
        due.push((h.expiration_ms, Due::HitExpiry(h.id.clone())));
    }
    due.push((h.expiration_ms + AUTO_DISPOSE_AFTER_MS, Due::AutoDispose(h.id.clone())));
    due
}

/// What an assignment has due: its deadline while accepted, its automatic
/// approval while submitted.
pub fn due_of_assignment(a: &Assignment) -> Vec<(i64, Due)> {
    match (a.status, a.auto_approval_ms) {
        (AssignmentStatus::Accepted, _) => vec![(a.deadline_ms, Due::AssignmentDeadline(a.id.clone()))],
        (AssignmentStatus::Submitted, Some(at)) => vec![(at, Due::AutoApprove(a.id.clone()))],
        _ => vec![],
    }
}

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

    /// The first entry due after `after` (everything when None).
    fn next_due_after(&self, after: Option<DueKey>) -> Option<(DueKey, Due)>;
    fn due_count(&self) -> usize;
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
    due: DueIndex,
}

impl MemoryStore {
    pub fn new(account: Account) -> Self {
        MemoryStore { account, ..Default::default() }
    }
}

/// The memory store's index of what is due, kept from the records.
#[derive(Default)]
struct DueIndex {
    entries: BTreeMap<DueKey, Due>,
    /// Each record's entries, to replace them when the record changes.
    of_record: HashMap<Due, DueKey>,
    order: u64,
}

impl DueIndex {
    /// Makes the index hold exactly `now_due` among `candidates` (the
    /// entries a record can have); an entry that stays keeps its place.
    fn set(&mut self, candidates: &[Due], now_due: Vec<(i64, Due)>) {
        for c in candidates {
            let keep = now_due.iter().any(|(at, d)| d == c && self.of_record.get(c).is_some_and(|k| k.0 == *at));
            if !keep {
                if let Some(key) = self.of_record.remove(c) {
                    self.entries.remove(&key);
                }
            }
        }
        for (at, due) in now_due {
            if !self.of_record.contains_key(&due) {
                self.order += 1;
                let key = (at, self.order);
                self.of_record.insert(due.clone(), key);
                self.entries.insert(key, due);
            }
        }
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
        self.due.set(&[Due::HitExpiry(h.id.clone()), Due::AutoDispose(h.id.clone())], due_of_hit(&h));
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
        self.due.set(&[Due::AssignmentDeadline(a.id.clone()), Due::AutoApprove(a.id.clone())], due_of_assignment(&a));
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

    fn next_due_after(&self, after: Option<DueKey>) -> Option<(DueKey, Due)> {
        let mut range = match after {
            Some(key) => self.due.entries.range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded)),
            None => self.due.entries.range(..),
        };
        range.next().map(|(k, d)| (*k, d.clone()))
    }

    fn due_count(&self) -> usize {
        self.due.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hitloop_core::money::Usd;

    fn hit(id: &str, expiration_ms: i64) -> Hit {
        Hit {
            id: id.into(),
            seq: 1,
            hit_type_id: "T".into(),
            created_ms: 0,
            expiration_ms,
            expiry_handled_ms: None,
            question: String::new(),
            requester_annotation: None,
            max_assignments: 1,
            status: HitStatus::Assignable,
            pending: 0,
            submitted: 0,
            approved: 0,
            rejected: 0,
            liability: Usd::ZERO,
            disposed_ms: None,
        }
    }

    fn assignment(status: AssignmentStatus, auto: Option<i64>) -> Assignment {
        Assignment {
            id: "A".into(),
            seq: 1,
            hit_id: "H".into(),
            worker_id: "W".into(),
            status,
            accept_ms: 0,
            deadline_ms: 600,
            submit_ms: None,
            auto_approval_ms: auto,
            approval_ms: None,
            rejection_ms: None,
            answer: None,
            requester_feedback: None,
        }
    }

    #[test]
    fn what_a_record_has_due_follows_from_the_record() {
        let mut h = hit("H", 1_000);
        assert_eq!(
            due_of_hit(&h),
            vec![(1_000, Due::HitExpiry("H".into())), (1_000 + AUTO_DISPOSE_AFTER_MS, Due::AutoDispose("H".into()))]
        );
        h.expiry_handled_ms = Some(1_000);
        assert_eq!(due_of_hit(&h).len(), 1, "only its disposal once its expiry is handled");
        h.status = HitStatus::Disposed;
        assert!(due_of_hit(&h).is_empty());

        assert_eq!(
            due_of_assignment(&assignment(AssignmentStatus::Accepted, None)),
            vec![(600, Due::AssignmentDeadline("A".into()))]
        );
        assert_eq!(
            due_of_assignment(&assignment(AssignmentStatus::Submitted, Some(900))),
            vec![(900, Due::AutoApprove("A".into()))]
        );
        assert!(due_of_assignment(&assignment(AssignmentStatus::Approved, Some(900))).is_empty());
        assert!(due_of_assignment(&assignment(AssignmentStatus::Returned, None)).is_empty());
    }

    #[test]
    fn the_index_follows_the_records_and_keeps_an_unchanged_entry_in_place() {
        let mut store = MemoryStore::default();
        store.put_hit(hit("H1", 1_000));
        store.put_hit(hit("H2", 1_000));
        let first = store.next_due_after(None).unwrap();
        assert_eq!(first.1, Due::HitExpiry("H1".into()), "same moment: the order they became due in");
        store.put_hit(hit("H1", 1_000)); // written again, unchanged
        assert_eq!(store.next_due_after(None).unwrap(), first, "an unchanged entry keeps its place");
        let second = store.next_due_after(Some(first.0)).unwrap();
        assert_eq!(second.1, Due::HitExpiry("H2".into()));

        // extended: its expiry moves, and its disposal with it
        store.put_hit(hit("H1", 5_000));
        assert_eq!(store.next_due_after(None).unwrap().1, Due::HitExpiry("H2".into()));
        assert_eq!(store.due_count(), 4);
        let mut disposed = hit("H2", 1_000);
        disposed.status = HitStatus::Disposed;
        store.put_hit(disposed);
        assert_eq!(store.due_count(), 2, "nothing is due for a disposed HIT");
        let ((at, _), due) = store.next_due_after(None).unwrap();
        assert_eq!((at, due), (5_000, Due::HitExpiry("H1".into())));
    }
}
