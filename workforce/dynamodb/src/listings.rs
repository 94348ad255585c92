//! Where a HIT is listed, with no scan and no global counter: by creation,
//! one index partition a month (`HITS#<yyyy-mm>`, from the account's first
//! month to now), and by status (`STATUS#<status>`); both sorted by
//! `<created ms>#<tiebreak>#<hit id>`. Pagination tokens name where a page
//! stopped (the store's `hits`).

use chrono::{Datelike, TimeZone, Utc};

use crate::store::{s, Item};
use crate::table::{CREATED_SK, MONTH_PK, STATUS_PK};

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
            (STATUS_PK.to_string(), s(format!("STATUS#{status}"))),
            (MONTH_PK.to_string(), s(format!("HITS#{}", self.month))),
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
