//! The replay: deterministic, each policy buying what it says, gold paid
//! for and not scored, and confidence stopping beating the seed's rule on a
//! crowd where some workers are careful and some are not.

use super::formats::Recorded;
use super::replay::*;
use super::tests::{crowd, noisy};

fn dataset(votes: &super::Votes, truth: &[usize]) -> Dataset {
    let recorded = Recorded {
        answers: votes
            .answers
            .iter()
            .map(|a| (votes.items[a.item].clone(), votes.workers[a.worker].clone(), votes.classes[a.class].clone()))
            .collect(),
        truth: truth.iter().enumerate().map(|(i, t)| (votes.items[i].clone(), votes.classes[*t].clone())).collect(),
    };
    Dataset::new(&recorded)
}

fn settings(runs: u32) -> Settings {
    Settings { runs, seed: 3, refit_every: 20 }
}

const SEED: Policy = Policy::Agreement { initial: 2, agreement: 2, most: 9 };

#[test]
fn a_crowd_that_always_agrees_costs_the_least_answers() {
    let (votes, truth) = crowd(50, 3, 6, |_, t, _| t);
    let data = dataset(&votes, &truth);
    let seed = replay(&data, &SEED, &settings(2));
    assert_eq!((seed.labels_per_item, seed.accuracy, seed.unresolved), (2.0, 1.0, 0.0));
    let fixed = replay(&data, &Policy::FixedK { k: 5 }, &settings(2));
    assert_eq!((fixed.labels_per_item, fixed.accuracy), (5.0, 1.0));
    let sure = Policy::Confidence { target: 0.8, least: 2, most: 6, gold_share: 0.0, block_guessers: 0.0 };
    assert_eq!(replay(&data, &sure, &settings(2)).labels_per_item, 2.0, "two agreeing answers pass 0.8");
}

#[test]
fn the_same_seed_replays_the_same_job() {
    let (votes, truth) = crowd(80, 2, 7, |w, t, rng| noisy(rng, t, 2, 0.6 + 0.05 * w as f64));
    let data = dataset(&votes, &truth);
    let p = Policy::Confidence { target: 0.9, least: 2, most: 7, gold_share: 0.1, block_guessers: 0.0 };
    assert_eq!(replay(&data, &p, &settings(3)), replay(&data, &p, &settings(3)));
    let other = Settings { seed: 4, ..settings(3) };
    assert_ne!(replay(&data, &p, &settings(3)), replay(&data, &p, &other), "another order, another job");
}

#[test]
fn gold_is_paid_for_and_not_scored() {
    let (votes, truth) = crowd(100, 2, 6, |_, t, _| t);
    let data = dataset(&votes, &truth);
    let p = Policy::Confidence { target: 0.8, least: 2, most: 6, gold_share: 0.2, block_guessers: 0.0 };
    let o = replay(&data, &p, &settings(1));
    // 80 output items and 20 gold items, 2 answers each (gold gets the
    // job's first assignments): 200 answers for 80 items.
    assert!((o.labels_per_item - 200.0 / 80.0).abs() < 1e-9, "{o:?}");
    assert_eq!(o.accuracy, 1.0);
}

#[test]
fn confidence_stopping_beats_the_seed_rule_where_workers_differ() {
    // Three careful workers (95 %), five careless ones (60 %).
    let (votes, truth) = crowd(300, 2, 8, |w, t, rng| noisy(rng, t, 2, if w < 3 { 0.95 } else { 0.6 }));
    let data = dataset(&votes, &truth);
    let seed = replay(&data, &SEED, &settings(3));
    let p = Policy::Confidence { target: 0.9, least: 2, most: 6, gold_share: 0.02, block_guessers: 0.0 };
    let confident = replay(&data, &p, &settings(3));
    assert!(confident.accuracy > seed.accuracy + 0.05, "{confident:?} vs {seed:?}");
}

#[test]
fn the_final_check_buys_on_where_the_grown_model_doubts_an_early_label() {
    // Two workers who always say c0, six careful ones: early on, before the
    // model knows who is who, two of the first kind agreeing pass 0.8.
    let (votes, truth) = crowd(300, 2, 8, |w, t, rng| if w < 2 { 0 } else { noisy(rng, t, 2, 0.95) });
    let data = dataset(&votes, &truth);
    let p = Policy::Confidence { target: 0.8, least: 2, most: 6, gold_share: 0.0, block_guessers: 0.0 };
    let o = replay(&data, &p, &settings(2));
    assert!(o.reopened > 0.0, "{o:?}");
    assert!(o.accuracy > 0.97, "{o:?}");
    // Where everyone is always right nothing is doubted.
    let (votes, truth) = crowd(50, 2, 6, |_, t, _| t);
    let o = replay(&dataset(&votes, &truth), &p, &settings(2));
    assert_eq!(o.reopened, 0.0);
    // The agreement rule has no model and no check.
    assert_eq!(replay(&data, &SEED, &settings(2)).reopened, 0.0);
}

#[test]
fn an_item_whose_answers_run_out_is_at_its_cap() {
    // Two answers per item that always disagree: the seed rule wants more, there are none.
    let (votes, truth) = crowd(20, 2, 2, |w, t, _| if w == 0 { t } else { 1 - t });
    let data = dataset(&votes, &truth);
    let o = replay(&data, &SEED, &settings(1));
    assert_eq!((o.labels_per_item, o.unresolved), (2.0, 1.0));
}

#[test]
fn majority_of_all_counts_a_tie_as_a_coin_toss() {
    let recorded = Recorded {
        answers: vec![
            ("i1".into(), "a".into(), "x".into()),
            ("i1".into(), "b".into(), "y".into()),
            ("i2".into(), "a".into(), "x".into()),
        ],
        truth: [("i1".to_string(), "x".to_string()), ("i2".to_string(), "x".to_string())].into_iter().collect(),
    };
    let (accuracy, per_item) = majority_of_all(&Dataset::new(&recorded));
    assert_eq!((accuracy, per_item), (0.75, 1.5));
}

#[test]
fn blocking_guessers_buys_better_labels() {
    // Four careful workers (90 %) and four who guess, on every item: each
    // guess fills a slot a careful worker could have taken.
    let (votes, truth) = crowd(400, 2, 8, |w, t, rng| noisy(rng, t, 2, if w < 4 { 0.9 } else { 0.5 }));
    let data = dataset(&votes, &truth);
    let open = Policy::Confidence { target: 0.8, least: 2, most: 6, gold_share: 0.0, block_guessers: 0.0 };
    let guarded = Policy::Confidence { target: 0.8, least: 2, most: 6, gold_share: 0.0, block_guessers: 0.5 };
    let (o, g) = (replay(&data, &open, &settings(2)), replay(&data, &guarded, &settings(2)));
    assert!(g.accuracy > o.accuracy + 0.02, "{g:?} vs {o:?}");
    assert!(g.unresolved < o.unresolved, "{g:?} vs {o:?}");
    // A crowd of careful workers loses nobody: the same job either way.
    let (votes, truth) = crowd(200, 2, 6, |_, t, rng| noisy(rng, t, 2, 0.9));
    let data = dataset(&votes, &truth);
    assert_eq!(replay(&data, &open, &settings(2)), replay(&data, &guarded, &settings(2)));
}
