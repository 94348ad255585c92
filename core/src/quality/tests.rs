use super::*;

/// A small deterministic generator for made-up crowds.
pub(super) struct Lcg(pub(super) u64);

impl Lcg {
    pub(super) fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `items` items with labels alternating over `k`; each worker answers
/// every item with `answer(worker, truth, rng)`.
pub(super) fn crowd(
    items: usize,
    k: usize,
    workers: usize,
    answer: impl Fn(usize, usize, &mut Lcg) -> usize,
) -> (Votes, Vec<usize>) {
    let mut rng = Lcg(7);
    let truth: Vec<usize> = (0..items).map(|i| (i * 7 + i / 3) % k).collect();
    let classes: Vec<String> = (0..k).map(|c| format!("c{c}")).collect();
    let mut triples = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for w in 0..workers {
            triples.push((format!("i{i}"), format!("w{w}"), classes[answer(w, *t, &mut rng)].clone()));
        }
    }
    let votes =
        Votes::from_answers(triples.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())), Some(&classes));
    (votes, truth)
}

fn accuracy(fit: &Fitted, truth: &[usize]) -> f64 {
    truth.iter().enumerate().filter(|(i, t)| fit.label(*i).0 == **t).count() as f64 / truth.len() as f64
}

pub(super) fn noisy(rng: &mut Lcg, truth: usize, k: usize, p_right: f64) -> usize {
    if rng.next() < p_right {
        truth
    } else {
        (truth + 1 + (rng.next() * (k - 1) as f64) as usize) % k
    }
}

#[test]
fn workers_who_are_always_right_give_certain_labels() {
    let (votes, truth) = crowd(20, 2, 3, |_, t, _| t);
    for model in [&DawidSkene::default() as &dyn WorkerModel, &OneCoin::default(), &MajorityVote] {
        let fit = model.fit(&votes, &Gold::new());
        assert_eq!(accuracy(&fit, &truth), 1.0, "{}", model.name());
        assert!(fit.posteriors.iter().enumerate().all(|(i, p)| p[truth[i]] > 0.95), "{}", model.name());
    }
}

#[test]
fn spammers_are_found_and_outweighed() {
    // Two careful workers (90 %) and three who answer at random.
    let (votes, truth) =
        crowd(200, 2, 5, |w, t, rng| if w < 2 { noisy(rng, t, 2, 0.9) } else { noisy(rng, t, 2, 0.5) });
    let ds = DawidSkene::default().fit(&votes, &Gold::new());
    let mv = MajorityVote.fit(&votes, &Gold::new());
    for w in 0..2 {
        assert!((ds.skills[w].accuracy(&ds.priors) - 0.9).abs() < 0.06, "careful {w}: {:?}", ds.skills[w]);
    }
    for w in 2..5 {
        assert!((ds.skills[w].accuracy(&ds.priors) - 0.5).abs() < 0.15, "spammer {w}: {:?}", ds.skills[w]);
    }
    // Knowing the true skills would get about .90 (the careful two agree 82 %
    // of the time; otherwise the spammers say nothing).
    assert!(
        accuracy(&ds, &truth) > 0.86 && accuracy(&ds, &truth) > accuracy(&mv, &truth) + 0.03,
        "{} vs {}",
        accuracy(&ds, &truth),
        accuracy(&mv, &truth)
    );
    let coin = OneCoin::default().fit(&votes, &Gold::new());
    assert!(accuracy(&coin, &truth) > accuracy(&mv, &truth) + 0.05);
}

