//! `hitloop workforce workers | payouts | block | unblock | qualify |
//! deposit`: the team lead's view of the people and the money, run with the
//! team lead's AWS credentials on the service's table (and, for emails, its
//! user pool). Each goes through the service's own engine, so a block or a
//! qualification is exactly what CreateWorkerBlock or
//! AssociateQualificationWithWorker would have written.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use hitloop_core::money::Usd;
use hitloop_core::worker_agreement::{parse_workers_csv, WorkerAgreement};
use hitloop_workforce::engine::{Engine, EngineConfig};
use hitloop_workforce::figures::{Window, WorkerFigures};
use hitloop_workforce::ids;
use serde_json::{json, Value};

/// The service's records and, when a user pool is named, who is who.
pub struct Team {
    engine: Engine,
    /// Worker id to email, from the user pool.
    emails: HashMap<String, String>,
    has_pool: bool,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Team {
    pub async fn open(sdk: &hitloop_aws::SdkConfig, table: &str, user_pool: Option<&str>) -> Result<Team, String> {
        let store = hitloop_workforce_dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table);
        // Ids seeded from the OS, as a deployed service's: the CLI is one
        // more process writing the table.
        let config = EngineConfig { seed: None, ..Default::default() };
        let engine = Engine::new(Arc::new(store), config, now_ms());
        let mut emails = HashMap::new();
        if let Some(pool_id) = user_pool {
            let pool = hitloop_workforce_cognito::UserPool { pool_id: pool_id.to_string(), client_id: String::new() };
            let directory = hitloop_workforce_cognito::CognitoDirectory::new(sdk, pool);
            for (email, worker) in directory.people().await.map_err(|e| format!("user pool {pool_id}: {e}"))? {
                emails.insert(worker, email);
            }
        }
        Ok(Team { engine, emails, has_pool: user_pool.is_some() })
    }

    fn email_of(&self, worker: &str) -> &str {
        self.emails.get(worker).map(String::as_str).unwrap_or("")
    }

    /// A worker id as given, or the worker id of an email in the user pool.
    pub fn worker(&self, who: &str) -> Result<String, String> {
        if who.contains('@') {
            if !self.has_pool {
                return Err(format!("{who}: an email needs --user-pool (or HITLOOP_WORKFORCE_USER_POOL)"));
            }
            return self
                .emails
                .iter()
                .find(|(_, email)| email.eq_ignore_ascii_case(who))
                .map(|(worker, _)| worker.clone())
                .ok_or_else(|| format!("{who} is not in the user pool (hitloop workforce invite adds people)"));
        }
        if !ids::is_worker_id(who) {
            return Err(format!("{who} is not a worker id (an A followed by capitals and digits) or an email"));
        }
        Ok(who.to_string())
    }

    async fn call(&self, operation: &str, input: Value) -> Result<Value, String> {
        hitloop_workforce::api::call(&self.engine, operation, &input).await.map_err(|e| e.message)
    }

    async fn blocked(&self) -> Result<HashMap<String, String>, String> {
        let mut out = HashMap::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.engine.store().blocks(after.as_deref(), 100).await.map_err(|e| e.to_string())?;
            let Some((last, _)) = page.last() else { return Ok(out) };
            after = Some(last.clone());
            out.extend(page.into_iter().map(|(_, pair)| pair));
        }
    }

    async fn figures(&self, window: Window, active_only: bool) -> Result<Vec<WorkerFigures>, String> {
        self.engine.all_worker_figures(window, active_only).await.map_err(|e| e.to_string())
    }
}

/// `--from` and `--to` as whole UTC days, both included.
pub fn window(from: Option<&str>, to: Option<&str>) -> Result<Window, String> {
    let day = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| format!("{s}: a date is YYYY-MM-DD"))
            .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).timestamp_millis())
    };
    let from_ms = from.map(day).transpose()?.unwrap_or(i64::MIN);
    let to_ms = to.map(day).transpose()?.map(|t| t + 24 * 3600 * 1000).unwrap_or(i64::MAX);
    if from_ms >= to_ms {
        return Err("--from must be on or before --to".into());
    }
    Ok(Window { from_ms, to_ms })
}

