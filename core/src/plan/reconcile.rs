//! Bringing one item up to date from its HIT: what collect does on a
//! notification and sweep on what no notification brought. The plan reads a
//! snapshot (the item with its answers, what the marketplace shows, the job
//! when it matters) and says what to do: approve, record and pay, decide,
//! buy more, give back, close the HIT, pause. The step carries it out with
//! one conditional write on the item, so running it twice, or twice at
//! once, does nothing twice: a lost race reads again and plans again.

use std::collections::{BTreeMap, BTreeSet};

use crate::answers::{self, Answer};
use crate::decision::{Action, DecisionRule, Evidence};
use crate::job::{ConsensusMethod, JobSpec};
use crate::marketplace::{AssignmentView, CreateHitError, HitState};
use crate::money::Usd;
use crate::plan::write::{budget_reason, Decided, ItemWrite, JobDelta, Refusal, Reopen, Reserve, TOP_UP};
use crate::quality::{gold_of, tallies, GoldRule};
use crate::records::{AnswerRecord, Item, ItemStatus, JobStatus, WorkerEstimate};

/// Everything the plan looks at.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    pub spec: &'a JobSpec,
    pub item: &'a Item,
    pub hit_id: &'a str,
    /// What the marketplace shows of the HIT; None: it no longer exists.
    pub hit: Option<&'a HitState>,
    /// Assignments fetched: the notification's one, or (with `full_list`)
    /// every submitted and approved assignment of the HIT.
    pub assignments: &'a [AssignmentView],
    pub full_list: bool,
    /// The job's status, once the plan asked for it.
    pub job_status: Option<JobStatus>,
    /// The job's worker model, for the workers who answered.
    pub workers: &'a BTreeMap<String, WorkerEstimate>,
    /// Workers the job blocked: their answers count for nothing.
    pub blocked: &'a BTreeSet<String>,
    /// The marketplace's clock (epoch milliseconds): deadlines sent to it
    /// are in its time, which a simulated marketplace runs ahead of ours.
    pub market_ms: i64,
    /// Our clock: the time records are written at.
    pub now: i64,
    /// Why the last reservation for more assignments was refused.
    pub refused: Option<&'a Refusal>,
    /// The job's final check: a labeled item the rule would now buy more
    /// for is reopened (see [`FinalCheck`](crate::records::FinalCheck)).
    pub final_check: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Read more, then plan again.
    Need(Need),
    /// Nothing can be done for the item: a permanent problem.
    Fail(String),
    Act(Box<Actions>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Every submitted assignment of the HIT (the view shows fewer than the
    /// HIT has done).
    FullList,
    /// The job's status (to buy on, or to extend for, only an active job).
    JobStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Actions {
    /// Assignments to approve first: work is approved as soon as hitloop
    /// sees it, never left to auto-approve unseen.
    pub approve: Vec<String>,
    pub write: Option<ItemWrite>,
    /// Marketplace calls and job changes after the write, in order.
    pub after: Vec<Effect>,
    pub outcome: Outcome,
    /// Read everything again and plan once more (after closing the HIT, to
    /// count what workers still hold).
    pub again: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Close the HIT to new workers (accepted work may still come).
    Expire,
    /// Keep the HIT open until then (epoch milliseconds).
    Extend { until_ms: i64 },
    /// Buy round `round`: `n` more assignments, with the round's token.
    AddAssignments { n: u32, round: u32 },
    /// Pause the job, with the reason its user reads.
    Pause(String),
    /// The item was decided: complete the job if it was the last.
    CompleteIfDone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A HIT hitloop did not create (or not for this item).
    NotOurs,
    Labeled(String),
    Unresolved,
    Bought(u32),
    Waiting,
    AlreadyDecided,
    Paused(String),
}

/// The plan for the item, given the job's decision rule.
pub fn plan(s: &Snapshot<'_>, rule: &dyn DecisionRule) -> Plan {
    let item = s.item;
    if item.hit_id.as_deref() != Some(s.hit_id) {
        return Plan::Act(Box::new(Actions::nothing(Outcome::NotOurs)));
    }
    if let Some(h) = s.hit {
        if !s.full_list && h.done() as usize != known_done(item, s.assignments) {
            return Plan::Need(Need::FullList);
        }
    }
    let unit = s.spec.assignment_cost(s.spec.consensus.initial_assignments);
    let approve: Vec<String> =
        s.assignments.iter().filter(|a| a.status == "Submitted").map(|a| a.assignment_id.clone()).collect();
    let record = new_answers(s);
    let gold = gold_of(s.spec, item);
    let mut write = ItemWrite::on(item, s.now);
    write.cost = unit.times(record.len() as i64);
    // New answers for the model to count, or answers it counted of a worker
    // the job has since blocked, to take out.
    let counts_blocked = item.model.as_ref().is_some_and(|m| m.counted.iter().any(|(w, _)| s.blocked.contains(w)));
    write.refit_due = (!record.is_empty() || counts_blocked) && s.spec.consensus.method == ConsensusMethod::Confidence;
    write.gold = gold.map(|g| tallies(&s.spec.labels[g], &record)).unwrap_or_default();
    write.record = record;
    let mut answers = item.answers.clone();
    answers.extend(write.record.iter().cloned());
    answers.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.assignment_id.cmp(&b.assignment_id)));
    // What the rule sees: a blocked worker's answers neither count nor use
    // up the item's cap (they still filled their slots).
    let counted: Vec<AnswerRecord> = answers.iter().filter(|a| !s.blocked.contains(&a.worker_id)).cloned().collect();
    let ignored = (answers.len() - counted.len()) as u32;
    let bought = item.bought.max(s.hit.map_or(0, |h| h.max_assignments));
    let outstanding = s.hit.map_or(0, HitState::outstanding);
    let evidence =
        Evidence { answers: &counted, workers: s.workers, bought: bought.saturating_sub(ignored), outstanding };
    let decide_now = || match gold {
        Some(g) => GoldRule { label: s.spec.labels[g].clone() }.decide(&evidence),
        None => rule.decide(&evidence),
    };

    if item.status.is_decided() {
        let touched = gold.is_none() && item.answers.iter().any(|a| s.blocked.contains(&a.worker_id));
        let checked = s.final_check && gold.is_none() && item.status == ItemStatus::Labeled;
        if touched || checked {
            let anew = decide_now().action;
            let stands = match &anew {
                Action::Label { label, .. } => item.status == ItemStatus::Labeled && item.label.as_ref() == Some(label),
                Action::Unresolved => item.status == ItemStatus::Unresolved,
                Action::Wait | Action::Buy(_) => false,
            };
            // Without a blocked worker's answers the decision is made anew;
            // the final check only buys on (the label the model would now
            // give is the final fit's to give, and the cap stays the cap).
            let reopen = if touched { !stands } else { matches!(anew, Action::Buy(_)) };
            if reopen {
                return redecide(s, rule);
            }
        }
        // Late answers (work held when the item was decided): straight to the job.
        write.job.answers = write.record.len() as u64;
        write.job.spent = write.cost;
        return Plan::Act(Box::new(Actions::write(approve, write, Outcome::AlreadyDecided)));
    }

    // A purchase reserved but never made at the marketplace (a crash in between).
    if let Some(h) = s.hit {
        if item.bought > h.max_assignments && item.rounds > 1 {
            match s.job_status {
                None => return Plan::Need(Need::JobStatus),
                Some(st) if st.is_active() => {
                    let missing = item.bought - h.max_assignments;
                    let mut a = Actions::write(approve, write, Outcome::Bought(missing));
                    a.after.push(Effect::AddAssignments { n: missing, round: item.rounds });
                    return Plan::Act(Box::new(a));
                }
                Some(_) => {}
            }
        }
    }

    let decision = decide_now();
    let decided = |status: ItemStatus, label: Option<String>, agreed: u32, write: ItemWrite| {
        decide(s, approve.clone(), write, answers.len(), unit, status, label, agreed, decision.confidence)
    };
    match decision.action {
        Action::Label { label, agreed } => decided(ItemStatus::Labeled, Some(label), agreed, write),
        Action::Unresolved => decided(ItemStatus::Unresolved, None, 0, write),
        Action::Wait => Plan::Act(Box::new(Actions::write(approve, write, Outcome::Waiting))),
        Action::Buy(n) => {
            let Some(h) = s.hit else {
                return Plan::Fail(format!("HIT {} of item {} no longer exists", s.hit_id, item.item_id));
            };
            // Slots bought but never filled (abandoned after the HIT expired)
            // need more time, not more money.
            if (answers.len() as u32) < h.max_assignments {
                let Some(status) = s.job_status else { return Plan::Need(Need::JobStatus) };
                let mut a = Actions::write(approve, write, Outcome::Waiting);
                if status.is_active() {
                    a.after.push(Effect::Extend { until_ms: s.market_ms + s.spec.task.lifetime_seconds * 1000 });
                }
                return Plan::Act(Box::new(a));
            }
            let inactive = s.job_status.is_some_and(|st| !st.is_active());
            match s.refused {
                // Nothing is bought for a job that is not active (the store
                // refuses it too; known here, it is not asked).
                _ if inactive => Plan::Act(Box::new(Actions::write(approve, write, Outcome::Waiting))),
                Some(Refusal::JobInactive) => Plan::Act(Box::new(Actions::write(approve, write, Outcome::Waiting))),
                Some(Refusal::OverBudget { reserved, budget }) => {
                    let reason = budget_reason(*reserved, *budget);
                    let mut a = Actions::write(approve, write, Outcome::Paused(reason.clone()));
                    a.after.push(Effect::Pause(reason));
                    Plan::Act(Box::new(a))
                }
                None => {
                    let round = item.rounds + 1;
                    let cost = unit.times(i64::from(n));
                    write.reserve = Some(Reserve { round, assignments: n, cost, budget: s.spec.budget_usd });
                    write.job.reserved = cost;
                    write.job.bought = u64::from(n);
                    let mut a = Actions::write(approve, write, Outcome::Bought(n));
                    if h.expiration <= s.market_ms {
                        a.after.push(Effect::Extend { until_ms: s.market_ms + s.spec.task.lifetime_seconds * 1000 });
                    }
                    a.after.push(Effect::AddAssignments { n, round });
                    Plan::Act(Box::new(a))
                }
            }
        }
    }
}

