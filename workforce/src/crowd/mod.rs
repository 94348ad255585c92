//! A simulated workforce: seeded workers who look for work, accept HITs they
//! qualify for, take their time, and submit answers the way the task page
//! would (or return, or abandon), all on the simulated clock.

pub mod config;
pub mod truth;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use crate::answer::{crowd_form_answer, question_form_answers, AnswerValue};
use crate::engine::{DuePass, Engine, WorkerProfile};
use crate::model::{Hit, Locale};
use crate::question::{answer_shape, AnswerShape};
use crate::store::StoreResult;
pub use config::{Behaviour, GroupConfig, Seconds, WorkforceConfig};
pub use truth::Truth;

#[derive(Debug, Clone)]
struct SimWorker {
    id: String,
    group: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Look(usize),
    Submit(usize, String),
    Return(usize, String),
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct WorkforceStats {
    pub accepted: u64,
    pub submitted: u64,
    pub returned: u64,
    pub abandoned: u64,
    pub correct: u64,
    pub incorrect: u64,
    pub no_truth: u64,
}

pub struct Workforce {
    groups: Vec<GroupConfig>,
    workers: Vec<SimWorker>,
    heap: BinaryHeap<Reverse<(i64, u64, Action)>>,
    seq: u64,
    rng: ChaCha8Rng,
    truth: Truth,
    answer_field: Option<String>,
    shapes: HashMap<String, AnswerShape>,
    pub stats: WorkforceStats,
}

fn sample_ms(rng: &mut ChaCha8Rng, s: Seconds) -> i64 {
    let secs = if s.spread <= 0.0 {
        s.median
    } else {
        match LogNormal::new(s.median.ln(), s.spread) {
            Ok(d) => d.sample(rng),
            Err(_) => s.median,
        }
    };
    (secs * 1000.0).max(1.0) as i64
}

/// Maps a label onto the options a page offers ("setosa" -> "Iris-setosa").
fn to_option(label: &str, options: &[String]) -> Option<String> {
    if options.is_empty() {
        return Some(label.to_string());
    }
    let l = label.to_ascii_lowercase();
    options
        .iter()
        .find(|o| *o == label)
        .or_else(|| options.iter().find(|o| o.to_ascii_lowercase() == l))
        .or_else(|| options.iter().find(|o| o.to_ascii_lowercase().contains(&l)))
        .or_else(|| options.iter().find(|o| l.contains(&o.to_ascii_lowercase())))
        .cloned()
}

impl Workforce {
    /// Builds the crowd and registers each worker's profile with the engine.
    pub fn new(config: WorkforceConfig, truth: Truth, engine: &Engine) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut workers = Vec::new();
        for (g, group) in config.groups.iter().enumerate() {
            for i in 0..group.count {
                let id = group.worker_ids.get(i).cloned().unwrap_or_else(|| crate::ids::worker_id(&mut rng));
                let (country, subdivision) = match group.locale.split_once('-') {
                    Some((c, s)) => (c.to_string(), Some(s.to_string())),
                    None => (group.locale.clone(), None),
                };
                engine.register_worker(
                    &id,
                    WorkerProfile {
                        locale: Locale { country, subdivision },
                        percent_approved: group.percent_approved,
                        hits_approved: group.hits_approved,
                        adult: true,
                        masters: group.masters,
                    },
                );
                workers.push(SimWorker { id, group: g });
            }
        }
        let mut wf = Workforce {
            groups: config.groups,
            workers,
            heap: BinaryHeap::new(),
            seq: 0,
            rng,
            truth,
            answer_field: config.answer_field,
            shapes: HashMap::new(),
            stats: WorkforceStats::default(),
        };
        let now = engine.now_ms();
        for w in 0..wf.workers.len() {
            let pause = wf.pause(w);
            wf.schedule(now + pause, Action::Look(w));
        }
        wf
    }

