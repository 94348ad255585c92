//! The requester operations on qualifications: types, granting one to a
//! worker, revoking it, and who holds a type.

use serde_json::{json, Value};

use super::{Engine, Tx};
use crate::error::{ApiError, ApiResult};
use crate::model::*;
use crate::params::{encode_token, Params};
use crate::store::Write;
use crate::{question, wire};

impl Engine {
    pub async fn create_qualification_type(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let name = p.str_len("Name", 1, 200)?;
        let description = p.str_len("Description", 1, 2000)?;
        let keywords = p.opt_str_len("Keywords", 0, 1000)?;
        let status = p.str("QualificationTypeStatus")?;
        if !matches!(status, "Active" | "Inactive") {
            return Err(ApiError::validation(format!(
                "The value {status} is not valid for the parameter QualificationTypeStatus."
            )));
        }
        let retry = p.opt_i64_range("RetryDelayInSeconds", 0, i64::MAX)?;
        let test = p.opt_str_len("Test", 1, 65_535)?;
        let answer_key = p.opt_str_len("AnswerKey", 1, 65_535)?;
        let test_duration = p.opt_i64_range("TestDurationInSeconds", 1, 31_536_000)?;
        let auto_granted = p.opt_bool("AutoGranted")?.unwrap_or(false);
        let auto_value = p.opt_i64("AutoGrantedValue")?;
        if test.is_some() && auto_granted {
            return Err(ApiError::validation("A QualificationType cannot have both a Test and AutoGranted."));
        }
        if test.is_some() && test_duration.is_none() {
            return Err(ApiError::validation("TestDurationInSeconds is required with a Test."));
        }
        if let Some(t) = test {
            question::validate(t)?;
        }
        if tx.store().qualification_type_by_name(name).await?.is_some() {
            return Err(ApiError::request(
                "AWS.MechanicalTurk.QualificationTypeAlreadyExists",
                "You have already created a QualificationType with this name. A QualificationType's name must be unique among all of the QualificationTypes created by the same user.",
            ));
        }
        let q = QualificationType {
            id: self.new_id(),
            created_ms: tx.now_ms,
            name: name.into(),
            description: description.into(),
            keywords: keywords.map(str::to_string),
            status: status.into(),
            retry_delay_s: retry,
            test: test.map(str::to_string),
            test_duration_s: test_duration,
            answer_key: answer_key.map(str::to_string),
            auto_granted,
            auto_granted_value: auto_granted.then_some(auto_value.unwrap_or(1)),
        };
        tx.push(Write::QualificationType(q.clone()));
        Ok(json!({ "QualificationType": wire::qualification_type(&q) }))
    }

    pub async fn associate_qualification_with_worker(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let type_id = p.entity_id("QualificationTypeId")?;
        let worker = p.worker_id("WorkerId")?;
        let value = p.opt_i64("IntegerValue")?.unwrap_or(1);
        p.opt_bool("SendNotification")?;
        self.existing_qualification_type(tx, type_id).await?;
        tx.push(Write::Qualification(Qualification {
            qualification_type_id: type_id.into(),
            worker_id: worker.into(),
            granted_ms: tx.now_ms,
            integer_value: value,
            granted: true,
        }));
        Ok(json!({}))
    }

    async fn existing_qualification_type(&self, tx: &mut Tx, type_id: &str) -> ApiResult<QualificationType> {
        tx.store().qualification_type(type_id).await?.ok_or_else(|| {
            ApiError::request(
                "AWS.MechanicalTurk.QualificationTypeDoesNotExist",
                format!("QualificationType {type_id} does not exist."),
            )
        })
    }

    /// Revokes a worker's qualification: kept, with the status Revoked, so
    /// the type's listing shows it and an auto-granted type does not grant
    /// it again.
    pub async fn disassociate_qualification_from_worker(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let worker = p.worker_id("WorkerId")?;
        let type_id = p.entity_id("QualificationTypeId")?;
        p.opt_str_len("Reason", 0, 4096)?;
        let t = self.existing_qualification_type(tx, type_id).await?;
        let held = tx.store().qualification(type_id, worker).await?;
        let q = match held {
            Some(q) if q.granted => q,
            Some(_) | None if t.auto_granted => Qualification {
                qualification_type_id: type_id.into(),
                worker_id: worker.into(),
                granted_ms: tx.now_ms,
                integer_value: t.auto_granted_value.unwrap_or(1),
                granted: true,
            },
            _ => {
                return Err(ApiError::request(
                    "AWS.MechanicalTurk.QualificationDoesNotExist",
                    format!("Worker {worker} does not hold QualificationType {type_id}."),
                ))
            }
        };
        tx.push(Write::Qualification(Qualification { granted: false, ..q }));
        Ok(json!({}))
    }

    /// The caller's types matching `Query`. The emulator keeps no listing of
    /// all types: it answers a Query that is a type's whole name (what a
    /// script looking for the type it created asks), MustBeOwnedByCaller
    /// true. MTurk's search would also match part of a name; its results
    /// include this one.
    pub async fn list_qualification_types(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let requestable_only =
            p.opt_bool("MustBeRequestable")?.ok_or_else(|| ApiError::validation("MustBeRequestable is required."))?;
        p.max_results()?;
        let (Some(query), Some(true)) = (p.opt_str("Query")?, p.opt_bool("MustBeOwnedByCaller")?) else {
            return Err(ApiError::request(
                "AWS.MechanicalTurk.UnsupportedOperation",
                "hitloop-mturk lists qualification types only by Query (a type's whole name) with MustBeOwnedByCaller true (see workforce/README.md).",
            ));
        };
        let found = match tx.store().qualification_type_by_name(query).await? {
            Some(id) => tx.store().qualification_type(&id).await?,
            None => None,
        };
        let found = found.filter(|t| !requestable_only || t.test.is_some() || t.auto_granted);
        let items: Vec<Value> = found.iter().map(wire::qualification_type).collect();
        Ok(json!({ "NumResults": items.len(), "QualificationTypes": items }))
    }

    pub async fn list_workers_with_qualification_type(&self, tx: &mut Tx, p: &Params<'_>) -> ApiResult<Value> {
        let type_id = p.entity_id("QualificationTypeId")?;
        let wanted = match p.opt_str("Status")? {
            None => None,
            Some("Granted") => Some(true),
            Some("Revoked") => Some(false),
            Some(other) => {
                return Err(ApiError::validation(format!("The value {other} is not valid for the parameter Status.")))
            }
        };
        let limit = p.max_results()?;
        self.existing_qualification_type(tx, type_id).await?;
        // Pages of the type's records, filtered by status, until a page of
        // results and one more (to know there is another page).
        let mut cursor = p.next_token()?.map(str::to_string);
        let mut rows = Vec::new();
        loop {
            let batch = tx.store().qualifications_of_type(type_id, cursor.as_deref(), limit + 1).await?;
            let exhausted = batch.len() <= limit;
            for (c, q) in batch {
                cursor = Some(c.clone());
                if wanted.is_none_or(|g| q.granted == g) {
                    rows.push((c, q));
                }
                if rows.len() > limit {
                    break;
                }
            }
            if exhausted || rows.len() > limit {
                break;
            }
        }
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(|(c, _)| encode_token(c)) } else { None };
        let items = rows.into_iter().map(|(_, q)| wire::qualification(&q)).collect();
        Ok(wire::page("Qualifications", items, next))
    }
}