/// A decided item whose decision a blocked worker's answers made: it is
/// planned as the open item it was, and the write takes its old decision
/// off the job's tally first (one conditional write, as ever).
fn redecide(s: &Snapshot<'_>, rule: &dyn DecisionRule) -> Plan {
    let item = s.item;
    let mut open = item.clone();
    open.status = ItemStatus::Published;
    open.label = None;
    open.agreed = 0;
    open.confidence = None;
    let reopen = Reopen { was: item.status, answers: item.answers.len() as u64, spent: item.spent };
    match plan(&Snapshot { item: &open, ..*s }, rule) {
        Plan::Act(mut a) => {
            let mut write = a.write.take().unwrap_or_else(|| ItemWrite::on(item, s.now));
            write.reopen = Some(reopen);
            a.write = Some(write);
            Plan::Act(a)
        }
        other => other,
    }
}

/// The item is decided. Slots still open are closed first (nobody needs the
/// work now) and the plan runs again; then what no worker holds goes back to
/// the budget. What workers hold (accepted, submitted) stays reserved:
/// hitloop approves it when it comes.
#[allow(clippy::too_many_arguments)]
fn decide(
    s: &Snapshot<'_>,
    approve: Vec<String>,
    mut write: ItemWrite,
    answers: usize,
    unit: Usd,
    status: ItemStatus,
    label: Option<String>,
    agreed: u32,
    confidence: Option<f64>,
) -> Plan {
    if let Some(h) = s.hit {
        if h.available > 0 && h.expiration > s.market_ms {
            let mut a = Actions::write(approve, write, Outcome::Waiting);
            a.after.push(Effect::Expire);
            a.again = true;
            return Plan::Act(Box::new(a));
        }
    }
    let taken = answers as u32 + s.hit.map_or(0, |h| h.pending);
    // Less what an earlier decision of the item gave back already.
    let unused = unit.times(i64::from(s.item.bought.saturating_sub(taken)));
    let release = Usd::from_cents((unused.cents() - s.item.released.cents()).max(0));
    let outcome = match &label {
        Some(l) => Outcome::Labeled(l.clone()),
        None => Outcome::Unresolved,
    };
    write.job = JobDelta {
        decided: 1,
        labeled: u64::from(status == ItemStatus::Labeled),
        unresolved: u64::from(status == ItemStatus::Unresolved),
        answers: answers as u64,
        spent: s.item.spent + write.cost,
        reserved: Usd::ZERO - release,
        bought: 0,
    };
    write.decide = Some(Decided { status, label, agreed, confidence, release });
    let mut a = Actions::write(approve, write, outcome);
    a.after.push(Effect::CompleteIfDone);
    Plan::Act(Box::new(a))
}

