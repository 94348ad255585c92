//! Identifiers shaped like MTurk's: 30 characters of `[0-9A-Z]` for HITs,
//! HIT types, assignments and qualification types; `A` plus 13 for workers.

use rand::Rng;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

pub fn entity_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    random_chars(rng, 30)
}

pub fn worker_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("A{}", random_chars(rng, 13))
}

/// 40 lowercase hex characters, like the SHA-1 `EventDocId`s MTurk sends.
pub fn event_doc_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    (0..40).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

fn random_chars<R: Rng + ?Sized>(rng: &mut R, n: usize) -> String {
    (0..n).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// `^[A-Z0-9]+$`, 1..64: the EntityId pattern of the API model.
pub fn is_entity_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `^A[A-Z0-9]+$`, 2..64: the CustomerId (worker) pattern.
pub fn is_worker_id(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('A') && is_entity_id(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ids_have_the_real_shapes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let id = entity_id(&mut rng);
        assert_eq!(id.len(), 30);
        assert!(is_entity_id(&id));
        let w = worker_id(&mut rng);
        assert_eq!(w.len(), 14);
        assert!(is_worker_id(&w));
        assert_eq!(event_doc_id(&mut rng).len(), 40);
        assert!(!is_entity_id("abc"));
        assert!(!is_worker_id("B123"));
    }
}
