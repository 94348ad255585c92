//! Listing HITs with no scan and no global counter: by creation, one index
//! partition a month (`HITS#<yyyy-mm>`, from the account's first month to
//! now), and by status (`STATUS#<status>`); both sorted by
//! `<created ms>#<hit id>`. Pagination tokens name where a page stopped.

use chrono::{Datelike, TimeZone, Utc};

use crate::marketplace::{hit_key, key, s, DynamoMarketplace, Item, Outcome, Refusal, StoreError, ACCOUNT};
use crate::table::{CREATED_SK, HITS_BY_MONTH, HITS_BY_STATUS, MONTH_PK, PK, STATUS_PK};

/// Where a HIT is listed.
pub struct Listing {
    pub month: String,
    pub created_sk: String,
}

impl Listing {
    pub fn new(hit_id: &str, created_ms: i64, tiebreak: u64) -> Self {
        Listing { month: month_of(created_ms), created_sk: format!("{created_ms:013}#{tiebreak:010}#{hit_id}") }
    }

    /// The attributes that place a HIT of `status` in both indexes.
    pub fn attributes(&self, status: &str) -> Item {
        Item::from([
            ("status".to_string(), s(status)),
            (STATUS_PK.to_string(), s(&format!("STATUS#{status}"))),
            (MONTH_PK.to_string(), s(&format!("HITS#{}", self.month))),
            (CREATED_SK.to_string(), s(&self.created_sk)),
        ])
    }
}

pub(crate) fn month_of(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map(|t| format!("{:04}-{:02}", t.year(), t.month())).unwrap_or_default()
}

pub(crate) fn next_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    Some(if m >= 12 { format!("{:04}-01", y + 1) } else { format!("{y:04}-{:02}", m + 1) })
}

/// The HIT id a sort key ends in.
pub(crate) fn hit_of(created_sk: &str) -> Option<&str> {
    created_sk.rsplit_once('#').map(|(_, id)| id).filter(|id| !id.is_empty())
}

/// One page of HIT ids, and where the next starts (None: no more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub hit_ids: Vec<String>,
    pub next_token: Option<String>,
}

pub type Listed = Result<Result<Page, Refusal>, StoreError>;

impl DynamoMarketplace {
    /// Moves a HIT from status `from` to `to` (and between the status
    /// index's partitions); `Stale` if it is not in `from` any more.
    pub async fn set_status(&self, hit_id: &str, from: &str, to: &str) -> Outcome {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(hit_key(hit_id)))
            .update_expression("SET #status = :to, status_pk = :to_pk")
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":to_pk", s(&format!("STATUS#{to}")))
            .expression_attribute_values(":from", s(from))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(Err(Refusal::Stale))
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// Up to `limit` ids from one index partition, after `after` (a sort key).
    async fn query(
        &self,
        index: &str,
        partition: (&str, String),
        after: Option<&str>,
        limit: i32,
    ) -> Result<(Vec<String>, bool), StoreError> {
        let start = match after {
            Some(created_sk) => {
                let hit = hit_of(created_sk).unwrap_or_default();
                let mut k = hit_key(hit);
                k.insert(partition.0.to_string(), s(&partition.1));
                k.insert(CREATED_SK.to_string(), s(created_sk));
                Some(k)
            }
            None => None,
        };
        let out = self
            .ddb
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", partition.0)
            .expression_attribute_values(":p", s(&partition.1))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let mut ids = Vec::new();
        for item in out.items.unwrap_or_default() {
            match item.get(CREATED_SK).and_then(|v| v.as_s().ok()) {
                Some(sk) => ids.push(sk.clone()),
                None => {
                    return Err(StoreError::Corrupt(format!("a listed HIT has no {CREATED_SK}: {:?}", item.get(PK))))
                }
            }
        }
        Ok((ids, out.last_evaluated_key.is_some()))
    }

    /// HITs of one status, oldest first.
    pub async fn list_by_status(&self, status: &str, token: Option<&str>, limit: i32) -> Listed {
        if token.is_some_and(|t| hit_of(t).is_none()) {
            return Ok(Err(Refusal::BadToken));
        }
        let (keys, more) = self.query(HITS_BY_STATUS, (STATUS_PK, format!("STATUS#{status}")), token, limit).await?;
        let next_token = if more { keys.last().cloned() } else { None };
        Ok(Ok(Page { hit_ids: keys.iter().filter_map(|k| hit_of(k).map(str::to_string)).collect(), next_token }))
    }

    /// Every HIT, oldest first: month by month from the account's first to
    /// `now_ms`'s. A token is `<month>|<sort key>`.
    pub async fn list_hits(&self, token: Option<&str>, limit: i32, now_ms: i64) -> Listed {
        let (mut month, mut after) = match token {
            Some(t) => match t.split_once('|') {
                Some((m, sk)) if next_month(m).is_some() && hit_of(sk).is_some() => {
                    (m.to_string(), Some(sk.to_string()))
                }
                _ => return Ok(Err(Refusal::BadToken)),
            },
            None => match self.first_month().await? {
                Some(m) => (m, None),
                None => return Ok(Ok(Page { hit_ids: vec![], next_token: None })),
            },
        };
        let last = month_of(now_ms);
        let mut keys: Vec<String> = Vec::new();
        while month <= last {
            let want = limit - keys.len() as i32;
            let (page, more) =
                self.query(HITS_BY_MONTH, (MONTH_PK, format!("HITS#{month}")), after.as_deref(), want).await?;
            keys.extend(page);
            if keys.len() as i32 >= limit {
                let next_token = (more || month < last).then(|| format!("{month}|{}", keys[keys.len() - 1]));
                return Ok(Ok(Page { hit_ids: ids_of(&keys), next_token }));
            }
            month = match next_month(&month) {
                Some(m) => m,
                None => break,
            };
            after = None;
        }
        Ok(Ok(Page { hit_ids: ids_of(&keys), next_token: None }))
    }

    async fn first_month(&self) -> Result<Option<String>, StoreError> {
        let account = self.get(key(ACCOUNT.into(), ACCOUNT)).await?;
        Ok(account.and_then(|a| a.get("first_month").and_then(|v| v.as_s().ok()).cloned()))
    }
}

fn ids_of(keys: &[String]) -> Vec<String> {
    keys.iter().filter_map(|k| hit_of(k).map(str::to_string)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn months_and_sort_keys() {
        assert_eq!(month_of(0), "1970-01");
        assert_eq!(next_month("2026-12").as_deref(), Some("2027-01"));
        assert_eq!(next_month("2026-09").as_deref(), Some("2026-10"));
        assert_eq!(next_month("garbage"), None);
        let l = Listing::new("3ABC", 1_800_000_000_000, 7);
        assert_eq!(l.created_sk, "1800000000000#0000000007#3ABC");
        assert_eq!(hit_of(&l.created_sk), Some("3ABC"));
        assert_eq!(hit_of("1800000000000#"), None);
        assert!(
            matches!(l.attributes("Reviewable").get(STATUS_PK), Some(AttributeValue::S(v)) if v == "STATUS#Reviewable")
        );
    }
}