    pub fn worker_ids(&self) -> Vec<String> {
        self.workers.iter().map(|w| w.id.clone()).collect()
    }

    pub fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    fn schedule(&mut self, at: i64, action: Action) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, action)));
    }

    fn group(&self, w: usize) -> &GroupConfig {
        &self.groups[self.workers[w].group]
    }

    fn pause(&mut self, w: usize) -> i64 {
        let s = self.group(w).pause_seconds;
        sample_ms(&mut self.rng, s)
    }

    /// Performs the earliest action; the engine's clock is already at its time.
    pub async fn fire_next(&mut self, engine: &Engine) {
        let Some(Reverse((_, _, action))) = self.heap.pop() else { return };
        let now = engine.now_ms();
        match action {
            Action::Look(w) => self.look(w, engine).await,
            Action::Submit(w, assignment) => {
                self.submit(w, &assignment, engine).await;
                let pause = self.pause(w);
                self.schedule(now + pause, Action::Look(w));
            }
            Action::Return(w, assignment) => {
                if engine.return_assignment(&assignment).await.is_ok() {
                    self.stats.returned += 1;
                }
                let pause = self.pause(w);
                self.schedule(now + pause, Action::Look(w));
            }
        }
    }

    async fn look(&mut self, w: usize, engine: &Engine) {
        let now = engine.now_ms();
        let worker_id = self.workers[w].id.clone();
        let open = engine.open_hits_for(&worker_id, 20, 5_000).await.unwrap_or_default();
        if open.is_empty() {
            let pause = self.pause(w).max(30_000);
            self.schedule(now + pause, Action::Look(w));
            return;
        }
        let hit = &open[self.rng.random_range(0..open.len())];
        let Ok(assignment) = engine.accept(&hit.id, &worker_id).await else {
            let pause = self.pause(w);
            self.schedule(now + pause, Action::Look(w));
            return;
        };
        self.stats.accepted += 1;
        let duration_ms = match engine.hit_and_type(&hit.id).await {
            Ok(Some((_, t))) => t.key.assignment_duration_s * 1000,
            _ => i64::MAX,
        };
        let g = self.group(w).clone();
        let work = sample_ms(&mut self.rng, g.work_seconds);
        let roll: f64 = self.rng.random();
        if roll < g.return_rate {
            self.schedule(now + (work / 3).min(duration_ms - 1).max(1), Action::Return(w, assignment));
        } else if roll < g.return_rate + g.abandon_rate || work >= duration_ms {
            // The engine abandons it at the deadline; the worker moves on after.
            self.stats.abandoned += 1;
            let pause = self.pause(w);
            self.schedule(now + duration_ms + pause, Action::Look(w));
        } else {
            self.schedule(now + work, Action::Submit(w, assignment));
        }
    }

    async fn submit(&mut self, w: usize, assignment_id: &str, engine: &Engine) {
        let Ok(Some(a)) = engine.store().assignment(assignment_id).await else { return };
        let Ok(Some((hit, _))) = engine.hit_and_type(&a.hit_id).await else { return };
        let xml = self.answer_xml(w, &hit, engine);
        if engine.submit(assignment_id, xml).await.is_ok() {
            self.stats.submitted += 1;
        }
    }

    fn shape(&mut self, hit: &Hit, engine: &Engine) -> AnswerShape {
        if let Some(s) = self.shapes.get(&hit.id) {
            return s.clone();
        }
        let shape = match engine.question_of(hit) {
            Some(q) => answer_shape(&q, self.answer_field.as_deref()),
            None => AnswerShape::External { field: "label".into() },
        };
        self.shapes.insert(hit.id.clone(), shape.clone());
        shape
    }

    /// The answer this worker gives to this HIT, as the page would submit it.
    fn answer_xml(&mut self, w: usize, hit: &Hit, engine: &Engine) -> String {
        let shape = self.shape(hit, engine);
        let mut options: Vec<String> = match &shape {
            AnswerShape::CrowdForm { categories, .. } => categories.clone(),
            AnswerShape::PlainForm { options, .. } => options.clone(),
            AnswerShape::Form { selections, .. } => selections.clone(),
            AnswerShape::External { .. } => vec![],
        };
        if options.is_empty() {
            options = self.truth.label_set().to_vec();
        }
        let truth = self.truth.label_for(hit).map(str::to_string);
        let label = self.choose(w, truth.as_deref(), &options);
        match (&truth, to_option(truth.as_deref().unwrap_or(""), &options)) {
            (None, _) => self.stats.no_truth += 1,
            (Some(_), Some(t)) if t == label => self.stats.correct += 1,
            _ => self.stats.incorrect += 1,
        }
        match shape {
            AnswerShape::CrowdForm { field, .. } => crowd_form_answer(&field, &label),
            AnswerShape::PlainForm { field, .. } | AnswerShape::External { field } => {
                question_form_answers(&[(field, AnswerValue::FreeText(label))])
            }
            AnswerShape::Form { identifier, selections } if !selections.is_empty() => {
                question_form_answers(&[(identifier, AnswerValue::Selection(vec![label]))])
            }
            AnswerShape::Form { identifier, .. } => {
                question_form_answers(&[(identifier, AnswerValue::FreeText(label))])
            }
        }
    }

    fn choose(&mut self, w: usize, truth: Option<&str>, options: &[String]) -> String {
        let g = self.group(w).clone();
        let uniform = |rng: &mut ChaCha8Rng, opts: &[String]| -> String {
            if opts.is_empty() {
                String::new()
            } else {
                opts[rng.random_range(0..opts.len())].clone()
            }
        };
        match g.behaviour {
            Behaviour::Spammer => uniform(&mut self.rng, options),
            Behaviour::Fixed => {
                let a = g.answer.unwrap_or_default();
                to_option(&a, options).unwrap_or(a)
            }
            Behaviour::Honest => {
                let Some(t) = truth else { return uniform(&mut self.rng, options) };
                let correct = to_option(t, options).unwrap_or_else(|| t.to_string());
                if let Some(row) = g.confusion.get(t) {
                    let mut roll: f64 = self.rng.random();
                    for (answer, p) in row {
                        if roll < *p {
                            return to_option(answer, options).unwrap_or_else(|| answer.clone());
                        }
                        roll -= p;
                    }
                    return correct;
                }
                if self.rng.random::<f64>() < g.accuracy {
                    return correct;
                }
                let wrong: Vec<String> = options.iter().filter(|o| **o != correct).cloned().collect();
                if wrong.is_empty() {
                    correct
                } else {
                    uniform(&mut self.rng, &wrong)
                }
            }
        }
    }
}

/// The simulated crowd, advanced together with the engine in time order.
pub struct World {
    pub workforce: Option<Workforce>,
}

impl World {
    /// Runs everything due by `t` (what the records have due and worker
    /// actions, earliest first), then sets the engine's clock to `t`.
    pub async fn advance_to(&mut self, engine: &Engine, t: i64) -> StoreResult<()> {
        let mut pass = DuePass::default();
        loop {
            let e = engine.due_by(t, &mut pass).await?;
            let w = self.workforce.as_ref().and_then(Workforce::next_due).filter(|d| *d <= t);
            match (e, w) {
                (Some((k, _)), Some(w)) if w < k.0 => self.fire_worker(engine, w).await,
                (Some((key, due)), _) => engine.do_due(&key, &due, &mut pass).await,
                (None, Some(w)) => self.fire_worker(engine, w).await,
                (None, None) => break,
            }
        }
        engine.set_now(t);
        Ok(())
    }

    async fn fire_worker(&mut self, engine: &Engine, at: i64) {
        engine.set_now(at);
        if let Some(wf) = self.workforce.as_mut() {
            wf.fire_next(engine).await;
        }
    }
}