/// Done assignments the snapshot accounts for: the recorded answers and the
/// fetched assignments not recorded yet.
fn known_done(item: &Item, fetched: &[AssignmentView]) -> usize {
    item.answers.len() + fetched.iter().filter(|a| !item.has_answer(&a.assignment_id)).count()
}

/// The fetched assignments not recorded yet, read with the job's answer
/// rules (an unreadable or foreign label is kept as invalid, never counted).
fn new_answers(s: &Snapshot<'_>) -> Vec<AnswerRecord> {
    s.assignments
        .iter()
        .filter(|a| (a.status == "Submitted" || a.status == "Approved") && !s.item.has_answer(&a.assignment_id))
        .map(|a| {
            let (label, invalid_reason) = match answers::label(&a.answer, &s.spec.answer, &s.spec.labels) {
                Answer::Label(l) => (Some(l), None),
                Answer::Invalid(why) => (None, Some(why)),
            };
            AnswerRecord {
                assignment_id: a.assignment_id.clone(),
                worker_id: a.worker_id.clone(),
                label,
                invalid_reason,
                submitted_at: a.submit_time,
            }
        })
        .collect()
}

/// What pausing for a refused purchase says, or None when there is nothing
/// to pause for (the round was bought before: the token was used).
pub fn refused_purchase(e: &CreateHitError) -> Option<String> {
    match e {
        CreateHitError::InsufficientFunds(m) => Some(format!("balance: {m}; {TOP_UP}")),
        CreateHitError::AlreadyExists(_) => None,
        CreateHitError::Other(m) => Some(format!("MTurk refused more assignments: {m}")),
    }
}

impl Actions {
    fn nothing(outcome: Outcome) -> Actions {
        Actions { approve: Vec::new(), write: None, after: Vec::new(), outcome, again: false }
    }

    /// Approve, then write if the write changes anything.
    fn write(approve: Vec<String>, write: ItemWrite, outcome: Outcome) -> Actions {
        let changes = !write.record.is_empty()
            || write.decide.is_some()
            || write.reserve.is_some()
            || write.reopen.is_some()
            || write.refit_due;
        Actions { approve, write: changes.then_some(write), after: Vec::new(), outcome, again: false }
    }
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
