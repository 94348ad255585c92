//! The table's key schema, in one place. One table; every record of a job
//! under the job's partition:
//!
//! | record | pk | sk | written by |
//! |---|---|---|---|
//! | a tally of the job's decided items (one of 8) | `JOB#<job>` | `#DONE#<0..7>` | the write that decides an item |
//! | job state: status, money (budget, reservations), training | `JOB#<job>` | `#JOB` | every step |
//! | job setup: spec, template, manifest, bucket (never changes) | `JOB#<job>` | `#SPEC` | ingest |
//! | item, with its answers | `JOB#<job>` | `ITEM#<item>` | ingest, publish, collect, sweep |
//! | worker estimate | `JOB#<job>` | `WORKER#<worker>` | a worker model's refit |
//! | worker standing: gold answers, the block | `JOB#<job>` | `STANDING#<worker>` | the write recording a gold item's answers; a block |
//! | the job's worker model (pooled counts, generation) | `JOB#<job>` | `MODEL` | a refit |
//! | a prediction batch | `JOB#<job>` | `BATCH#<batch>` | ingest (checked), train (transform, predictions) |
//!
//! Indexes: `jobs-by-status` (`job_status`, `created_at`) over job state
//! records; the sparse `open-items` (`open_shard`, `open_sk`) over items
//! not yet decided, for sweep (an item loses both attributes when decided),
//! and under its own partition `BATCHES` over open prediction batches
//! (`PredictionBatch::is_open`; a batch record is replaced whole, without
//! them once it is done);
//! the sparse `items-to-refit` (`refit_pk` = `REFIT#<job>`, `refit_sk` =
//! item) over a confidence job's items with answers its worker model has
//! not counted (set by the write that records answers, removed by the refit).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub const JOBS_BY_STATUS: &str = "jobs-by-status";
pub const OPEN_ITEMS: &str = "open-items";
pub const ITEMS_TO_REFIT: &str = "items-to-refit";
/// Outside the job's `#DONE#0`..`#SPEC` range, which reading a job reads.
pub const MODEL_SK: &str = "MODEL";
/// Partitions of the open-items index: sweep's reads spread over them.
pub const OPEN_SHARDS: u32 = 8;

pub const STATE_SK: &str = "#JOB";
/// Tallies sort before the state ("#D" < "#J" < "#S"): a job's records are one range.
pub const TALLY_PREFIX: &str = "#DONE#";
/// Tallies a job's decisions are spread over: concurrent decisions rarely
/// write the same record, and none writes the job's state.
pub const TALLIES: u32 = 8;
pub const SETUP_SK: &str = "#SPEC";
pub const ITEM_PREFIX: &str = "ITEM#";
pub const WORKER_PREFIX: &str = "WORKER#";
pub const STANDING_PREFIX: &str = "STANDING#";
pub const BATCH_PREFIX: &str = "BATCH#";

pub type Attrs = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn job_pk(job_id: &str) -> String {
    format!("JOB#{job_id}")
}

pub fn batch_key(job_id: &str, batch: &str) -> Attrs {
    HashMap::from([("pk".to_string(), s(job_pk(job_id))), ("sk".to_string(), s(format!("{BATCH_PREFIX}{batch}")))])
}

pub fn item_sk(item_id: &str) -> String {
    format!("{ITEM_PREFIX}{item_id}")
}

pub fn worker_sk(worker_id: &str) -> String {
    format!("{WORKER_PREFIX}{worker_id}")
}

pub fn standing_key(job_id: &str, worker_id: &str) -> Attrs {
    key(job_pk(job_id), format!("{STANDING_PREFIX}{worker_id}"))
}

pub fn tally_sk(shard: u32) -> String {
    format!("{TALLY_PREFIX}{shard}")
}

/// The tally an item's decision counts on.
pub fn tally_key(job_id: &str, item_id: &str) -> Attrs {
    key(job_pk(job_id), tally_sk(shard_of(job_id, item_id) % TALLIES))
}

pub fn key(pk: String, sk: impl Into<String>) -> Attrs {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

pub fn state_key(job_id: &str) -> Attrs {
    key(job_pk(job_id), STATE_SK)
}

pub fn setup_key(job_id: &str) -> Attrs {
    key(job_pk(job_id), SETUP_SK)
}

pub fn item_key(job_id: &str, item_id: &str) -> Attrs {
    key(job_pk(job_id), item_sk(item_id))
}

pub fn model_key(job_id: &str) -> Attrs {
    key(job_pk(job_id), MODEL_SK)
}

/// A job's partition of the refit index.
pub fn refit_pk(job_id: &str) -> String {
    format!("REFIT#{job_id}")
}

/// The open-items shard of an item: spreads sweep's index over partitions.
pub fn shard_of(job_id: &str, item_id: &str) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for b in job_id.bytes().chain([0]).chain(item_id.bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    h % OPEN_SHARDS
}

/// The open-items index's partition of open prediction batches: outside
/// the items' shards, so sweep's items never meet a batch.
pub const OPEN_BATCHES: &str = "BATCHES";

pub fn open_shard(shard: u32) -> String {
    format!("OPEN#{shard}")
}

/// An open item's sort key in the index: job, then item.
pub fn open_sk(job_id: &str, item_id: &str) -> String {
    format!("{job_id}#{item_id}")
}

/// sweep's place in the open-items index: a shard, and the last key read in it.
pub fn open_cursor(shard: u32, after: Option<&str>) -> String {
    format!("{shard}:{}", after.unwrap_or(""))
}

pub fn parse_open_cursor(cursor: &str) -> Option<(u32, Option<String>)> {
    let (shard, after) = cursor.split_once(':')?;
    Some((shard.parse().ok()?, (!after.is_empty()).then(|| after.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_and_cursors_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200 {
            seen.insert(shard_of("iris", &format!("iris-{i:03}")));
        }
        assert_eq!(seen.len() as u32, OPEN_SHARDS, "every shard used");
        assert_eq!(parse_open_cursor(&open_cursor(3, Some("j#i:x"))), Some((3, Some("j#i:x".into()))));
        assert_eq!(parse_open_cursor(&open_cursor(0, None)), Some((0, None)));
        assert_eq!(parse_open_cursor("nonsense"), None);
        assert!(tally_sk(0).as_str() < STATE_SK && STATE_SK < SETUP_SK, "a job's records are one range");
    }
}