fn minutes(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 60_000.0)
}

/// Each worker's agreement with the final labels of `jobs`, summed, from
/// the `workers.csv` each finished job wrote; a job not finished yet is an
/// error that says so.
pub async fn agreement(
    target: &super::target::Target,
    jobs: &[String],
) -> Result<HashMap<String, WorkerAgreement>, String> {
    let mut out: HashMap<String, WorkerAgreement> = HashMap::new();
    for job in jobs {
        let key = hitloop_core::dataset::OutputKeys::of(job).workers;
        let bytes = target.get(&key).await.ok_or_else(|| {
            format!("job {job} has no {key} (written when every item is decided): see `hitloop status {job}`")
        })?;
        for mut row in parse_workers_csv(&bytes).map_err(|e| format!("{key}: {e}"))? {
            // workers.csv says why; the table names the job.
            row.blocked = row.blocked.iter().map(|_| format!("job {job}")).collect();
            out.entry(row.worker_id.clone())
                .or_insert_with(|| WorkerAgreement { worker_id: row.worker_id.clone(), ..Default::default() })
                .add(&row);
        }
    }
    Ok(out)
}

/// The table of every worker's figures (in the window), with emails when
/// the user pool is known, the block's reason when blocked, and, given the
/// jobs' agreement, the share of their answers that were the final label
/// (and the jobs that blocked them for their gold answers).
pub async fn workers(
    team: &Team,
    window: Window,
    agreement: Option<&HashMap<String, WorkerAgreement>>,
) -> Result<String, String> {
    let figures = team.figures(window, window != Window::ALL).await?;
    let blocked = team.blocked().await?;
    let mut out = format!(
        "{:<16} {:<28} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>8} {:>9} {:>9} {:>6}  {}\n",
        "WORKER",
        "EMAIL",
        "SUBM",
        "APPR",
        "REJ",
        "WAIT",
        "RET",
        "ABAN",
        "MED MIN",
        "ACTIVE H",
        "EARNED",
        "AGREE",
        "BLOCKED"
    );
    for f in &figures {
        let agree = agreement
            .and_then(|a| a.get(&f.worker_id))
            .and_then(WorkerAgreement::agreement)
            .map(|a| format!("{:.0}%", a * 100.0))
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{:<16} {:<28} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>8} {:>9.2} {:>9} {:>6}  {}\n",
            f.worker_id,
            team.email_of(&f.worker_id),
            f.submitted,
            f.approved,
            f.rejected,
            f.awaiting_review,
            f.returned,
            f.abandoned,
            f.median_active_ms.map(minutes).unwrap_or_else(|| "-".into()),
            f.active_ms as f64 / 3_600_000.0,
            format!("${}", f.earnings()),
            agree,
            match (blocked.get(&f.worker_id), agreement.and_then(|a| a.get(&f.worker_id))) {
                (Some(reason), _) => reason.clone(),
                (None, Some(a)) if !a.blocked.is_empty() => format!("on {} (gold answers)", a.blocked.join(", ")),
                _ => String::new(),
            },
        ));
    }
    if figures.is_empty() {
        out.push_str("(nobody has worked on this service's HITs in that time)\n");
    }
    if agreement.is_some() {
        out.push_str("AGREE: the share of their answers on the jobs' labeled items that were the final label\n");
    }
    Ok(out)
}

/// What each worker is owed for the window, as CSV: worker id, email,
/// approved assignments, rewards, bonuses, total. The money itself is paid
/// outside hitloop.
pub async fn payouts(team: &Team, window: Window) -> Result<String, String> {
    let figures = team.figures(window, true).await?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let row = |csv: &mut csv::Writer<Vec<u8>>, fields: &[&str]| csv.write_record(fields).map_err(|e| e.to_string());
    row(&mut csv, &["worker_id", "email", "approved_assignments", "rewards_usd", "bonuses_usd", "total_usd"])?;
    let mut total = Usd::ZERO;
    for f in figures.iter().filter(|f| f.earnings() > Usd::ZERO) {
        total += f.earnings();
        row(
            &mut csv,
            &[
                &f.worker_id,
                team.email_of(&f.worker_id),
                &f.approved.to_string(),
                &f.rewards.to_string(),
                &f.bonuses.to_string(),
                &f.earnings().to_string(),
            ],
        )?;
    }
    let bytes = csv.into_inner().map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
    eprintln!("total owed: ${total}");
    Ok(text)
}

