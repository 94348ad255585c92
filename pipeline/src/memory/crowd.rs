//! A small marketplace in memory: HITs with slots, tokens that buy once,
//! approvals that happen once, a clock the test moves. Enough to run the
//! steps and the Crowd contract suite without the MTurk-compatible service.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use hitloop_core::error::{Error, Result};
use hitloop_core::job::JobSpec;
use hitloop_core::marketplace::{AssignmentView, CreateHitError, HitState};
use hitloop_core::money::Usd;
use hitloop_core::plan::publish::HitRequest;

use crate::ports::crowd::access_name;
use crate::ports::Crowd;

#[derive(Debug, Clone)]
struct Hit {
    max: u32,
    expiration: i64,
    annotation: String,
    /// Accepted, not submitted: worker ids.
    pending: Vec<String>,
    /// The qualification a worker must hold (not revoked) to accept.
    access: Option<String>,
}

#[derive(Default)]
struct State {
    now: i64,
    balance: Usd,
    hits: BTreeMap<String, Hit>,
    assignments: BTreeMap<String, (String, AssignmentView)>,
    create_tokens: HashMap<String, String>,
    add_tokens: HashMap<String, String>,
    types: BTreeMap<String, String>,
    /// HIT type -> the access qualification it requires.
    type_access: HashMap<String, String>,
    /// Access qualification name -> id.
    qualifications: BTreeMap<String, String>,
    /// (qualification, worker) revoked, with the reason.
    revoked: BTreeMap<(String, String), String>,
    notifications: HashMap<String, String>,
    calls: BTreeMap<&'static str, u32>,
    next: u64,
}

pub struct MemoryCrowd {
    state: Mutex<State>,
}

impl MemoryCrowd {
    /// A marketplace whose clock starts at `now` with `balance` in the account.
    pub fn new(now: i64, balance: Usd) -> Self {
        MemoryCrowd { state: Mutex::new(State { now, balance, ..Default::default() }) }
    }

    fn state(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Error::Permanent("the memory crowd's lock is poisoned".into()))
    }

    fn counted(&self, op: &'static str) -> Result<MutexGuard<'_, State>> {
        let mut s = self.state()?;
        *s.calls.entry(op).or_default() += 1;
        Ok(s)
    }

    /// Moves the marketplace's clock on.
    pub fn advance(&self, ms: i64) {
        if let Ok(mut s) = self.state() {
            s.now += ms;
        }
    }

    /// How many times each operation was called.
    pub fn calls(&self) -> BTreeMap<&'static str, u32> {
        self.state().map(|s| s.calls.clone()).unwrap_or_default()
    }

    /// A worker takes a slot of the HIT (None: no slot open).
    pub fn accept(&self, hit_id: &str, worker: &str) -> Option<()> {
        let mut s = self.state().ok()?;
        let now = s.now;
        let submitted = s.assignments.values().filter(|(h, _)| h == hit_id).count() as u32;
        let revoked: BTreeSet<&String> = s.revoked.keys().filter(|(_, w)| w == worker).map(|(q, _)| q).collect();
        let barred = s.hits.get(hit_id)?.access.as_ref().is_some_and(|q| revoked.contains(q));
        let h = s.hits.get_mut(hit_id)?;
        if barred || h.expiration <= now || h.pending.len() as u32 + submitted >= h.max {
            return None;
        }
        h.pending.push(worker.into());
        Some(())
    }

    /// A worker who accepted submits `answer` (Answer XML); the assignment id.
    pub fn submit(&self, hit_id: &str, worker: &str, answer: &str) -> Option<String> {
        let mut s = self.state().ok()?;
        let now = s.now;
        let h = s.hits.get_mut(hit_id)?;
        let at = h.pending.iter().position(|w| w == worker)?;
        h.pending.remove(at);
        s.next += 1;
        let id = format!("ASG{:027}", s.next);
        let view = AssignmentView {
            assignment_id: id.clone(),
            worker_id: worker.into(),
            status: "Submitted".into(),
            answer: answer.into(),
            submit_time: now,
        };
        s.assignments.insert(id.clone(), (hit_id.into(), view));
        Some(id)
    }

    /// accept, then submit.
    pub fn work(&self, hit_id: &str, worker: &str, answer: &str) -> Option<String> {
        self.accept(hit_id, worker)?;
        self.submit(hit_id, worker, answer)
    }

    /// A worker who accepted walks away (the slot opens again).
    pub fn abandon(&self, hit_id: &str, worker: &str) {
        if let Ok(mut s) = self.state() {
            if let Some(h) = s.hits.get_mut(hit_id) {
                h.pending.retain(|w| w != worker);
            }
        }
    }

    /// Why the worker's access qualification was revoked, if it was.
    pub fn revocation(&self, qualification_id: &str, worker: &str) -> Option<String> {
        self.state().ok()?.revoked.get(&(qualification_id.to_string(), worker.to_string())).cloned()
    }

    fn view(s: &State, hit_id: &str) -> Option<HitState> {
        let h = s.hits.get(hit_id)?;
        let done = s.assignments.values().filter(|(id, _)| id == hit_id).count() as u32;
        let pending = h.pending.len() as u32;
        let open = h.expiration > s.now;
        Some(HitState {
            hit_id: hit_id.into(),
            status: if open { "Assignable" } else { "Reviewable" }.into(),
            max_assignments: h.max,
            pending,
            available: if open { h.max.saturating_sub(done + pending) } else { 0 },
            expiration: h.expiration,
            annotation: Some(h.annotation.clone()),
        })
    }
}

