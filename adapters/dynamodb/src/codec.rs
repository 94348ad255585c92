//! The records as DynamoDB stores them, and their conversion to and from
//! hitloop's: serde_dynamo does the attribute values, serde_path_to_error
//! names the attribute a decoding failed on. Decoding is strict: a missing
//! or mistyped attribute is an error naming the record and the attribute,
//! never a silent `""` or `0`.

use std::collections::BTreeMap;

use hitloop_core::error::{Error, Result};
use hitloop_core::job::JobSpec;
use hitloop_core::money::Usd;
use hitloop_core::records::{
    AnswerRecord, DeploymentRecord, FinalCheck, Item, ItemModel, ItemStatus, Job, JobModel, JobStatus, TrainingRecord,
    WorkerEstimate, WorkerStanding,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keys::{self, Attrs};

/// Decodes a stored record; `record` names it in the error.
pub fn decode<T: DeserializeOwned>(record: &str, attrs: Attrs) -> Result<T> {
    let item: serde_dynamo::Item = attrs.into();
    let value = serde_dynamo::AttributeValue::M(item.into_inner());
    serde_path_to_error::deserialize(serde_dynamo::Deserializer::from_attribute_value(value)).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" attribute `{path}`:") };
        Error::Permanent(format!("the stored {record} cannot be read:{at} {}", e.inner()))
    })
}

pub fn encode<T: Serialize>(record: &str, row: &T) -> Result<Attrs> {
    serde_dynamo::to_item(row).map_err(|e| Error::Permanent(format!("{record} cannot be stored: {e}")))
}

fn parse<T: std::str::FromStr<Err = String>>(record: &str, attribute: &str, text: &str) -> Result<T> {
    text.parse()
        .map_err(|e| Error::Permanent(format!("the stored {record} cannot be read: attribute `{attribute}`: {e}")))
}

/// `#JOB`: what changes while a job runs but its decisions (the tallies').
#[derive(Debug, Serialize, Deserialize)]
pub struct StateRow {
    pub pk: String,
    pub sk: String,
    pub job_id: String,
    pub job_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub items: u64,
    pub bought: u64,
    pub reserved_cents: i64,
    /// The budget reservations are checked against (absent: no budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_cents: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_type_id: Option<String>,
    pub completion_sent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentRecord>,
    /// Workers blocked, and blocks the items were re-decided for (absent: 0).
    #[serde(default)]
    pub workers_blocked: u64,
    #[serde(default)]
    pub redecided_blocks: u64,
    /// A confidence job's final check: `due`, then `done` (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_check: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `#SPEC`: what a job was set up with; never changes (the budget, which
/// may, is the state's).
#[derive(Debug, Serialize, Deserialize)]
pub struct SetupRow {
    pub pk: String,
    pub sk: String,
    pub job_id: String,
    /// job.json as parsed, in JSON.
    pub spec: String,
    pub template: String,
    pub manifest_key: String,
    pub manifest_etag: String,
    pub bucket: String,
    pub columns: Vec<String>,
    pub created_at: i64,
}

pub fn job_rows(j: &Job) -> Result<(StateRow, SetupRow)> {
    let state = StateRow {
        pk: keys::job_pk(&j.job_id),
        sk: keys::STATE_SK.into(),
        job_id: j.job_id.clone(),
        job_status: j.status.as_str().into(),
        reason: j.reason.clone(),
        items: j.items,
        bought: j.assignments_bought,
        reserved_cents: j.reserved.cents(),
        budget_cents: j.spec.budget_usd.map(Usd::cents),
        hit_type_id: j.hit_type_id.clone(),
        completion_sent: j.completion_sent,
        outputs_at: j.outputs_at,
        training: j.training.clone(),
        deployment: j.deployment.clone(),
        workers_blocked: j.workers_blocked,
        redecided_blocks: j.redecided_blocks,
        final_check: (j.final_check != FinalCheck::NotWanted).then(|| j.final_check.as_str().to_string()),
        created_at: j.created_at,
        updated_at: j.updated_at,
    };
    let setup = SetupRow {
        pk: keys::job_pk(&j.job_id),
        sk: keys::SETUP_SK.into(),
        job_id: j.job_id.clone(),
        spec: serde_json::to_string(&j.spec).map_err(Error::permanent)?,
        template: j.template.clone(),
        manifest_key: j.manifest_key.clone(),
        manifest_etag: j.manifest_etag.clone(),
        bucket: j.bucket.clone(),
        columns: j.columns.clone(),
        created_at: j.created_at,
    };
    Ok((state, setup))
}

/// `#DONE#<n>`: a share of a job's decided items and what they cost. Written
/// with ADD only (it exists once something was counted on it).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    #[serde(default)]
    pub decided: u64,
    #[serde(default)]
    pub labeled: u64,
    #[serde(default)]
    pub unresolved: u64,
    #[serde(default)]
    pub answers: u64,
    #[serde(default)]
    pub spent_cents: i64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.decided += other.decided;
        self.labeled += other.labeled;
        self.unresolved += other.unresolved;
        self.answers += other.answers;
        self.spent_cents += other.spent_cents;
    }
}