pub async fn block(team: &Team, who: &str, reason: &str) -> Result<String, String> {
    let worker = team.worker(who)?;
    team.call("CreateWorkerBlock", json!({ "WorkerId": worker, "Reason": reason })).await?;
    Ok(format!("blocked {worker}: they can no longer accept HITs (their submitted work stays as it is)\n"))
}

pub async fn unblock(team: &Team, who: &str, reason: Option<&str>) -> Result<String, String> {
    let worker = team.worker(who)?;
    let mut input = json!({ "WorkerId": worker });
    if let Some(r) = reason {
        input["Reason"] = json!(r);
    }
    team.call("DeleteWorkerBlock", input).await?;
    Ok(format!("unblocked {worker}\n"))
}

/// Grants `qualification` (a type's name or id) with `value`; `create`
/// makes a type of that name first if there is none.
pub async fn qualify(team: &Team, who: &str, qualification: &str, value: i64, create: bool) -> Result<String, String> {
    let worker = team.worker(who)?;
    let store = team.engine.store();
    let by_name = store.qualification_type_by_name(qualification).await.map_err(|e| e.to_string())?;
    let type_id = match by_name {
        Some(id) => id,
        None if store.qualification_type(qualification).await.map_err(|e| e.to_string())?.is_some() => {
            qualification.to_string()
        }
        None if create => {
            let made = team
                .call(
                    "CreateQualificationType",
                    json!({
                        "Name": qualification,
                        "Description": format!("{qualification} (granted by the team lead with hitloop workforce qualify)"),
                        "QualificationTypeStatus": "Active",
                    }),
                )
                .await?;
            made["QualificationType"]["QualificationTypeId"].as_str().unwrap_or_default().to_string()
        }
        None => return Err(no_such_type(qualification)),
    };
    team.call(
        "AssociateQualificationWithWorker",
        json!({ "QualificationTypeId": type_id, "WorkerId": worker, "IntegerValue": value }),
    )
    .await?;
    Ok(format!("{worker} holds {qualification} ({type_id}) = {value}\n"))
}

fn no_such_type(qualification: &str) -> String {
    format!("there is no qualification type named or numbered {qualification}: add --create to make one of that name")
}

/// Pays `amount` into the account: what GetAccountBalance shows grows by it.
pub async fn deposit(team: &Team, amount: &str) -> Result<String, String> {
    let usd: Usd = amount.trim_start_matches('$').parse().map_err(|_| format!("{amount}: an amount is like 25.00"))?;
    if usd <= Usd::ZERO {
        return Err("a deposit is more than $0.00".into());
    }
    team.engine.deposit(usd).await.map_err(|e| e.message)?;
    let balance = team.call("GetAccountBalance", json!({})).await?;
    Ok(format!(
        "deposited ${usd}: available ${}, on hold ${}\n",
        balance["AvailableBalance"].as_str().unwrap_or("?"),
        balance["OnHoldBalance"].as_str().unwrap_or("?")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_whole_utc_days_both_included() {
        let w = window(Some("2026-11-01"), Some("2026-11-30")).unwrap();
        assert_eq!(w.from_ms, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap().timestamp_millis());
        assert_eq!(w.to_ms, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap().timestamp_millis());
        assert_eq!(window(None, None).unwrap(), Window::ALL);
        assert!(window(Some("2026-12-02"), Some("2026-12-01")).is_err());
        assert!(window(Some("1 Nov"), None).unwrap_err().contains("YYYY-MM-DD"));
    }
}
