//! What a finished job blocked, read back: who and why from the standings
//! in DynamoDB, who the MTurk-compatible service has revoked, and how each
//! worker did against the true labels (for tests that judge the blocks).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_mturk::types::QualificationStatus;
use hitloop_pipeline::ports::crowd::access_name;
use hitloop_pipeline::ports::Standings;

use super::invariants::mturk_client;
use super::Stack;

/// worker -> why the job blocked them.
pub async fn blocked(stack: &Stack, job_id: &str) -> BTreeMap<String, String> {
    let standings = stack.store.all_standings(job_id).await.unwrap();
    standings.iter().filter_map(|s| Some((s.worker_id.clone(), s.blocked.clone()?))).collect()
}

/// worker -> (answers that were the true label, answers), printed with
/// whether and why each was blocked.
pub async fn measured(
    stack: &Stack,
    job_id: &str,
    truth: &BTreeMap<String, String>,
    blocked: &BTreeMap<String, String>,
) -> BTreeMap<String, (u32, u32)> {
    let mut out: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for i in &stack.items(job_id).await {
        for a in &i.answers {
            let m = out.entry(a.worker_id.clone()).or_default();
            m.1 += 1;
            m.0 += u32::from(a.label.as_deref() == Some(truth[&i.item_id].as_str()));
        }
    }
    for (w, (right, all)) in &out {
        eprintln!("{w}: {right}/{all} right, blocked: {:?}", blocked.get(w));
    }
    out
}

/// The workers whose access to the job the service has revoked.
pub async fn revoked(stack: &Stack, job_id: &str) -> BTreeSet<String> {
    let mturk = mturk_client(&stack.mturk).await;
    let types = mturk
        .list_qualification_types()
        .query(access_name(job_id))
        .must_be_requestable(false)
        .must_be_owned_by_caller(true)
        .send()
        .await
        .unwrap();
    let access = types.qualification_types()[0].qualification_type_id().unwrap().to_string();
    let revoked = mturk
        .list_workers_with_qualification_type()
        .qualification_type_id(&access)
        .status(QualificationStatus::Revoked)
        .send()
        .await
        .unwrap();
    revoked.qualifications().iter().filter_map(|q| q.worker_id().map(str::to_string)).collect()
}
