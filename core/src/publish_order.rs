//! The order a job's items are posted in (`job.json`'s `publish_order`).
//!
//! Workers take HITs from the top of the list, and the list is in the order
//! the HITs were created, so a manifest sorted by class (iris: 50 setosas,
//! then 50 versicolors, then 50 virginicas) is answered one class after
//! another. That biases people (a run of one label primes the next answer)
//! and blinds the worker model: during the setosa run a worker who always
//! says "setosa" looks perfect, and by the time the last class arrives the
//! model has learnt its errors from the wrong items. So items are posted
//! shuffled unless the job asks for the manifest's order.
//!
//! Ingest streams the manifest and never holds it whole, so the shuffle is a
//! bounded buffer: each row enters a buffer of [`SHUFFLE_BUFFER`] and a
//! random one leaves; at the end the rest leave in random order. A manifest
//! up to the buffer's size comes out uniformly shuffled; a longer one is
//! mixed over spans of that size. Seeded by the job id: a resumed ingest
//! queues the same order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Rows held at most while shuffling (an item is well under a kilobyte, so
/// this stays within a few megabytes of ingest's memory).
pub const SHUFFLE_BUFFER: usize = 10_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublishOrder {
    /// Shuffled (the default): workers see the classes mixed.
    #[default]
    Shuffled,
    /// The manifest's order, for a job whose first rows should be labeled first.
    Manifest,
}

/// Puts items in the order a job posts them, a row at a time.
pub struct Shuffler<T> {
    order: PublishOrder,
    buffer: Vec<T>,
    capacity: usize,
    rng: ChaCha8Rng,
}

impl<T> Shuffler<T> {
    /// For `job_id`'s items, holding at most `capacity` of them.
    pub fn new(order: PublishOrder, job_id: &str, capacity: usize) -> Shuffler<T> {
        let seed: [u8; 32] = Sha256::digest(format!("publish-order\n{job_id}").as_bytes()).into();
        Shuffler { order, buffer: Vec::new(), capacity: capacity.max(1), rng: ChaCha8Rng::from_seed(seed) }
    }

    /// Takes the next row; gives back the one to post now, if any.
    pub fn push(&mut self, item: T) -> Option<T> {
        if self.order == PublishOrder::Manifest {
            return Some(item);
        }
        if self.buffer.len() < self.capacity {
            self.buffer.push(item);
            return None;
        }
        let at = self.rng.random_range(0..self.buffer.len());
        Some(std::mem::replace(&mut self.buffer[at], item))
    }

    /// The rows still held, in random order (after the last `push`).
    pub fn drain(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.buffer.len());
        while !self.buffer.is_empty() {
            let at = self.rng.random_range(0..self.buffer.len());
            out.push(self.buffer.swap_remove(at));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(order: PublishOrder, job: &str, rows: impl IntoIterator<Item = u32>, capacity: usize) -> Vec<u32> {
        let mut s = Shuffler::new(order, job, capacity);
        let mut out: Vec<u32> = rows.into_iter().filter_map(|r| s.push(r)).collect();
        out.extend(s.drain());
        out
    }

    #[test]
    fn every_row_is_posted_once() {
        for capacity in [1, 7, 150, 1000] {
            let mut out = posted(PublishOrder::Shuffled, "iris", 0..150, capacity);
            out.sort();
            assert_eq!(out, (0..150).collect::<Vec<_>>(), "capacity {capacity}");
        }
    }

    #[test]
    fn a_manifest_sorted_by_class_is_posted_mixed() {
        // iris: 50 of each class, in class order.
        let out = posted(PublishOrder::Shuffled, "iris", 0..150, SHUFFLE_BUFFER);
        assert_ne!(out, (0..150).collect::<Vec<_>>());
        let first_30 = |class: u32| out[..30].iter().filter(|r| **r / 50 == class).count();
        for class in 0..3 {
            assert!((4..=18).contains(&first_30(class)), "class {class}: {} of the first 30", first_30(class));
        }
    }

    #[test]
    fn the_same_job_gets_the_same_order_and_another_job_another() {
        let a = posted(PublishOrder::Shuffled, "iris", 0..150, SHUFFLE_BUFFER);
        assert_eq!(a, posted(PublishOrder::Shuffled, "iris", 0..150, SHUFFLE_BUFFER), "a resumed ingest");
        assert_ne!(a, posted(PublishOrder::Shuffled, "iris-2", 0..150, SHUFFLE_BUFFER));
    }

    #[test]
    fn a_manifest_longer_than_the_buffer_is_mixed_and_never_held_whole() {
        let mut s = Shuffler::new(PublishOrder::Shuffled, "big", 100);
        let mut out = Vec::new();
        for r in 0..1000u32 {
            out.extend(s.push(r));
            assert!(s.buffer.len() <= 100);
        }
        out.extend(s.drain());
        assert_eq!(out.len(), 1000);
        assert_ne!(out[..100], (0..100).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn manifest_order_is_kept_when_asked_for() {
        assert_eq!(posted(PublishOrder::Manifest, "iris", 0..150, SHUFFLE_BUFFER), (0..150).collect::<Vec<_>>());
        let order: PublishOrder = serde_json::from_str(r#""manifest""#).unwrap();
        assert_eq!(order, PublishOrder::Manifest);
        assert!(serde_json::from_str::<PublishOrder>(r#""sorted""#).is_err());
    }
}
