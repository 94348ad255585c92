//! A person's worker id: `A` and 13 capitals or digits, as MTurk's were,
//! derived from the user pool's `sub` (stable for the person's life in the
//! pool; the email may change and must not leak to requesters). Base32 of
//! a SHA-256: 65 bits, so two people of a pool share an id with odds of
//! about n²/2⁶⁶ (one in ten billion for a million people).

use sha2::{Digest, Sha256};

pub fn worker_id_of(sub: &str) -> String {
    let digest = Sha256::digest(format!("hitloop-worker:{sub}").as_bytes());
    let encoded = data_encoding::BASE32_NOPAD.encode(&digest);
    format!("A{}", &encoded[..13])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_mturk_shaped_stable_and_distinct() {
        let a = worker_id_of("2f7c5d1e-0000-4000-8000-000000000001");
        assert_eq!(a.len(), 14);
        assert!(a.starts_with('A') && a.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{a}");
        assert_eq!(a, worker_id_of("2f7c5d1e-0000-4000-8000-000000000001"));
        assert_ne!(a, worker_id_of("2f7c5d1e-0000-4000-8000-000000000002"));
    }

    #[test]
    fn the_id_says_nothing_of_the_sub() {
        let sub = "ana@example.org";
        assert!(!worker_id_of(sub).to_lowercase().contains("ana"));
    }
}
