//! Simulated time. The service runs on a clock that moves `speed` simulated
//! seconds per real second and that tests can push forward at will, so that
//! expiry, deadlines and auto-approval are testable without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct SimClock {
    start_sim_ms: i64,
    start_real: Instant,
    speed: f64,
    offset_ms: AtomicI64,
}

impl SimClock {
    /// A clock that starts at the wall-clock time and runs at `speed`
    /// (0 = frozen: only `advance` moves it).
    pub fn new(speed: f64) -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        Self::starting_at(now, speed)
    }

    pub fn starting_at(start_sim_ms: i64, speed: f64) -> Self {
        SimClock { start_sim_ms, start_real: Instant::now(), speed: speed.max(0.0), offset_ms: AtomicI64::new(0) }
    }

    /// Simulated now, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        let real = self.start_real.elapsed().as_secs_f64() * 1000.0 * self.speed;
        self.start_sim_ms + real as i64 + self.offset_ms.load(Ordering::SeqCst)
    }

    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms.max(0), Ordering::SeqCst);
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let c = SimClock::starting_at(1_000, 0.0);
        assert_eq!(c.now_ms(), 1_000);
        c.advance_ms(5_000);
        assert_eq!(c.now_ms(), 6_000);
        c.advance_ms(-10); // never backwards
        assert_eq!(c.now_ms(), 6_000);
    }

    #[test]
    fn a_fast_clock_runs_ahead_of_real_time() {
        let c = SimClock::starting_at(0, 1000.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(c.now_ms() >= 20_000, "{}", c.now_ms());
    }
}