#[test]
fn a_worker_who_always_picks_one_label_tells_nothing() {
    // Three good workers (85 %); two more always say c0. Majority vote
    // needs all three good ones to see a c1; Dawid-Skene learns that the
    // two say c0 whatever the truth, and listens to the others.
    let (votes, truth) = crowd(300, 2, 5, |w, t, rng| if w >= 3 { 0 } else { noisy(rng, t, 2, 0.85) });
    let ds = DawidSkene::default().fit(&votes, &Gold::new());
    let Skill::Confusion(m) = &ds.skills[4] else { panic!("a confusion matrix") };
    assert!(m[1][0] > 0.9, "given c0 whatever the truth: {m:?}");
    let mv = MajorityVote.fit(&votes, &Gold::new());
    let (ds_acc, mv_acc) = (accuracy(&ds, &truth), accuracy(&mv, &truth));
    assert!(ds_acc > 0.9 && ds_acc > mv_acc + 0.08, "{ds_acc} vs {mv_acc}");
}

#[test]
fn gold_items_keep_their_label_and_teach_the_model() {
    let (votes, truth) = crowd(40, 3, 3, |w, t, rng| if w == 0 { (t + 1) % 3 } else { noisy(rng, t, 3, 0.7) });
    // Gold says the opposite of what the crowd says on item 0, and names
    // the truth on the first 20.
    let mut gold: Gold = (0..20).map(|i| (i, truth[i])).collect();
    gold.insert(0, (truth[0] + 2) % 3);
    let ds = DawidSkene::default().fit(&votes, &gold);
    assert_eq!(ds.label(0), ((truth[0] + 2) % 3, 1.0), "pinned");
    assert!(ds.skills[0].accuracy(&ds.priors) < 0.2, "worker 0 is always off by one: {:?}", ds.skills[0]);
    let rest = (20..40).filter(|i| ds.label(*i).0 == truth[*i]).count();
    assert!(rest >= 18, "{rest} of 20 right beyond the gold");
}

#[test]
fn a_fit_is_deterministic() {
    let (votes, _) = crowd(50, 4, 4, |w, t, rng| noisy(rng, t, 4, 0.5 + 0.1 * w as f64));
    let a = DawidSkene::default().fit(&votes, &Gold::new());
    let b = DawidSkene::default().fit(&votes, &Gold::new());
    assert_eq!(a, b);
    assert!(a.iterations < 500, "converged in {}", a.iterations);
}

#[test]
fn one_items_posterior_follows_from_its_workers() {
    let good = Skill::Coin(0.8);
    let p = posterior(&[0.5, 0.5], &[(&good, 0)]);
    assert!((p[0] - 0.8).abs() < 1e-12 && (p[1] - 0.2).abs() < 1e-12, "{p:?}");
    // Two such workers agreeing: .8² / (.8² + .2²).
    let p = posterior(&[0.5, 0.5], &[(&good, 0), (&good, 0)]);
    assert!((p[0] - 0.64 / 0.68).abs() < 1e-12);
    // A confusion matrix: a worker who says 1 for everything says nothing.
    let stuck = Skill::Confusion(vec![vec![0.0, 1.0], vec![0.0, 1.0]]);
    let p = posterior(&[0.3, 0.7], &[(&stuck, 1)]);
    assert!((p[0] - 0.3).abs() < 1e-9, "{p:?}");
    assert_eq!(best(&[0.2, 0.4, 0.4]), (1, 0.4), "the first on a tie");
}

#[test]
fn votes_number_each_name_once_and_keep_a_workers_first_answer() {
    let v = Votes::from_answers([("a", "w1", "x"), ("a", "w1", "y"), ("b", "w2", "y"), ("b", "w1", "z")], None);
    assert_eq!(v.items, ["a", "b"]);
    assert_eq!(v.classes, ["x", "y", "z"]);
    assert_eq!(v.answers.len(), 3, "w1's second answer to a is left out");
    let fixed =
        Votes::from_answers([("a", "w1", "x"), ("a", "w2", "other")], Some(&["y".to_string(), "x".to_string()]));
    assert_eq!(fixed.answers, [Vote { item: 0, worker: 0, class: 1 }], "labels in the given order; others left out");
    assert_eq!((fixed.class("x"), fixed.item("a")), (Some(1), Some(0)));
}
