//! The in-memory store: everything in maps behind one mutex, gone when the
//! process ends. A commit checks every condition, then applies every change,
//! under the mutex, so it is atomic as a DynamoDB transaction is.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::*;

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Creation order of HITs (one process, so a counter in memory is
    /// enough; the durable store orders by creation time).
    seq: u64,
    hit_types: HashMap<String, HitType>,
    hit_type_keys: HashMap<HitTypeKey, String>,
    hits: HashMap<String, (u64, Hit)>,
    hits_by_seq: BTreeMap<u64, String>,
    hits_by_status: BTreeSet<(HitStatus, u64)>,
    assignments: HashMap<String, Assignment>,
    assignments_by_hit: HashMap<String, Vec<String>>,
    worker_hits: HashSet<(String, String)>,
    /// Each worker's assignments in the order they were accepted.
    assignments_by_worker: BTreeMap<String, Vec<String>>,
    tokens: HashMap<(String, String), TokenUse>,
    account: Account,
    blocks: BTreeMap<String, String>,
    quals: HashMap<String, QualificationType>,
    qual_names: HashMap<String, String>,
    qualifications: HashMap<(String, String), Qualification>,
    bonuses: Vec<Bonus>,
    messages: Vec<WorkerMessage>,
    due: DueIndex,
    outbox: BTreeMap<(i64, String), crate::engine::Delivery>,
}