#[async_trait]
impl Crowd for MemoryCrowd {
    fn now_ms(&self) -> i64 {
        self.state().map(|s| s.now).unwrap_or_default()
    }

    async fn balance(&self) -> Result<Usd> {
        Ok(self.counted("GetAccountBalance")?.balance)
    }

    async fn create_hit_type(&self, spec: &JobSpec, access: Option<&str>) -> Result<String> {
        let mut s = self.counted("CreateHITType")?;
        let key = serde_json::to_string(&(&spec.task, access)).map_err(Error::permanent)?;
        let n = s.types.len();
        let id = s.types.entry(key).or_insert_with(|| format!("TYPE{n:026}")).clone();
        if let Some(q) = access {
            s.type_access.insert(id.clone(), q.into());
        }
        Ok(id)
    }

    async fn access_qualification(&self, job_id: &str) -> Result<String> {
        let mut s = self.counted("CreateQualificationType")?;
        let n = s.qualifications.len();
        Ok(s.qualifications.entry(access_name(job_id)).or_insert_with(|| format!("QUAL{n:026}")).clone())
    }

    async fn revoke_access(&self, qualification_id: &str, worker_id: &str, reason: &str) -> Result<()> {
        let mut s = self.counted("DisassociateQualificationFromWorker")?;
        s.revoked.insert((qualification_id.into(), worker_id.into()), reason.into());
        Ok(())
    }

    async fn notify(&self, hit_type_id: &str, destination: &str, _transport: &str) -> Result<()> {
        self.counted("UpdateNotificationSettings")?.notifications.insert(hit_type_id.into(), destination.into());
        Ok(())
    }

    async fn create_hit(
        &self,
        hit_type_id: &str,
        r: &HitRequest,
    ) -> Result<std::result::Result<String, CreateHitError>> {
        let mut s = self.counted("CreateHITWithHITType")?;
        if let Some(hit) = s.create_tokens.get(&r.token) {
            return Ok(Err(CreateHitError::AlreadyExists(Some(hit.clone()))));
        }
        s.next += 1;
        let id = format!("HIT{:027}", s.next);
        let hit = Hit {
            max: r.assignments,
            expiration: s.now + r.lifetime_s * 1000,
            annotation: r.annotation.clone(),
            pending: Vec::new(),
            access: s.type_access.get(hit_type_id).cloned(),
        };
        s.hits.insert(id.clone(), hit);
        s.create_tokens.insert(r.token.clone(), id.clone());
        Ok(Ok(id))
    }

    async fn hit(&self, hit_id: &str) -> Result<Option<HitState>> {
        let s = self.counted("GetHIT")?;
        Ok(Self::view(&s, hit_id))
    }

    async fn assignment(&self, assignment_id: &str) -> Result<Option<(AssignmentView, HitState)>> {
        let s = self.counted("GetAssignment")?;
        let Some((hit_id, view)) = s.assignments.get(assignment_id) else { return Ok(None) };
        Ok(Self::view(&s, hit_id).map(|h| (view.clone(), h)))
    }

    async fn assignments(&self, hit_id: &str) -> Result<Vec<AssignmentView>> {
        let s = self.counted("ListAssignmentsForHIT")?;
        Ok(s.assignments.values().filter(|(h, _)| h == hit_id).map(|(_, v)| v.clone()).collect())
    }

    async fn approve(&self, assignment_id: &str) -> Result<bool> {
        let mut s = self.counted("ApproveAssignment")?;
        let Some((_, view)) = s.assignments.get_mut(assignment_id) else {
            return Err(Error::Permanent(format!("no assignment {assignment_id}")));
        };
        match view.status.as_str() {
            "Submitted" => {
                view.status = "Approved".into();
                Ok(true)
            }
            "Approved" => Ok(false),
            other => Err(Error::Permanent(format!("assignment {assignment_id} cannot be approved: it is {other}"))),
        }
    }

    async fn add_assignments(
        &self,
        hit_id: &str,
        n: u32,
        token: &str,
    ) -> Result<std::result::Result<bool, CreateHitError>> {
        let mut s = self.counted("CreateAdditionalAssignmentsForHIT")?;
        if s.add_tokens.contains_key(token) {
            return Ok(Ok(false));
        }
        let Some(h) = s.hits.get_mut(hit_id) else {
            return Ok(Err(CreateHitError::Other(format!("no HIT {hit_id}"))));
        };
        h.max += n;
        s.add_tokens.insert(token.into(), hit_id.into());
        Ok(Ok(true))
    }

    async fn extend(&self, hit_id: &str, expire_at_ms: i64) -> Result<()> {
        let mut s = self.counted("UpdateExpirationForHIT")?;
        if let Some(h) = s.hits.get_mut(hit_id) {
            h.expiration = expire_at_ms;
        }
        Ok(())
    }
}