pub fn job_from(state: StateRow, setup: SetupRow, tally: &Tally) -> Result<Job> {
    let record = format!("job {} ({})", state.job_id, keys::SETUP_SK);
    let mut spec: JobSpec = serde_json::from_str(&setup.spec)
        .map_err(|e| Error::Permanent(format!("the stored {record} cannot be read: attribute `spec`: {e}")))?;
    spec.budget_usd = state.budget_cents.map(Usd::from_cents);
    let final_check = final_check_of(&state)?;
    Ok(Job {
        status: parse(&format!("job {}", state.job_id), "job_status", &state.job_status)?,
        job_id: state.job_id,
        reason: state.reason,
        spec,
        template: setup.template,
        manifest_key: setup.manifest_key,
        manifest_etag: setup.manifest_etag,
        items: state.items,
        decided: tally.decided,
        labeled: tally.labeled,
        unresolved: tally.unresolved,
        answers: tally.answers,
        assignments_bought: state.bought,
        reserved: Usd::from_cents(state.reserved_cents),
        spent: Usd::from_cents(tally.spent_cents),
        hit_type_id: state.hit_type_id,
        completion_sent: state.completion_sent,
        bucket: setup.bucket,
        columns: setup.columns,
        outputs_at: state.outputs_at,
        training: state.training,
        deployment: state.deployment,
        workers_blocked: state.workers_blocked,
        redecided_blocks: state.redecided_blocks,
        final_check,
        created_at: state.created_at,
        updated_at: state.updated_at,
    })
}

fn final_check_of(state: &StateRow) -> Result<FinalCheck> {
    match state.final_check.as_deref() {
        None => Ok(FinalCheck::NotWanted),
        Some(c) => parse(&format!("job {}", state.job_id), "final_check", c),
    }
}

pub fn status_of(state: &StateRow) -> Result<JobStatus> {
    parse(&format!("job {}", state.job_id), "job_status", &state.job_status)
}

/// `ITEM#<item>`: an item with its answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct ItemRow {
    pub pk: String,
    pub sk: String,
    pub job_id: String,
    pub item_id: String,
    pub line: u64,
    /// The manifest row's values.
    pub row: BTreeMap<String, String>,
    pub item_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_id: Option<String>,
    pub bought: u32,
    pub rounds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub agreed: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    pub answers: Vec<AnswerRecord>,
    pub spent_cents: i64,
    pub released_cents: i64,
    pub version: u64,
    pub updated_at: i64,
    /// Only while the item is open (the sparse index for sweep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_sk: Option<String>,
    /// What the job's worker model counted of the item (confidence jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ItemModel>,
    /// Only while the item has answers the worker model has not counted
    /// (the sparse index for refit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refit_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refit_sk: Option<String>,
}

pub fn item_row(i: &Item) -> ItemRow {
    let open = !i.status.is_decided();
    ItemRow {
        pk: keys::job_pk(&i.job_id),
        sk: keys::item_sk(&i.item_id),
        job_id: i.job_id.clone(),
        item_id: i.item_id.clone(),
        line: i.line,
        row: i.values.clone(),
        item_status: i.status.as_str().into(),
        hit_id: i.hit_id.clone(),
        bought: i.bought,
        rounds: i.rounds,
        label: i.label.clone(),
        agreed: i.agreed,
        confidence: i.confidence,
        answers: i.answers.clone(),
        spent_cents: i.spent.cents(),
        released_cents: i.released.cents(),
        version: i.version,
        updated_at: i.updated_at,
        open_shard: open.then(|| keys::open_shard(keys::shard_of(&i.job_id, &i.item_id))),
        open_sk: open.then(|| keys::open_sk(&i.job_id, &i.item_id)),
        model: i.model.clone(),
        refit_pk: None,
        refit_sk: None,
    }
}

pub fn item_from(r: ItemRow) -> Result<Item> {
    let status: ItemStatus = parse(&format!("item {} of job {}", r.item_id, r.job_id), "item_status", &r.item_status)?;
    let mut answers = r.answers;
    answers.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at).then(a.assignment_id.cmp(&b.assignment_id)));
    Ok(Item {
        job_id: r.job_id,
        item_id: r.item_id,
        line: r.line,
        values: r.row,
        status,
        hit_id: r.hit_id,
        bought: r.bought,
        rounds: r.rounds,
        label: r.label,
        agreed: r.agreed,
        confidence: r.confidence,
        answers,
        spent: Usd::from_cents(r.spent_cents),
        released: Usd::from_cents(r.released_cents),
        model: r.model,
        version: r.version,
        updated_at: r.updated_at,
    })
}

