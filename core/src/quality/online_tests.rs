//! The online model: counts that add up, items counted once, and estimates
//! that find the careful workers from batches of new answers.

use std::collections::BTreeMap;

use super::tests::{crowd, noisy};
use super::*;

/// Every item of `votes` as the refit sees it, answers in order.
fn items_of(votes: &Votes) -> Vec<ItemCounts> {
    let mut items = vec![ItemCounts::default(); votes.items.len()];
    for a in &votes.answers {
        items[a.item].answers.push((votes.workers[a.worker].clone(), a.class));
    }
    items
}

fn total(m: &[Vec<f64>]) -> f64 {
    m.iter().flatten().sum()
}

#[test]
fn the_counts_add_up_and_a_refit_of_the_same_items_counts_them_once() {
    let (votes, _) = crowd(30, 2, 3, |w, t, rng| noisy(rng, t, 2, if w == 0 { 0.95 } else { 0.7 }));
    let model = OnlineDawidSkene::new(2);
    let (mut job, mut workers) = (JobCounts::default(), BTreeMap::new());
    let mut items = items_of(&votes);
    model.refit(&mut job, &mut workers, &mut items);
    let answers: u32 = workers.values().map(|w: &WorkerCounts| w.answers).sum();
    assert_eq!(answers, 90);
    let before = (total(&job.pooled), workers["w0"].answers);
    assert!((before.0 - 90.0).abs() < 1e-9, "each answer adds its item's posterior, which sums to one");
    let summed: f64 = workers.values().map(|w| total(&w.counts)).sum();
    assert!((summed - before.0).abs() < 1e-9, "pooled is the workers' sum");
    // Refitting the same items again replaces their contributions.
    model.refit(&mut job, &mut workers, &mut items);
    assert!((total(&job.pooled) - 90.0).abs() < 1e-9);
    assert_eq!(workers["w0"].answers, 30);
    assert!((job.label_mass.iter().sum::<f64>() - 30.0).abs() < 1e-9);
}

#[test]
fn an_item_with_one_answer_counts_only_once_it_has_two_or_is_gold() {
    let model = OnlineDawidSkene::new(2);
    let (mut job, mut workers) = (JobCounts::default(), BTreeMap::new());
    let mut items = vec![
        ItemCounts { answers: vec![("a".into(), 0)], ..ItemCounts::default() },
        ItemCounts { answers: vec![("b".into(), 1)], gold: Some(0), ..ItemCounts::default() },
    ];
    model.refit(&mut job, &mut workers, &mut items);
    assert!(!workers.contains_key("a"), "a lone answer says nothing about who gave it");
    assert_eq!(items[0].counted, None);
    let b = &workers["b"];
    assert_eq!((b.answers, b.counts[0][1]), (1, 1.0), "gold counts: b said 1 where the truth is 0");
    // A second answer that came in earlier than the first (sorted by submit time).
    items[0].answers.insert(0, ("c".into(), 0));
    model.refit(&mut job, &mut workers, &mut items[..1]);
    assert_eq!((workers["a"].answers, workers["c"].answers), (1, 1));
    assert_eq!(items[0].counted.as_ref().map(|c| c.answers.len()), Some(2));
    // Refitted again: what it added is taken out first, whatever the order now.
    items[0].answers.reverse();
    model.refit(&mut job, &mut workers, &mut items[..1]);
    assert_eq!((workers["a"].answers, workers["c"].answers), (1, 1));
    assert!((total(&job.pooled) - 3.0).abs() < 1e-9, "b's gold answer and a and c once each");
}

#[test]
fn refits_over_batches_of_new_answers_find_the_careful_and_the_careless() {
    // Two careful workers (95 %), two at chance; answers arrive 50 items at a time.
    let (votes, _) = crowd(400, 2, 4, |w, t, rng| noisy(rng, t, 2, if w < 2 { 0.95 } else { 0.5 }));
    let model = OnlineDawidSkene::new(2);
    let (mut job, mut workers) = (JobCounts::default(), BTreeMap::new());
    let mut items = items_of(&votes);
    for batch in items.chunks_mut(50) {
        model.refit(&mut job, &mut workers, batch);
    }
    let accuracy = |w: &str| model.estimate(w, workers.get(w), &job, 0).accuracy;
    for careful in ["w0", "w1"] {
        assert!(accuracy(careful) > 0.85, "{careful}: {}", accuracy(careful));
    }
    for careless in ["w2", "w3"] {
        assert!(accuracy(careless) < 0.7, "{careless}: {}", accuracy(careless));
    }
    let crowd = model.crowd_estimate(&job, 0);
    assert_eq!(crowd.worker_id, CROWD);
    assert!(crowd.accuracy > 0.6 && crowd.accuracy < 0.85, "{}", crowd.accuracy);
    let unseen = model.estimate("nobody", None, &job, 0);
    assert!((unseen.accuracy - crowd.accuracy).abs() < 0.02, "a worker not seen yet is the crowd");
}

#[test]
fn records_written_for_other_labels_are_skipped_not_indexed() {
    let model = OnlineDawidSkene::new(2);
    let mut job = JobCounts { pooled: vec![vec![1.0, 2.0, 3.0]], label_mass: vec![1.0] };
    let mut workers = BTreeMap::from([("a".to_string(), WorkerCounts { counts: vec![vec![1.0]], answers: 1 })]);
    let old = Counted { posterior: vec![0.5, 0.5], answers: vec![("a".into(), 7)] };
    let mut items = vec![ItemCounts {
        answers: vec![("a".into(), 0), ("b".into(), 9), ("c".into(), 1)],
        gold: None,
        counted: Some(old),
    }];
    model.refit(&mut job, &mut workers, &mut items);
    assert_eq!(job.pooled.len(), 2, "pooled counts of the wrong shape start again");
    assert_eq!(workers["a"].counts.len(), 2);
    assert!(!workers.contains_key("b") || workers["b"].answers == 0, "label 9 does not exist");
}
