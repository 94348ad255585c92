//! The names hitloop derives: job ids, the UniqueRequestTokens that make
//! buying idempotent, and the RequesterAnnotation that ties a HIT to its
//! item (a notification names only the HIT; the HIT names its item).

use sha2::{Digest, Sha256};

use crate::manifest::check_id;

/// MTurk's limit on a HIT's RequesterAnnotation.
const MAX_ANNOTATION: usize = 255;

/// A valid job id: it names an S3 prefix, a DynamoDB key and a training job.
pub fn check_job_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 48 {
        return Err(format!("job id {id:?} must have 1 to 48 characters"));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || id.starts_with('-') {
        return Err(format!("job id {id:?} may use only letters, digits and '-' (not first)"));
    }
    Ok(())
}

/// The UniqueRequestToken for buying round `round` of an item: derived, so a
/// retry sends the same token and MTurk refuses to buy twice (at most 64
/// characters, whatever the ids).
pub fn request_token(job_id: &str, item_id: &str, round: u32) -> String {
    let mut h = Sha256::new();
    h.update(job_id.as_bytes());
    h.update([0]);
    h.update(item_id.as_bytes());
    h.update([0]);
    h.update(round.to_be_bytes());
    let digest = h.finalize();
    let hex: String = digest.iter().take(24).map(|b| format!("{b:02x}")).collect();
    format!("hl1-{hex}")
}

/// Where a HIT belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitOwner {
    pub job_id: String,
    pub item_id: String,
}

/// The HIT's RequesterAnnotation: `hitloop:<job>/<item>`, for people reading
/// MTurk and for collect, which finds the item from it. Ids at their longest
/// would not fit in 255 bytes with that prefix: they get the short `hl:`.
pub fn annotation(job_id: &str, item_id: &str) -> String {
    let long = format!("hitloop:{job_id}/{item_id}");
    if long.len() <= MAX_ANNOTATION {
        long
    } else {
        format!("hl:{job_id}/{item_id}")
    }
}

/// The item an annotation names, if it is one of hitloop's. Another
/// requester's HIT may carry any text: the item's own HIT id decides.
pub fn owner_of(annotation: &str) -> Option<HitOwner> {
    let rest = annotation.strip_prefix("hitloop:").or_else(|| annotation.strip_prefix("hl:"))?;
    let (job_id, item_id) = rest.split_once('/')?;
    check_job_id(job_id).ok()?;
    check_id(item_id).ok()?;
    Some(HitOwner { job_id: job_id.into(), item_id: item_id.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_distinct_and_short() {
        let a = request_token("job", "item-1", 1);
        assert_eq!(a, request_token("job", "item-1", 1));
        assert_ne!(a, request_token("job", "item-1", 2));
        assert_ne!(a, request_token("job", "item-11", 1));
        assert_ne!(request_token("a", "bc", 1), request_token("ab", "c", 1));
        assert!(request_token(&"j".repeat(300), &"i".repeat(300), 9).len() <= 64);
    }

    #[test]
    fn job_ids() {
        assert!(check_job_id("iris-2026").is_ok());
        for bad in ["", "-x", "a/b", "a b", "é", &"x".repeat(49)] {
            assert!(check_job_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn annotations_name_their_item_whatever_its_length() {
        let a = annotation("iris", "iris-007");
        assert_eq!(a, "hitloop:iris/iris-007");
        assert_eq!(owner_of(&a), Some(HitOwner { job_id: "iris".into(), item_id: "iris-007".into() }));
        let (job, item) = ("j".repeat(48), "i/é ".repeat(40));
        let long = annotation(&job, &item);
        assert!(long.starts_with("hl:") && long.len() <= 255, "{}", long.len());
        assert_eq!(owner_of(&long), Some(HitOwner { job_id: job, item_id: item }));
    }

    #[test]
    fn other_annotations_name_nothing() {
        for other in ["", "hitloop:", "hitloop:iris", "batch 7", "hitloop:bad id/x", "hitloop:iris/"] {
            assert_eq!(owner_of(other), None, "{other}");
        }
    }
}