impl MemoryStore {
    /// A store whose account starts with `account`.
    pub fn new(account: Account) -> Self {
        MemoryStore { state: Mutex::new(State { account, ..Default::default() }) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave a commit half applied (checks come
        // before changes), so the state stays usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The memory store's index of what is due, kept from the records.
#[derive(Default)]
struct DueIndex {
    entries: BTreeMap<(i64, u64), Due>,
    /// Each record's entries, to replace them when the record changes.
    of_record: HashMap<Due, (i64, u64)>,
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

fn cursor(seq: u64) -> String {
    format!("{seq:x}")
}

fn parse_cursor(c: Option<&str>) -> StoreResult<u64> {
    match c {
        None => Ok(0),
        Some(c) => u64::from_str_radix(c, 16).map(|s| s + 1).map_err(|_| StoreError::BadToken),
    }
}

fn version_of<T>(v: &Versioned<T>, version: impl Fn(&T) -> u64) -> Option<u64> {
    v.prior.as_ref().map(version)
}

impl State {
    /// Would every condition of `changes` hold?
    fn holds(&self, changes: &Changes) -> bool {
        for w in &changes.writes {
            let ok = match w {
                Write::HitType { record, new } => {
                    !*new || (!self.hit_types.contains_key(&record.id) && !self.hit_type_keys.contains_key(&record.key))
                }
                Write::Hit(v) => {
                    self.hits.get(&v.record.id).map(|(_, h)| h.version) == version_of(v, |h: &Hit| h.version)
                }
                Write::Assignment(v) => {
                    self.assignments.get(&v.record.id).map(|a| a.version) == version_of(v, |a: &Assignment| a.version)
                }
                Write::WorkerHit { worker_id, hit_id, .. } => {
                    !self.worker_hits.contains(&(worker_id.clone(), hit_id.clone()))
                }
                Write::Token { scope, token, free_before_ms, .. } => {
                    self.tokens.get(&(scope.clone(), token.clone())).is_none_or(|used| used.used_ms < *free_before_ms)
                }
                Write::QualificationType(q) => !self.qual_names.contains_key(&q.name),
                Write::Block { .. } | Write::Qualification(_) | Write::Bonus(_) | Write::Message(_) => true,
            };
            if !ok {
                return false;
            }
        }
        !changes.account.breaks_floor(&changes.account.applied_to(self.account))
    }

    fn apply(&mut self, w: &Write) {
        match w {
            Write::HitType { record, .. } => {
                self.hit_type_keys.insert(record.key.clone(), record.id.clone());
                self.hit_types.insert(record.id.clone(), record.clone());
            }
            Write::Hit(v) => self.put_hit(v.record.clone()),
            Write::Assignment(v) => self.put_assignment(v.record.clone()),
            Write::WorkerHit { worker_id, hit_id, assignment_id } => {
                self.worker_hits.insert((worker_id.clone(), hit_id.clone()));
                self.assignments_by_worker.entry(worker_id.clone()).or_default().push(assignment_id.clone());
            }
            Write::Token { scope, token, used, .. } => {
                self.tokens.insert((scope.clone(), token.clone()), used.clone());
            }
            Write::Block { worker_id, reason: Some(reason) } => {
                self.blocks.insert(worker_id.clone(), reason.clone());
            }
            Write::Block { worker_id, reason: None } => {
                self.blocks.remove(worker_id);
            }
            Write::QualificationType(q) => {
                self.qual_names.insert(q.name.clone(), q.id.clone());
                self.quals.insert(q.id.clone(), q.clone());
            }
            Write::Qualification(q) => {
                self.qualifications.insert((q.qualification_type_id.clone(), q.worker_id.clone()), q.clone());
            }
            Write::Bonus(b) => self.bonuses.push(b.clone()),
            Write::Message(m) => self.messages.push(m.clone()),
        }
    }

    fn put_hit(&mut self, h: Hit) {
        self.due.set(&[Due::HitExpiry(h.id.clone()), Due::AutoDispose(h.id.clone())], due_of_hit(&h));
        let seq = match self.hits.get(&h.id) {
            Some((seq, old)) => {
                let seq = *seq;
                self.hits_by_status.remove(&(old.status, seq));
                seq
            }
            None => {
                self.seq += 1;
                self.hits_by_seq.insert(self.seq, h.id.clone());
                self.seq
            }
        };
        self.hits_by_status.insert((h.status, seq));
        self.hits.insert(h.id.clone(), (seq, h));
    }

    fn put_assignment(&mut self, a: Assignment) {
        self.due.set(&[Due::AssignmentDeadline(a.id.clone()), Due::AutoApprove(a.id.clone())], due_of_assignment(&a));
        if !self.assignments.contains_key(&a.id) {
            self.assignments_by_hit.entry(a.hit_id.clone()).or_default().push(a.id.clone());
        }
        self.assignments.insert(a.id.clone(), a);
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn hit_type(&self, id: &str) -> StoreResult<Option<HitType>> {
        Ok(self.state().hit_types.get(id).cloned())
    }

    async fn hit_type_by_key(&self, key: &HitTypeKey) -> StoreResult<Option<String>> {
        Ok(self.state().hit_type_keys.get(key).cloned())
    }

    async fn hit(&self, id: &str) -> StoreResult<Option<Hit>> {
        Ok(self.state().hits.get(id).map(|(_, h)| h.clone()))
    }

    async fn hits(
        &self,
        status: Option<HitStatus>,
        after: Option<&str>,
        limit: usize,
        _now_ms: i64,
    ) -> StoreResult<Listed<Hit>> {
        let start = parse_cursor(after)?;
        let s = self.state();
        let listed =
            |seq: &u64| s.hits_by_seq.get(seq).and_then(|id| s.hits.get(id)).map(|(_, h)| (cursor(*seq), h.clone()));
        Ok(match status {
            Some(status) => s
                .hits_by_status
                .range((status, start)..=(status, u64::MAX))
                .filter_map(|(_, seq)| listed(seq))
                .take(limit)
                .collect(),
            None => s
                .hits_by_seq
                .range(start..)
                .filter_map(|(seq, _)| listed(seq))
                .filter(|(_, h)| h.status != HitStatus::Disposed)
                .take(limit)
                .collect(),
        })
    }

    async fn hit_count_by_status(&self) -> StoreResult<BTreeMap<HitStatus, usize>> {
        let mut counts = BTreeMap::new();
        for (status, _) in &self.state().hits_by_status {
            *counts.entry(*status).or_default() += 1;
        }
        Ok(counts)
    }

    async fn assignment(&self, id: &str) -> StoreResult<Option<Assignment>> {
        Ok(self.state().assignments.get(id).cloned())
    }

    async fn assignments_of_hit(&self, hit_id: &str) -> StoreResult<Vec<Assignment>> {
        let s = self.state();
        Ok(s.assignments_by_hit
            .get(hit_id)
            .map(|ids| ids.iter().filter_map(|id| s.assignments.get(id)).cloned().collect())
            .unwrap_or_default())
    }

    async fn worker_has_assignment(&self, worker_id: &str, hit_id: &str) -> StoreResult<bool> {
        Ok(self.state().worker_hits.contains(&(worker_id.to_string(), hit_id.to_string())))
    }

    async fn hits_of_worker(&self, worker_id: &str) -> StoreResult<HashSet<String>> {
        let s = self.state();
        Ok(s.worker_hits.iter().filter(|(w, _)| w == worker_id).map(|(_, h)| h.clone()).collect())
    }

    async fn assignments_of_worker(&self, worker_id: &str) -> StoreResult<Vec<Assignment>> {
        let s = self.state();
        Ok(s.assignments_by_worker
            .get(worker_id)
            .map(|ids| ids.iter().filter_map(|id| s.assignments.get(id)).cloned().collect())
            .unwrap_or_default())
    }

    async fn has_worked(&self, worker_id: &str) -> StoreResult<bool> {
        Ok(self.state().assignments_by_worker.contains_key(worker_id))
    }

    async fn workers(&self, after: Option<&str>, limit: usize) -> StoreResult<Listed<String>> {
        let s = self.state();
        let after = after.unwrap_or("");
        Ok(s.assignments_by_worker
            .keys()
            .filter(|w| w.as_str() > after)
            .take(limit)
            .map(|w| (w.clone(), w.clone()))
            .collect())
    }

    async fn assignment_count_by_status(&self) -> StoreResult<BTreeMap<&'static str, usize>> {
        let mut counts = BTreeMap::new();
        for a in self.state().assignments.values() {
            *counts.entry(a.status.as_str()).or_default() += 1;
        }
        Ok(counts)
    }

    async fn token(&self, scope: &str, token: &str) -> StoreResult<Option<TokenUse>> {
        Ok(self.state().tokens.get(&(scope.to_string(), token.to_string())).cloned())
    }

    async fn account(&self) -> StoreResult<Account> {
        Ok(self.state().account)
    }

    async fn block(&self, worker_id: &str) -> StoreResult<Option<String>> {
        Ok(self.state().blocks.get(worker_id).cloned())
    }

    async fn blocks(&self, after: Option<&str>, limit: usize) -> StoreResult<Listed<(String, String)>> {
        let s = self.state();
        let range = match after {
            Some(worker) => s.blocks.range::<str, _>((std::ops::Bound::Excluded(worker), std::ops::Bound::Unbounded)),
            None => s.blocks.range::<str, _>(..),
        };
        Ok(range.take(limit).map(|(w, r)| (w.clone(), (w.clone(), r.clone()))).collect())
    }

    async fn qualification_type(&self, id: &str) -> StoreResult<Option<QualificationType>> {
        Ok(self.state().quals.get(id).cloned())
    }

    async fn qualification_type_by_name(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(self.state().qual_names.get(name).cloned())
    }

    async fn qualification(&self, type_id: &str, worker_id: &str) -> StoreResult<Option<Qualification>> {
        Ok(self.state().qualifications.get(&(type_id.to_string(), worker_id.to_string())).cloned())
    }

    async fn qualifications_of_type(
        &self,
        type_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Listed<Qualification>> {
        let s = self.state();
        let after = after.unwrap_or("");
        let mut of_type: Vec<&Qualification> = s
            .qualifications
            .values()
            .filter(|q| q.qualification_type_id == type_id && q.worker_id.as_str() > after)
            .collect();
        of_type.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
        Ok(of_type.into_iter().take(limit).map(|q| (q.worker_id.clone(), q.clone())).collect())
    }

    async fn bonuses_of_worker(&self, worker_id: &str) -> StoreResult<Vec<Bonus>> {
        Ok(self.state().bonuses.iter().filter(|b| b.worker_id == worker_id).cloned().collect())
    }

    async fn messages_of_worker(&self, worker_id: &str, since_ms: i64) -> StoreResult<Vec<WorkerMessage>> {
        let s = self.state();
        Ok(s.messages.iter().rev().filter(|m| m.worker_id == worker_id && m.sent_ms >= since_ms).cloned().collect())
    }

    async fn next_due_after(&self, after: Option<&DueKey>) -> StoreResult<Option<(DueKey, Due)>> {
        let after = match after {
            None => None,
            Some((at, order)) => Some((*at, u64::from_str_radix(order, 16).map_err(|_| StoreError::BadToken)?)),
        };
        let s = self.state();
        let mut range = match after {
            Some(key) => s.due.entries.range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded)),
            None => s.due.entries.range(..),
        };
        Ok(range.next().map(|((at, order), d)| ((*at, cursor(*order)), d.clone())))
    }

    async fn due_count(&self) -> StoreResult<usize> {
        Ok(self.state().due.entries.len())
    }

    async fn commit(&self, changes: &Changes) -> Result<(), CommitError> {
        let mut s = self.state();
        if !s.holds(changes) {
            return Err(CommitError::Conflict);
        }
        for w in &changes.writes {
            s.apply(w);
        }
        s.account = changes.account.applied_to(s.account);
        for d in changes.outbox.iter().filter(|d| !d.test) {
            s.outbox.insert((d.at_ms, d.id.clone()), d.clone());
        }
        Ok(())
    }

    async fn outbox_before(&self, before_ms: i64, limit: usize) -> StoreResult<Vec<crate::engine::Delivery>> {
        let s = self.state();
        Ok(s.outbox.iter().take_while(|((at, _), _)| *at < before_ms).take(limit).map(|(_, d)| d.clone()).collect())
    }

    async fn outbox_sent(&self, sent: &[(i64, String)]) -> StoreResult<()> {
        let mut s = self.state();
        for key in sent {
            s.outbox.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{assignment, hit};

    /// Writes `h` over whatever is stored (a test's shortcut past the engine).
    async fn put(store: &MemoryStore, mut h: Hit) {
        let prior = store.hit(&h.id).await.unwrap();
        h.version = prior.as_ref().map_or(1, |p| p.version + 1);
        let changes = Changes { writes: vec![Write::Hit(Versioned { record: h, prior })], ..Default::default() };
        store.commit(&changes).await.unwrap();
    }

    #[tokio::test]
    async fn the_index_follows_the_records_and_keeps_an_unchanged_entry_in_place() {
        let store = MemoryStore::default();
        put(&store, hit("H1", 1_000)).await;
        put(&store, hit("H2", 1_000)).await;
        let first = store.next_due_after(None).await.unwrap().unwrap();
        assert_eq!(first.1, Due::HitExpiry("H1".into()), "same moment: the order they became due in");
        put(&store, hit("H1", 1_000)).await; // written again, unchanged
        assert_eq!(store.next_due_after(None).await.unwrap().unwrap(), first, "an unchanged entry keeps its place");
        let second = store.next_due_after(Some(&first.0)).await.unwrap().unwrap();
        assert_eq!(second.1, Due::HitExpiry("H2".into()));

        // extended: its expiry moves, and its disposal with it
        put(&store, hit("H1", 5_000)).await;
        assert_eq!(store.next_due_after(None).await.unwrap().unwrap().1, Due::HitExpiry("H2".into()));
        assert_eq!(store.due_count().await.unwrap(), 4);
        let mut disposed = hit("H2", 1_000);
        disposed.status = HitStatus::Disposed;
        put(&store, disposed).await;
        assert_eq!(store.due_count().await.unwrap(), 2, "nothing is due for a disposed HIT");
        let ((at, _), due) = store.next_due_after(None).await.unwrap().unwrap();
        assert_eq!((at, due), (5_000, Due::HitExpiry("H1".into())));
        assert!(matches!(store.next_due_after(Some(&(0, "zz!".into()))).await, Err(StoreError::BadToken)));
    }

    #[tokio::test]
    async fn a_commit_holds_only_on_what_it_was_decided_from_and_applies_all_or_nothing() {
        let store =
            MemoryStore::new(Account { funds: hitloop_core::money::Usd::from_cents(100), ..Default::default() });
        put(&store, hit("H", 1_000)).await;
        let read = store.hit("H").await.unwrap().unwrap();
        let mut a = assignment(AssignmentStatus::Accepted, None);
        a.version = 1;
        let mut changed = read.clone();
        changed.pending_until.insert(a.id.clone(), a.deadline_ms);
        changed.version = read.version + 1;
        let accept = Changes {
            writes: vec![
                Write::Hit(Versioned { record: changed, prior: Some(read.clone()) }),
                Write::WorkerHit { worker_id: "W".into(), hit_id: "H".into(), assignment_id: "A".into() },
                Write::Assignment(Versioned { record: a, prior: None }),
            ],
            ..Default::default()
        };
        store.commit(&accept).await.unwrap();
        assert_eq!(store.commit(&accept).await, Err(CommitError::Conflict), "the HIT it read has changed");
        assert_eq!(store.assignments_of_hit("H").await.unwrap().len(), 1);

        // a second worker's marker is fine, but this HIT version is stale: nothing applies
        let stale = Changes {
            writes: vec![
                Write::WorkerHit { worker_id: "W2".into(), hit_id: "H".into(), assignment_id: "A2".into() },
                Write::Hit(Versioned { record: read.clone(), prior: Some(read) }),
            ],
            ..Default::default()
        };
        assert_eq!(store.commit(&stale).await, Err(CommitError::Conflict));
        assert!(!store.worker_has_assignment("W2", "H").await.unwrap(), "all or nothing");

        // the balance never goes below zero; a change that raises it always holds
        let usd = hitloop_core::money::Usd::from_cents;
        let hold = |cents| Changes {
            account: AccountDelta { on_hold: usd(cents), ..Default::default() },
            ..Default::default()
        };
        store.commit(&hold(60)).await.unwrap();
        assert_eq!(store.commit(&hold(60)).await, Err(CommitError::Conflict));
        store.commit(&hold(40)).await.unwrap();
        store.commit(&hold(-100)).await.unwrap();
        let pay = Changes {
            account: AccountDelta { spent: usd(101), on_hold: usd(-101), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(store.commit(&pay).await, Err(CommitError::Conflict), "unspent would go below zero");
        assert_eq!(store.account().await.unwrap().available(), usd(100));
    }
}
