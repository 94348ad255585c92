//! Blocking by the worker model: a worker whose answers, once the job's
//! model has counted enough of them, it finds closer to guessing than to
//! the crowd (`consensus.block_guessers` of the way from chance to the
//! crowd's accuracy). What gold does for a job with known labels, the model
//! does for every confidence job: a worker who answers many items near
//! chance is what makes everyone else's labels dear, since each of their
//! answers asks for another to outweigh it.

use crate::job::GUESSER_MIN_ANSWERS;
use crate::records::WorkerEstimate;

/// How far above guessing the crowd must be for the model to judge anyone
/// by it: a crowd near chance gives no bar to fall below.
const CROWD_MARGIN: f64 = 0.05;

/// Why the model blocks `worker`, if it does: at least
/// [`GUESSER_MIN_ANSWERS`] answers counted, and an estimated accuracy below
/// `share` of the way from guessing (one label in `labels`) to `crowd`'s.
pub fn guesser_verdict(share: f64, worker: &WorkerEstimate, crowd: &WorkerEstimate, labels: usize) -> Option<String> {
    let chance = 1.0 / labels.max(2) as f64;
    if worker.answers < GUESSER_MIN_ANSWERS || crowd.accuracy < chance + CROWD_MARGIN {
        return None;
    }
    let bar = chance + share * (crowd.accuracy - chance);
    (worker.accuracy < bar).then(|| {
        format!(
            "the job's model puts their accuracy at {:.0} % over {} answers, closer to guessing ({:.0} %) than the bar of {:.0} % (the crowd: {:.0} %)",
            100.0 * worker.accuracy,
            worker.answers,
            100.0 * chance,
            100.0 * bar,
            100.0 * crowd.accuracy
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(answers: u32, accuracy: f64) -> WorkerEstimate {
        WorkerEstimate { worker_id: "W".into(), answers, accuracy, confusion: vec![], counts: vec![], updated_at: 0 }
    }

    #[test]
    fn a_worker_closer_to_guessing_than_to_the_crowd_is_blocked_once_counted_enough() {
        let crowd = estimate(5000, 0.8);
        // Two labels: guessing is 50 %, the bar half-way to 80 %: 65 %.
        let why = guesser_verdict(0.5, &estimate(8, 0.6), &crowd, 2).expect("60 % over 8 answers");
        assert!(why.contains("60 %") && why.contains("65 %"), "{why}");
        assert_eq!(guesser_verdict(0.5, &estimate(7, 0.5), &crowd, 2), None, "too few answers to judge");
        assert_eq!(guesser_verdict(0.5, &estimate(200, 0.7), &crowd, 2), None, "poorer than most, above the bar");
        // Five labels: guessing is 20 %: 45 % is well above a bar of 40 %.
        assert_eq!(guesser_verdict(0.5, &estimate(50, 0.45), &estimate(5000, 0.6), 5), None);
        assert!(guesser_verdict(0.5, &estimate(50, 0.35), &estimate(5000, 0.6), 5).is_some());
    }

    #[test]
    fn one_who_always_gives_the_same_label_is_a_guesser() {
        // Three labels, one said every time: right a third of the time.
        assert!(guesser_verdict(0.5, &estimate(30, 1.0 / 3.0), &estimate(900, 0.9), 3).is_some());
    }

    #[test]
    fn a_crowd_near_chance_gives_no_bar() {
        assert_eq!(guesser_verdict(0.5, &estimate(100, 0.3), &estimate(5000, 0.52), 2), None);
    }
}