/// Decodes an item record.
pub fn item(attrs: Attrs) -> Result<Item> {
    let name = item_name(&attrs);
    item_from(decode(&name, attrs)?)
}

/// `item <id> of job <id>`, as far as the record says, for errors.
fn item_name(attrs: &Attrs) -> String {
    let text = |k: &str| attrs.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_else(|| "?".into());
    format!("item {} of job {}", text("item_id"), text("job_id"))
}

/// `WORKER#<worker>`.
#[derive(Debug, Serialize, Deserialize)]
pub struct EstimateRow {
    pub pk: String,
    pub sk: String,
    pub job_id: String,
    #[serde(flatten)]
    pub estimate: WorkerEstimate,
}

/// `STANDING#<worker>`: written with ADD (gold answers) and a conditional
/// SET (the block), so every attribute but the keys may be absent.
#[derive(Debug, Serialize, Deserialize)]
pub struct StandingRow {
    pub pk: String,
    pub sk: String,
    #[serde(flatten)]
    pub standing: WorkerStanding,
}

/// `MODEL`: a confidence job's worker model as a whole.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModelRow {
    pub pk: String,
    pub sk: String,
    pub job_id: String,
    #[serde(flatten)]
    pub model: JobModel,
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn job() -> Job {
        let spec = JobSpec::parse(r#"{"labels": ["a", "b"], "budget_usd": "5.00"}"#).unwrap();
        let mut j = Job::new("iris", JobStatus::Labeling, spec, "<p>${x}</p>".into(), "jobs/iris/manifest.csv", "e", 3);
        j.columns = vec!["id".into(), "x".into()];
        j.bucket = "b".into();
        j.training = Some(TrainingRecord { name: "hitloop-iris-abcdef".into(), ..Default::default() });
        j.deployment = Some(DeploymentRecord {
            endpoint: "hitloop-iris-abcdef".into(),
            version: 2,
            model: "hitloop-iris-abcdef-v2".into(),
            serving: Some(1),
            ..Default::default()
        });
        j
    }

    #[test]
    fn a_job_round_trips_through_its_two_records() {
        let j = job();
        let (state, setup) = job_rows(&j).unwrap();
        let state: StateRow = decode("job", encode("job", &state).unwrap()).unwrap();
        let setup: SetupRow = decode("job", encode("job", &setup).unwrap()).unwrap();
        assert_eq!(job_from(state, setup, &Tally::default()).unwrap(), j);
    }

    #[test]
    fn an_item_with_answers_round_trips() {
        let mut i = Item::pending("iris", "iris-001", 2, [("x".to_string(), "1".to_string())].into(), 7);
        i.status = ItemStatus::Published;
        i.hit_id = Some("H".into());
        i.confidence = Some(0.5);
        i.answers = vec![AnswerRecord {
            assignment_id: "A".into(),
            worker_id: "W".into(),
            label: None,
            invalid_reason: Some("unreadable".into()),
            submitted_at: 3,
        }];
        let attrs = encode("item", &item_row(&i)).unwrap();
        assert!(attrs.contains_key("open_shard"), "an open item is in sweep's index");
        assert_eq!(item(attrs).unwrap(), i);
        i.status = ItemStatus::Labeled;
        assert!(!encode("item", &item_row(&i)).unwrap().contains_key("open_shard"));
    }

    #[test]
    fn a_missing_or_mistyped_attribute_names_the_record_and_the_attribute() {
        let (state, _) = job_rows(&job()).unwrap();
        let mut attrs = encode("job", &state).unwrap();
        attrs.remove("reserved_cents");
        let e = decode::<StateRow>("job iris (#JOB)", attrs).unwrap_err().to_string();
        assert!(e.contains("job iris (#JOB)") && e.contains("reserved_cents"), "{e}");

        let mut attrs = encode("item", &item_row(&Item::pending("iris", "7", 2, Default::default(), 0))).unwrap();
        attrs.insert("bought".into(), AttributeValue::S("two".into()));
        let e = item(attrs).unwrap_err().to_string();
        assert!(e.contains("item 7 of job iris") && e.contains("`bought`"), "{e}");

        let mut attrs = encode("item", &item_row(&Item::pending("iris", "7", 2, Default::default(), 0))).unwrap();
        attrs.insert("item_status".into(), AttributeValue::S("lost".into()));
        let e = item(attrs).unwrap_err().to_string();
        assert!(e.contains("item_status") && e.contains("lost"), "{e}");
    }
}
